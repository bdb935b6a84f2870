"""The OpenAI Responses API front end (what Codex speaks), over :mod:`.policy`.

``POST /v1/responses`` (and ``/responses``, for a provider ``base_url``
without ``/v1``): the request's ``instructions`` and ``input`` items become a
:class:`~.policy.Conversation`; the :class:`~.policy.Reply` comes back as
one JSON response or, with ``stream: true``, as the server-sent events
Codex reads (``response.created``, ``response.output_item.added``,
``response.output_text.delta``, ``response.output_item.done``,
``response.completed`` with ``usage``).

The shell tool is Codex's ``exec_command`` (``{"cmd": ...}``; the older
``shell`` tool takes ``{"command": ["bash", "-lc", ...]}``).  The policy's
state travels in the call's arguments as an extra ``description`` key
(Codex sends a call's arguments back verbatim with the history).  A command
still running when Codex yields (``Process running with session ID N``) is
polled with ``write_stdin`` by this front end itself, and the policy sees
the original call's whole output once it has exited.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator

from . import policy

SHELL_TOOLS = ("exec_command", "shell", "local_shell", "shell_command")
POLL_TOOL = "write_stdin"
#: Codex wraps context it adds to user messages in tags like these.
_CONTEXT = re.compile(r"<(environment_context|user_instructions|skills_instructions|INSTRUCTIONS|permissions[^>]*)>.*?</\1>", re.S)
_RUNNING = re.compile(r"Process running with session ID (\d+)")
_EXIT = re.compile(r"Process exited with code (-?\d+)")


class BadRequest(Exception):
    """Not a Responses-API request (answered 400)."""


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(c.get("text") or "") for c in content
                         if isinstance(c, dict) and c.get("type") in ("input_text", "output_text", "text"))  # fmt: skip
    return ""


def _args(item: dict) -> dict:
    raw = item.get("arguments")
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _command_of(name: str, args: dict) -> str:
    cmd = args.get("cmd", args.get("command", ""))
    if isinstance(cmd, list):  # the older shell tool: ["bash", "-lc", "<script>"]
        cmd = cmd[-1] if len(cmd) >= 3 and cmd[1] in ("-lc", "-c") else " ".join(map(str, cmd))
    return str(cmd or "")


def _output_text(item: dict) -> str:
    out = item.get("output")
    if isinstance(out, dict):  # {"content": ..., "success": ...} in some versions
        out = out.get("content", "")
    return out if isinstance(out, str) else _text(out)


def conversation(req: dict) -> policy.Conversation:
    """A Responses request as a :class:`policy.Conversation` (``write_stdin`` polls folded into their call)."""
    if not isinstance(req, dict) or not isinstance(req.get("input"), (list, str)):
        raise BadRequest("input: field required (a list of items or a string)")
    items = [{"type": "message", "role": "user", "content": req["input"]}] if isinstance(req["input"], str) else req["input"]
    tools = [str(t.get("name", "")) for t in req.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    shell = next((n for n in SHELL_TOOLS if n in tools), "")
    system = [_text(req.get("instructions"))]
    turns: list[policy.Turn] = []
    calls: dict[str, policy.ToolCall] = {}
    polls: dict[str, str] = {}  # write_stdin call id -> the exec call it continues
    running: dict[str, str] = {}  # unified-exec session id -> the exec call id
    partial: dict[str, list[str]] = {}  # exec call id -> output so far

    def turn(role: str) -> policy.Turn:
        if not turns or turns[-1].role != role or (role == "user" and turns[-1].results):
            turns.append(policy.Turn(role=role))
        return turns[-1]

    for item in items:
        if not isinstance(item, dict):
            raise BadRequest("input: each item must be an object")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role in ("developer", "system"):
                system.append(_text(item.get("content")))
                continue
            if role not in ("user", "assistant"):
                raise BadRequest(f"input: message role {role!r} is not user, assistant, developer or system")
            text = _text(item.get("content"))
            if role == "user":
                text = _CONTEXT.sub("", text).strip()
                if not text:
                    continue
            t = turn(role)
            t.text = (t.text + "\n" + text).strip("\n") if t.text else text
        elif kind in ("function_call", "local_shell_call", "custom_tool_call"):
            name = str(item.get("name") or "")
            call_id = str(item.get("call_id") or item.get("id") or "")
            args = _args(item)
            if name == POLL_TOOL:
                origin = running.get(str(args.get("session_id", "")), "")
                if origin:
                    polls[call_id] = origin
                continue
            call = policy.ToolCall(id=call_id, command=_command_of(name, args), description=str(args.get("description") or ""))
            calls[call_id] = call
            turn("assistant").calls.append(call)
        elif kind in ("function_call_output", "local_shell_call_output", "custom_tool_call_output"):
            call_id = str(item.get("call_id") or "")
            out = _output_text(item)
            origin = polls.get(call_id, call_id)
            partial.setdefault(origin, []).append(out)
            m = _RUNNING.search(out)
            if m and not _EXIT.search(out):
                running[m.group(1)] = origin
                continue  # not finished: the policy sees it once it has exited
            whole = "\n".join(partial.pop(origin))
            code = _EXIT.search(whole)
            turn("user").results.append(
                policy.ToolResult(call_id=origin, output=whole, is_error=bool(code and code.group(1) != "0"))
            )
        # reasoning and other item kinds carry nothing the policy reads
    return policy.Conversation(system="\n".join(s for s in system if s), turns=turns, tools=tools, shell_tool=shell,
                               model=str(req.get("model") or ""))  # fmt: skip


def pending_poll(req: dict) -> str:
    """The unified-exec session id of a gastown command still running at the end of the input, else ""."""
    items = req.get("input") if isinstance(req.get("input"), list) else []
    running: dict[str, bool] = {}
    for item in items:
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            out = _output_text(item)
            m = _RUNNING.search(out)
            if m and not _EXIT.search(out):
                running = {m.group(1): True}
            elif _EXIT.search(out):
                running = {}
    return next(iter(running), "")


def _id(prefix: str, req: dict, n: int = 0) -> str:
    digest = hashlib.sha256(json.dumps(req.get("input"), sort_keys=True).encode() + b"%d" % n).hexdigest()[:24]
    return f"{prefix}_{digest}"


def _items(req: dict, reply: policy.Reply, conv: policy.Conversation) -> list[dict]:
    out: list[dict] = []
    if reply.text:
        out.append({"type": "message", "id": _id("msg", req), "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": reply.text, "annotations": []}]})  # fmt: skip
    for i, c in enumerate(reply.calls):
        if conv.shell_tool == "shell":
            args = {"command": ["bash", "-lc", c.command], "description": c.description}
        else:
            args = {"cmd": c.command, "login": False, "yield_time_ms": 30000, "description": c.description}
        out.append({"type": "function_call", "id": _id("fc", req, i), "call_id": c.id.replace("toolu_", "call_"),
                    "name": conv.shell_tool, "arguments": json.dumps(args), "status": "completed"})  # fmt: skip
    return out


def _poll_items(req: dict, session: str) -> list[dict]:
    args = {"session_id": int(session) if session.isdigit() else session, "chars": "", "yield_time_ms": 30000}
    return [{"type": "function_call", "id": _id("fc", req), "call_id": _id("call", req), "name": POLL_TOOL,
             "arguments": json.dumps(args), "status": "completed"}]  # fmt: skip


def _usage(reply: policy.Reply) -> dict:
    u = reply.usage
    return {"input_tokens": u.input_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": u.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": u.input_tokens + u.output_tokens}  # fmt: skip


def response(req: dict, reply: policy.Reply, conv: policy.Conversation, output: list[dict] | None = None) -> dict:
    return {"id": _id("resp", req), "object": "response", "created_at": 0, "status": "completed",
            "model": conv.model or "gastown-loopback", "output": _items(req, reply, conv) if output is None else output,
            "usage": _usage(reply)}  # fmt: skip


def sse(req: dict, reply: policy.Reply, conv: policy.Conversation, output: list[dict] | None = None) -> Iterator[bytes]:
    """The reply as Responses-API server-sent events."""

    def ev(name: str, data: dict) -> bytes:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

    final = response(req, reply, conv, output)
    seq = 0

    def nxt() -> int:
        nonlocal seq
        seq += 1
        return seq

    yield ev("response.created", {"sequence_number": nxt(), "response": {**final, "status": "in_progress", "output": []}})
    for index, item in enumerate(final["output"]):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield ev("response.output_item.added", {"sequence_number": nxt(), "output_index": index,
                                                    "item": {**item, "status": "in_progress", "content": []}})  # fmt: skip
            for j in range(0, len(text), 80):
                yield ev("response.output_text.delta", {"sequence_number": nxt(), "item_id": item["id"],
                                                        "output_index": index, "content_index": 0,
                                                        "delta": text[j:j + 80]})  # fmt: skip
        else:
            yield ev("response.output_item.added", {"sequence_number": nxt(), "output_index": index, "item": item})
        yield ev("response.output_item.done", {"sequence_number": nxt(), "output_index": index, "item": item})
    yield ev("response.completed", {"sequence_number": nxt(), "response": final})


def _responses(server, req: dict, stream: bool):
    from .server import error_response, json_response, Response

    try:
        conv = conversation(req)
    except BadRequest as exc:
        return error_response(400, "invalid_request_error", str(exc))
    session = pending_poll(req)
    if session:
        # Our command is still running: wait for it (the policy decides once it has exited).
        reply = policy.Reply(kind="poll")
        prompt = json.dumps(req.get("input"))
        reply.usage = policy.Usage(input_tokens=policy.estimate_tokens(prompt), output_tokens=12)
        output = _poll_items(req, session)
        user = ""
    else:
        reply = server.decide(conv)
        output = None
        user = _last_user_text(conv)
    server.log_reply("openai", "/v1/responses", user, reply)
    if stream:
        return Response(stream=sse(req, reply, conv, output), content_type="text/event-stream")
    return json_response(response(req, reply, conv, output))


def _last_user_text(conv: policy.Conversation) -> str:
    for t in reversed(conv.turns):
        if t.role == "user":
            return "" if t.results else policy.visible_text(t.text)
    return ""


ROUTES = {"/v1/responses": _responses, "/responses": _responses}
