"""The loopback model over real HTTP: Messages API (JSON and SSE), count_tokens, the policy's
tool-use walk, the request log, `gt model-stub` errors, and forward mode against a second stub."""

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

from gastown_server.modelstub import policy, service

GT = [sys.executable, "-m", "gastown_server.cli.gt"]


@pytest.fixture
def stub(tmp_path):
    server = service.make_server(0, log_path=tmp_path / "stub.jsonl")
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()


def post(url, body, headers=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.headers.get("content-type"), resp.read()


BASH = {"name": "Bash", "input_schema": {"type": "object"}}


def test_startup_prompt_calls_gt_prime_and_usage_is_reported(stub):
    req = {"model": "m", "max_tokens": 100, "tools": [BASH],
           "messages": [{"role": "user", "content": "You are gt/polecats/p1 in Gas Town t. Run `gt prime` to see your role"}]}
    status, ctype, body = post(stub.url + "/v1/messages", req)
    msg = json.loads(body)
    assert status == 200 and ctype == "application/json"
    assert msg["stop_reason"] == "tool_use"
    call = [b for b in msg["content"] if b["type"] == "tool_use"][0]
    assert call["name"] == "Bash" and call["input"]["command"] == "gt prime"
    assert msg["usage"]["input_tokens"] > 10 and msg["usage"]["output_tokens"] > 0
    # Deterministic: the same history gives the same reply.
    assert json.loads(post(stub.url + "/v1/messages", req)[2]) == msg


def test_streaming_reply_is_valid_sse_and_reassembles(stub):
    req = {"model": "m", "max_tokens": 100, "stream": True, "tools": [BASH],
           "messages": [{"role": "user", "content": "what did you do with wx-123?"}]}
    status, ctype, body = post(stub.url + "/v1/messages", req)
    assert status == 200 and ctype == "text/event-stream"
    events = [json.loads(line[6:]) for line in body.decode().splitlines() if line.startswith("data: ")]
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert "wx-123" in text
    assert [e for e in events if e["type"] == "message_delta"][0]["delta"]["stop_reason"] == "end_turn"
    log = [json.loads(x) for x in open(stub.log_path)]
    assert log[-1]["user"] == "what did you do with wx-123?" and log[-1]["kind"] == "answer"


def test_policy_walks_a_molecule_step_by_step():
    prime_call = policy.ToolCall(id="a", command="gt prime", description="Read my role [gastown:prime]")
    conv = policy.Conversation(shell_tool="Bash", tools=["Bash"], turns=[
        policy.Turn(role="user", text="You are gt/polecats/p1 in Gas Town t."),
        policy.Turn(role="assistant", calls=[prime_call]),
        policy.Turn(role="user", results=[policy.ToolResult("a", "# You are gt/polecats/p1 (polecat) in Gas Town t\n"
                                                            "## Your hook (GUPP: there is work on your hook, so you run it now)\n- gt-1 [hooked] x")]),
    ])
    r = policy.decide(conv)
    assert r.calls[0].command == "gt hook --json"
    conv.turns += [policy.Turn(role="assistant", calls=r.calls),
                   policy.Turn(role="user", results=[policy.ToolResult(r.calls[0].id, json.dumps(
                       {"address": "gt/polecats/p1", "hook": [{"id": "gt-1", "metadata": json.dumps({"molecule": "gt-m"})}]}, indent=2))])]
    r = policy.decide(conv)
    assert r.calls[0].command == "bd mol current gt-m --json"
    steps = {"molecule": "gt-m", "complete": False, "steps": [{"id": "gt-m.1", "title": "Implement", "run": "gt apply gt-1"}]}
    conv.turns += [policy.Turn(role="assistant", calls=r.calls),
                   policy.Turn(role="user", results=[policy.ToolResult(r.calls[0].id, json.dumps(steps, indent=2))])]
    r = policy.decide(conv)
    assert r.calls[0].command.startswith("gt apply gt-1 && bd close gt-m.1 ") and r.calls[0].command.endswith("bd mol current gt-m --json")
    done = {"molecule": "gt-m", "complete": True, "steps": []}
    conv.turns += [policy.Turn(role="assistant", calls=r.calls),
                   policy.Turn(role="user", results=[policy.ToolResult(r.calls[0].id, "applied\n" + json.dumps(done, indent=2))])]
    r = policy.decide(conv)
    assert r.calls[0].command.startswith("bd close gt-m ") and r.kind == "finish"
    # A failed step (no JSON came back) ends the turn and says so.
    conv.turns[-1] = policy.Turn(role="user", results=[policy.ToolResult(conv.turns[-2].calls[0].id, "Exit code 1\nboom", True)])
    r = policy.decide(conv)
    assert not r.calls and "boom" in r.text


def test_a_patrol_pours_its_wisp_and_gets_the_first_step_in_one_call():
    conv = policy.Conversation(shell_tool="Bash", tools=["Bash"], turns=[
        policy.Turn(role="user", text="You are gt/refinery (refinery) in Gas Town t. Run `gt prime`"),
        policy.Turn(role="assistant", calls=[policy.ToolCall(id="a", command="gt prime", description="[gastown:prime]")]),
        policy.Turn(role="user", results=[policy.ToolResult("a", "# You are gt/refinery (refinery) in Gas Town t\n")]),
    ])  # fmt: skip
    r = policy.decide(conv)
    assert r.kind == "pour" and r.calls[0].command == "bd mol wisp mol-refinery-patrol --var rig=gt -a gt/refinery --json && bd mol current --json"
    wisp = json.dumps({"id": "gt-wisp-1", "title": "patrol"}, indent=2)
    first = json.dumps({"molecule": "gt-wisp-1", "complete": False,
                        "steps": [{"id": "gt-wisp-1.1", "title": "Inbox", "run": "gt patrol refinery inbox --rig gt"}]}, indent=2)
    conv.turns += [policy.Turn(role="assistant", calls=r.calls),
                   policy.Turn(role="user", results=[policy.ToolResult(r.calls[0].id, wisp + "\n" + first)])]
    r = policy.decide(conv)
    assert r.kind == "step" and r.calls[0].command.startswith("gt patrol refinery inbox --rig gt && bd close gt-wisp-1.1 ")
    # The actor had another molecule (bd mol current refused to guess, or named another one): ask by id.
    other = json.dumps({"molecule": "gt-wisp-0", "complete": False, "steps": []}, indent=2)
    for out in (wisp + "\nbd: error: gt/refinery has 2 molecules: name one", wisp + "\n" + other):
        conv.turns[-1] = policy.Turn(role="user", results=[policy.ToolResult(conv.turns[-2].calls[0].id, out)])
        r = policy.decide(conv)
        assert r.kind == "current" and r.calls[0].command == "bd mol current gt-wisp-1 --json"


def test_count_tokens_and_bad_requests(stub):
    status, _, body = post(stub.url + "/v1/messages/count_tokens", {"model": "m", "messages": [{"role": "user", "content": "x" * 400}]})
    assert status == 200 and json.loads(body)["input_tokens"] >= 100
    with pytest.raises(urllib.error.HTTPError) as err:
        post(stub.url + "/v1/messages", {"model": "m"})
    assert err.value.code == 400 and "messages" in json.loads(err.value.read())["error"]["message"]


def test_cli_port_in_use_is_one_clear_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run([*GT, "model-stub", "--port", str(port)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"gt: error: port {port} on 127.0.0.1 is in use: pick another with --port, or 0 for any free one"


def test_forward_mode_adds_the_key_upstream_only(stub, tmp_path):
    """A proxy in forward mode swaps the caller's placeholder for the real key; the upstream (a second
    stub) sees the real key; the proxy drops it from its environment."""
    seen = []
    orig = stub.RequestHandlerClass.do_POST

    def spy(handler):
        seen.append(dict(handler.headers.items()))
        return orig(handler)

    stub.RequestHandlerClass = type("Spy", (stub.RequestHandlerClass,), {"do_POST": spy})
    env = {"ANTHROPIC_API_KEY": "sk-ant-REAL-SECRET-123", "OTHER": "x"}
    proxy = service.make_server(0, forward=True, upstream=stub.url, env=env)
    assert "ANTHROPIC_API_KEY" not in env and env == {"OTHER": "x"}
    t = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        req = {"model": "m", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "hi there"}]}
        status, ctype, body = post(proxy.url + "/v1/messages?beta=true", req, {"x-api-key": "placeholder"})
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert status == 200 and ctype == "text/event-stream" and b"message_stop" in body
    assert seen and {k.lower(): v for k, v in seen[-1].items()}["x-api-key"] == "sk-ant-REAL-SECRET-123"


def test_forward_mode_without_a_key_is_refused():
    proc = subprocess.run([*GT, "model-stub", "--forward"], capture_output=True, text=True, timeout=30,
                          env={k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")})
    assert proc.returncode == 1
    assert proc.stderr.strip() == "gt: error: forward mode needs ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN in the environment"
