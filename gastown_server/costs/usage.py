"""Token usage from the runtimes' own session files, read incrementally.

Two formats (``RuntimePreset.log_format``):

* ``claude``: Claude Code's ``<config dir>/projects/<cwd slug>/<session>.jsonl``,
  one JSON object per line; ``type: assistant`` lines carry
  ``message.usage`` (``input_tokens``, ``output_tokens``,
  ``cache_creation_input_tokens``, ``cache_read_input_tokens``).  One API
  reply with several content blocks is written as several lines with the same
  ``message.id`` (and ``requestId``) and the same usage, so usage is counted
  once per (id, request): the latest of consecutive duplicates wins, a key
  seen earlier is ignored.
* ``codex``: Codex's rollout files ``<CODEX_HOME>/sessions/YYYY/MM/DD/rollout-*.jsonl``;
  ``event_msg`` lines of ``payload.type: token_count`` hold the session's
  running ``info.total_token_usage``; usage is its growth between events,
  booked on the model of the latest ``turn_context``.  OpenAI's
  ``input_tokens`` include the cached ones, so uncached input is
  ``input - cached``.

:func:`scan` continues a :class:`FileScan` from its byte offset (a file that
shrank or was replaced is read again from the start), so the Stop hook and
``gt status`` cost a ``stat`` and the new lines only.  A line that is not a
JSON object is skipped and counted (``bad_lines``, ``first_bad``): the rest
of the file still counts.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

FORMATS = ("claude", "codex")
#: How many message keys a Claude scan remembers for de-duplication.
_SEEN_MAX = 20000


class Usage(msgspec.Struct, omit_defaults=True):
    """Tokens of one or more model requests; ``input_tokens`` excludes cache reads and writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    requests: int = 0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.requests += other.requests

    def sub(self, other: Usage) -> None:
        self.input_tokens -= other.input_tokens
        self.output_tokens -= other.output_tokens
        self.cache_read_tokens -= other.cache_read_tokens
        self.cache_write_tokens -= other.cache_write_tokens
        self.requests -= other.requests

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


class _Booked(msgspec.Struct, array_like=True):
    """The last Claude message counted: its key, day, model and usage (so a duplicate can replace it)."""

    key: str
    day: str
    model: str
    usage: Usage


class FileScan(msgspec.Struct, omit_defaults=True):
    """How far one session file has been read, and what it added up to (per day, per model)."""

    path: str
    format: str
    inode: int = 0
    offset: int = 0
    lines: int = 0
    bad_lines: int = 0
    #: ``<path>:<line>: <why>`` of the first bad line.
    first_bad: str = ""
    #: ``{day: {model: Usage}}``; ``day`` is the UTC date of the line's timestamp.
    usage: dict[str, dict[str, Usage]] = {}
    #: The runtime's own session id (Codex: ``session_meta.payload.id``).
    native_id: str = ""
    # claude: de-duplication state
    seen: list[str] = []
    last: _Booked | None = None
    # codex: the running total at ``offset`` and the current model
    total: Usage | None = None
    model: str = ""

    def totals(self) -> Usage:
        out = Usage()
        for models in self.usage.values():
            for u in models.values():
                out.add(u)
        return out


# -- line shapes (only the fields read; everything else is ignored) --------------------


class _ClaudeUsage(msgspec.Struct):
    input_tokens: int | None = 0
    output_tokens: int | None = 0
    cache_creation_input_tokens: int | None = 0
    cache_read_input_tokens: int | None = 0


class _ClaudeMessage(msgspec.Struct):
    id: str | None = ""
    model: str | None = ""
    usage: _ClaudeUsage | None = None


class _ClaudeLine(msgspec.Struct):
    type: str | None = ""
    timestamp: str | None = ""
    requestId: str | None = ""
    message: _ClaudeMessage | None = None


class _CodexTokens(msgspec.Struct):
    input_tokens: int | None = 0
    cached_input_tokens: int | None = 0
    cache_write_input_tokens: int | None = 0
    output_tokens: int | None = 0


class _CodexInfo(msgspec.Struct):
    total_token_usage: _CodexTokens | None = None


class _CodexPayload(msgspec.Struct):
    type: str | None = ""
    id: str | None = ""
    model: str | None = ""
    info: _CodexInfo | None = None


class _CodexLine(msgspec.Struct):
    timestamp: str | None = ""
    type: str | None = ""
    payload: _CodexPayload | None = None


_CLAUDE = msgspec.json.Decoder(_ClaudeLine)
_CODEX = msgspec.json.Decoder(_CodexLine)


def new_scan(path: Path | str, fmt: str) -> FileScan:
    if fmt not in FORMATS:
        raise ValueError(f"unknown session file format {fmt!r}")
    return FileScan(path=str(path), format=fmt)


def scan(state: FileScan) -> FileScan:
    """Read what was appended to ``state.path`` since ``state`` (a fresh one if it was replaced).

    Returns the updated state (the same object, or a new one after a
    restart); a missing file leaves ``state`` as it is (its usage stays
    counted: runtimes delete old session files).
    """
    try:
        st = os.stat(state.path)
    except OSError:
        return state
    if st.st_ino != state.inode or st.st_size < state.offset:
        state = new_scan(state.path, state.format)
        state.inode = st.st_ino
    if st.st_size == state.offset:
        return state
    with open(state.path, "rb") as f:
        f.seek(state.offset)
        data = f.read(st.st_size - state.offset)
    end = data.rfind(b"\n") + 1
    seen = set(state.seen)  # (the list keeps their order for trimming; membership tests use this)
    if state.format == "claude":
        def feed(st, line, count_bad=True):
            _claude_line(st, line, seen, count_bad)
    else:
        feed = _codex_line
    pos = 0
    while pos < end:
        nl = data.index(b"\n", pos)
        line = data[pos:nl]
        pos = nl + 1
        state.lines += 1
        if line.strip():
            feed(state, line)
    state.offset += end
    tail = data[end:]
    if tail.strip():
        # A last line without its newline: count it if it is whole, without
        # moving the offset; reading it again later is harmless (Claude keys
        # are de-duplicated, a Codex total that did not grow adds nothing).
        try:
            msgspec.json.decode(tail)
        except msgspec.DecodeError:
            pass
        else:
            feed(state, tail, count_bad=False)
    return state


