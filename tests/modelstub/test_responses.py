"""The loopback model's OpenAI Responses API front end (what Codex speaks) over real HTTP: JSON and SSE
replies, the shell tool round trip carrying the policy's state, a still-running command polled with
write_stdin and folded into its call, usage, and bad requests."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from gastown_server.modelstub import service

EXEC = {"type": "function", "name": "exec_command", "parameters": {"type": "object"}}
PROMPT = "You are gt/polecats/p1 in Gas Town t. Run `gt prime` to see your role"


@pytest.fixture
def stub(tmp_path):
    server = service.make_server(0, log_path=tmp_path / "stub.jsonl")
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.headers.get("content-type"), resp.read()


def user(text):
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def events(body: bytes) -> list[dict]:
    return [json.loads(line[6:]) for line in body.decode().splitlines() if line.startswith("data: ")]


def test_prompt_gives_an_exec_command_call_and_its_output_drives_the_next_step(stub):
    ctx = user("<environment_context>\n  <cwd>/x</cwd>\n</environment_context>")
    req = {"model": "gpt-5-codex", "instructions": "You are Codex.", "tools": [EXEC], "stream": True,
           "input": [{"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
                     ctx, user(PROMPT)]}  # fmt: skip
    ctype, body = post(stub.url + "/v1/responses", req)
    assert ctype == "text/event-stream"
    evs = events(body)
    assert [e["type"] for e in evs][0] == "response.created" and evs[-1]["type"] == "response.completed"
    done = [e["item"] for e in evs if e["type"] == "response.output_item.done"]
    call = next(i for i in done if i["type"] == "function_call")
    args = json.loads(call["arguments"])
    assert call["name"] == "exec_command" and args["cmd"] == "gt prime" and args["login"] is False
    assert args["description"].endswith("[gastown:prime]")  # a label for people, then the policy's tag
    usage = evs[-1]["response"]["usage"]
    assert usage["input_tokens"] > 10 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]

    # Codex sends the call back verbatim with its output: the policy reads its own state from it.
    prime_out = "Chunk ID: 1\nWall time: 0.1 seconds\nProcess exited with code 0\nOutput:\n## Role: polecat\n## Mail: 0 unread\n"
    req["input"] += [call, {"type": "function_call_output", "call_id": call["call_id"], "output": prime_out}]
    req["stream"] = False
    _, body = post(stub.url + "/v1/responses", req)
    resp = json.loads(body)
    assert resp["status"] == "completed" and resp["usage"]["input_tokens"] > usage["input_tokens"]
    msg = resp["output"][0]
    assert msg["type"] == "message" and "hook is empty" in msg["content"][0]["text"]
    log = [json.loads(line) for line in (stub.log_path).read_text().splitlines()]
    assert [(e["api"], e["kind"]) for e in log] == [("openai", "prime"), ("openai", "idle")]
    assert log[0]["user"] == PROMPT  # the environment context Codex adds is not what was typed


def test_a_command_still_running_is_polled_and_seen_whole_once_it_exits(stub):
    req = {"model": "m", "tools": [EXEC, {"type": "function", "name": "write_stdin"}], "input": [user(PROMPT)]}
    call = next(i for i in json.loads(post(stub.url + "/v1/responses", req)[1])["output"] if i["type"] == "function_call")
    req["input"] += [call, {"type": "function_call_output", "call_id": call["call_id"],
                            "output": "Process running with session ID 7\nOutput:\n## Role: polecat\n"}]  # fmt: skip
    poll = json.loads(post(stub.url + "/v1/responses", req)[1])["output"]
    assert [(i["name"], json.loads(i["arguments"])["session_id"]) for i in poll] == [("write_stdin", 7)]
    req["input"] += [poll[0], {"type": "function_call_output", "call_id": poll[0]["call_id"],
                               "output": "Process exited with code 0\nOutput:\n## Mail: 2 unread\n"}]  # fmt: skip
    final = json.loads(post(stub.url + "/v1/responses", req)[1])["output"]
    assert "2 unread mail" in final[0]["content"][0]["text"]


def test_a_question_is_answered_from_the_conversation(stub):
    req = {"model": "m", "tools": [EXEC], "input": [
        user(PROMPT),
        {"type": "function_call", "call_id": "c1", "name": "exec_command",
         "arguments": json.dumps({"cmd": "gt prime", "description": "gastown:prime"})},
        {"type": "function_call_output", "call_id": "c1", "output": "Process exited with code 0\nrig wx-42 needs rebasing\n"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Waiting for work."}]},
        user("what needs rebasing?")]}  # fmt: skip
    out = json.loads(post(stub.url + "/v1/responses", req)[1])["output"]
    assert "wx-42 needs rebasing" in out[0]["content"][0]["text"]


def test_bad_requests_are_400(stub):
    for body in ({"model": "m"}, {"model": "m", "input": [1]},
                 {"model": "m", "input": [{"type": "message", "role": "robot", "content": "x"}]}):  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as err:
            post(stub.url + "/v1/responses", body)
        assert err.value.code == 400
        assert json.loads(err.value.read())["error"]["type"] == "invalid_request_error"
