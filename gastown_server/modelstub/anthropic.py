"""The Anthropic Messages API front end (Claude Code's API), over :mod:`.policy`.

``POST /v1/messages`` (``stream: true`` -> SSE events ``message_start``,
``content_block_start/delta/stop``, ``message_delta``, ``message_stop``;
else one JSON message) and ``POST /v1/messages/count_tokens``.  The shell
tool is the one named ``Bash`` (Claude Code's); its calls carry
``{"command", "description"}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

from . import policy

SHELL_TOOLS = ("Bash", "bash", "shell")


class BadRequest(Exception):
    """The request is not a Messages-API request (the server answers 400)."""


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text_of(b.get("text", "") if isinstance(b, dict) and b.get("type") == "text" else "")
                         for b in content if isinstance(b, dict)).strip("\n")  # fmt: skip
    return ""


def conversation(req: dict) -> policy.Conversation:
    """A Messages request as a :class:`policy.Conversation`."""
    if not isinstance(req, dict) or not isinstance(req.get("messages"), list):
        raise BadRequest("messages: field required (a list)")
    tools = [t.get("name", "") for t in req.get("tools") or [] if isinstance(t, dict)]
    shell = next((n for n in SHELL_TOOLS if n in tools), "")
    turns = []
    system = [_text_of(req.get("system"))]
    for msg in req["messages"]:
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant", "system"):
            raise BadRequest("messages: each message needs role user or assistant")
        content = msg.get("content")
        if msg["role"] == "system":  # Claude Code 2.1 sends its environment block as a system message
            system.append(_text_of(content))
            continue
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        texts, calls, results = [], [], []
        for b in blocks:
            if not isinstance(b, dict):
                continue
            kind = b.get("type")
            if kind == "text":
                texts.append(b.get("text") or "")
            elif kind == "tool_use":
                inp = b.get("input") if isinstance(b.get("input"), dict) else {}
                calls.append(policy.ToolCall(id=str(b.get("id", "")), command=str(inp.get("command", "")),
                                             description=str(inp.get("description", ""))))  # fmt: skip
            elif kind == "tool_result":
                results.append(policy.ToolResult(call_id=str(b.get("tool_use_id", "")), output=_text_of(b.get("content")),
                                                 is_error=bool(b.get("is_error"))))  # fmt: skip
        turns.append(policy.Turn(role=msg["role"], text="\n".join(texts), calls=calls, results=results))
    return policy.Conversation(system="\n".join(system), turns=turns, tools=tools, shell_tool=shell,
                               model=str(req.get("model", "")))  # fmt: skip


def _message_id(req: dict) -> str:
    return "msg_" + hashlib.sha256(json.dumps(req, sort_keys=True).encode()).hexdigest()[:24]


def _usage(reply: policy.Reply) -> dict:
    return {"input_tokens": reply.usage.input_tokens, "output_tokens": reply.usage.output_tokens,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}  # fmt: skip


def _blocks(reply: policy.Reply, shell_tool: str) -> list[dict]:
    out = [{"type": "text", "text": reply.text}] if reply.text else []
    for c in reply.calls:
        out.append({"type": "tool_use", "id": c.id, "name": shell_tool,
                    "input": {"command": c.command, "description": c.description}})  # fmt: skip
    return out


def message(req: dict, reply: policy.Reply, conv: policy.Conversation) -> dict:
    return {
        "id": _message_id(req), "type": "message", "role": "assistant", "model": conv.model or "gastown-loopback",
        "content": _blocks(reply, conv.shell_tool), "stop_reason": reply.stop_reason, "stop_sequence": None,
        "usage": _usage(reply),
    }  # fmt: skip


def sse(req: dict, reply: policy.Reply, conv: policy.Conversation) -> Iterator[bytes]:
    """The reply as Messages-API server-sent events."""

    def ev(name: str, data: dict) -> bytes:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

    start = message(req, reply, conv)
    start.update(content=[], stop_reason=None, usage={**_usage(reply), "output_tokens": 1})
    yield ev("message_start", {"type": "message_start", "message": start})
    yield ev("ping", {"type": "ping"})
    for i, block in enumerate(_blocks(reply, conv.shell_tool)):
        if block["type"] == "text":
            yield ev("content_block_start", {"type": "content_block_start", "index": i,
                                             "content_block": {"type": "text", "text": ""}})  # fmt: skip
            text = block["text"]
            for j in range(0, len(text), 80):
                yield ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                                 "delta": {"type": "text_delta", "text": text[j:j + 80]}})  # fmt: skip
        else:
            yield ev("content_block_start", {"type": "content_block_start", "index": i, "content_block":
                                             {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})  # fmt: skip
            yield ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                             "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}})  # fmt: skip
        yield ev("content_block_stop", {"type": "content_block_stop", "index": i})
    yield ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                               "usage": {"output_tokens": reply.usage.output_tokens}})  # fmt: skip
    yield ev("message_stop", {"type": "message_stop"})


def count_tokens(req: dict) -> dict:
    conv = conversation(req)
    text = conv.system + "".join(t.text + "".join(r.output for r in t.results) for t in conv.turns)
    return {"input_tokens": policy.estimate_tokens(text) + 40 * len(conv.tools)}


def last_user_text(conv: policy.Conversation) -> str:
    """For the log: what the person (or a nudge) typed last, hook context removed."""
    for t in reversed(conv.turns):
        if t.role == "user" and t.text and not t.results:
            return policy.visible_text(t.text)
        if t.role == "user" and t.results:
            return ""
    return ""