def _bad(state: FileScan, why: str) -> None:
    state.bad_lines += 1
    if not state.first_bad:
        state.first_bad = f"{state.path}:{state.lines}: {why}"


def _book(state: FileScan, day: str, model: str, usage: Usage, sign: int = 1) -> None:
    cell = state.usage.setdefault(day, {}).setdefault(model, Usage())
    if sign > 0:
        cell.add(usage)
    else:
        cell.sub(usage)


def _looks_whole(line: bytes) -> bool:
    """A cheap check for lines not decoded (no usage in them): an object from ``{`` to ``}``."""
    line = line.strip()
    return line.startswith(b"{") and line.endswith(b"}")


def _day(timestamp: str | None) -> str:
    return (timestamp or "")[:10] or "unknown"


def _claude_line(state: FileScan, line: bytes, seen: set[str], count_bad: bool = True) -> None:
    if b'"usage"' not in line:
        if count_bad and not _looks_whole(line):
            _bad(state, "not a JSON object, skipped")
        return
    try:
        rec = _CLAUDE.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        if count_bad:
            _bad(state, f"unreadable line skipped ({str(exc).splitlines()[0][:80]})")
        return
    msg = rec.message
    if rec.type != "assistant" or msg is None or msg.usage is None:
        return
    u = msg.usage
    usage = Usage(
        input_tokens=u.input_tokens or 0, output_tokens=u.output_tokens or 0,
        cache_read_tokens=u.cache_read_input_tokens or 0, cache_write_tokens=u.cache_creation_input_tokens or 0,
        requests=1,
    )  # fmt: skip
    model = msg.model or "unknown"
    if usage.total_tokens == 0:  # Claude Code's "<synthetic>" replies (API errors): nothing was used
        return
    key = f"{msg.id or ''}:{rec.requestId or ''}"
    if key == "::" or not msg.id:
        key = f"line:{state.offset}:{state.lines}"
    if state.last is not None and state.last.key == key:
        prev = state.last
        merged = Usage(
            input_tokens=max(prev.usage.input_tokens, usage.input_tokens),
            output_tokens=max(prev.usage.output_tokens, usage.output_tokens),
            cache_read_tokens=max(prev.usage.cache_read_tokens, usage.cache_read_tokens),
            cache_write_tokens=max(prev.usage.cache_write_tokens, usage.cache_write_tokens),
            requests=1,
        )
        _book(state, prev.day, prev.model, prev.usage, sign=-1)
        _book(state, prev.day, prev.model, merged)
        state.last = _Booked(key, prev.day, prev.model, merged)
        return
    if key in seen:
        return
    day = _day(rec.timestamp)
    _book(state, day, model, usage)
    state.last = _Booked(key, day, model, usage)
    state.seen.append(key)
    seen.add(key)
    if len(state.seen) > _SEEN_MAX:
        for old in state.seen[: len(state.seen) - _SEEN_MAX]:
            seen.discard(old)
        del state.seen[: len(state.seen) - _SEEN_MAX]


def _codex_line(state: FileScan, line: bytes, count_bad: bool = True) -> None:
    if not (b"token_count" in line or b"turn_context" in line or b"session_meta" in line):
        if count_bad and not _looks_whole(line):
            _bad(state, "not a JSON object, skipped")
        return
    try:
        rec = _CODEX.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        if count_bad:
            _bad(state, f"unreadable line skipped ({str(exc).splitlines()[0][:80]})")
        return
    p = rec.payload
    if p is None:
        return
    if rec.type == "session_meta":
        if p.id and not state.native_id:
            state.native_id = p.id
        return
    if rec.type == "turn_context":
        if p.model:
            state.model = p.model
        return
    if rec.type != "event_msg" or p.type != "token_count" or p.info is None or p.info.total_token_usage is None:
        return
    t = p.info.total_token_usage
    cached = t.cached_input_tokens or 0
    written = t.cache_write_input_tokens or 0
    total = Usage(
        input_tokens=max(0, (t.input_tokens or 0) - cached - written), output_tokens=t.output_tokens or 0,
        cache_read_tokens=cached, cache_write_tokens=written,
    )  # fmt: skip
    prev = state.total or Usage()
    delta = Usage(
        input_tokens=total.input_tokens - prev.input_tokens, output_tokens=total.output_tokens - prev.output_tokens,
        cache_read_tokens=total.cache_read_tokens - prev.cache_read_tokens,
        cache_write_tokens=total.cache_write_tokens - prev.cache_write_tokens,
    )  # fmt: skip
    if min(delta.input_tokens, delta.output_tokens, delta.cache_read_tokens, delta.cache_write_tokens) < 0:
        delta = total  # the running total restarted (a new thread in the same file)
    state.total = total
    if delta.total_tokens == 0:  # token_count is re-sent with rate-limit updates
        return
    delta.requests = 1
    _book(state, _day(rec.timestamp), state.model or "unknown", delta)
