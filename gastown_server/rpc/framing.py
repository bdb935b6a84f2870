"""Content-Length framing (LSP base protocol) that survives hostile input.

pygls' own reader drops a frame it cannot parse without telling the
client, has no size limit and dies on an over-long header line; editors
and scripts deserve an error reply instead.  :func:`read_frame` returns one
body, or raises :class:`FrameError` describing what was wrong and whether
the stream can still be followed (``fatal=False``: the bad frame was
skipped whole).
"""

from __future__ import annotations

import asyncio
import json
import re

from .errors import INVALID_REQUEST, PARSE_ERROR

#: Largest body accepted (bigger ones are read, discarded and refused).
MAX_BODY = 8 * 1024 * 1024
MAX_HEADER_LINES = 32
MAX_HEADER_BYTES = 8192
_DISCARD_CHUNK = 1 << 16


class FrameError(Exception):
    def __init__(self, code: int, message: str, *, fatal: bool = False, request_id: int | str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fatal = fatal
        #: The refused request's id when it could be read (an oversized body's head).
        self.request_id = request_id


#: A top-level ``"id"`` before ``"params"`` (the order jsonrpc.el, vscode-jsonrpc and
#: our clients write): lets a refused oversized request get a reply its client waits for.
_HEAD_ID = re.compile(rb'^\s*\{(?:(?!"params")[^{}])*?"id"\s*:\s*(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")')


def _request_id(head: bytes) -> int | str | None:
    m = _HEAD_ID.match(head)
    if not m:
        return None
    raw = m.group(1)
    try:
        return int(raw) if raw[:1] != b'"' else json.loads(raw)
    except ValueError:
        return None


def encode(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


async def read_frame(reader: asyncio.StreamReader, *, max_body: int = MAX_BODY) -> bytes | None:
    """The next body, or None at end of stream (a truncated frame is EOF too)."""
    length: int | None = None
    problem = ""
    lines = size = 0
    while True:
        try:
            line = await reader.readline()
        except (ValueError, asyncio.LimitOverrunError):
            raise FrameError(PARSE_ERROR, "header line too long", fatal=True) from None
        if not line:
            return None
        if not line.endswith(b"\n"):
            return None  # EOF in the middle of a header
        lines += 1
        size += len(line)
        if lines > MAX_HEADER_LINES or size > MAX_HEADER_BYTES:
            raise FrameError(PARSE_ERROR, "header block too long (no blank line after the headers?)", fatal=True)
        stripped = line.strip()
        if not stripped:
            if length is None and not problem and lines == 1:
                lines = size = 0  # tolerate stray blank lines between frames
                continue
            break
        name, sep, value = stripped.partition(b":")
        if not sep:
            problem = problem or f"malformed header line {stripped[:60]!r}"
            continue
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
                if length < 0:
                    raise ValueError
            except ValueError:
                problem = problem or f"bad Content-Length {value.strip()[:40]!r}"
    if problem or length is None:
        # Without a length the body cannot be skipped: the next bytes are
        # read as headers, which resynchronises on the next blank line.
        raise FrameError(PARSE_ERROR, problem or "missing Content-Length header")
    if length > max_body:
        remaining = length
        head = b""
        while remaining:
            chunk = await reader.read(min(remaining, _DISCARD_CHUNK))
            if not chunk:
                return None
            if len(head) < 4096:
                head += chunk[: 4096 - len(head)]
            remaining -= len(chunk)
        raise FrameError(INVALID_REQUEST, f"message of {length} bytes exceeds the limit of {max_body} bytes",
                         request_id=_request_id(head))
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None
