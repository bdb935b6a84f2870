"""``agent/transcript`` and ``transcript/*``: an agent's pane output, by byte range or live."""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import InvalidInput
from ...runtime import transcripts as tr
from .. import types as t
from ..registry import method

#: tmux session names gastown creates (and nothing that could escape the directory).
_SESSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
MAX_RANGE = 1024 * 1024


def resolve(call, agent: str | None, session: str | None) -> tuple[str, str, Path]:
    """(session, agent address, live transcript path) from either name."""
    if session:
        if not _SESSION_RE.match(session):
            raise InvalidInput(f"invalid session name {session!r}")
        return session, agent or session, tr.transcript_path(call.town_root, session)
    if not agent:
        raise InvalidInput("give agent (an address like mayor or <rig>/witness) or session")
    ident = call.app.town_for(call.ledger).resolve(agent)
    return ident.session, ident.address, tr.transcript_path(call.town_root, ident.session)


@method("agent/transcript", t.TranscriptRangeParams, t.TranscriptRangeResult)
def transcript(call, p: t.TranscriptRangeParams) -> t.TranscriptRangeResult:
    """A byte range of an agent's live transcript (or, with ``lines``, its last lines as text)."""
    session, agent, path = resolve(call, p.agent, p.session)
    size = tr.size(path)
    if p.lines is not None:
        return t.TranscriptRangeResult(session, agent, size, size, size, tr.tail(path, p.lines))
    length = min(MAX_RANGE, p.length if p.length is not None else MAX_RANGE)
    start = min(p.offset, size)
    data = tr.read_range(path, start, min(size, start + length))
    text = data.decode("utf-8", errors="replace")
    return t.TranscriptRangeResult(session, agent, start, start + len(data), size, text)


@method("transcript/subscribe", t.TranscriptSubscribeParams, t.TranscriptSubscribeResult)
def subscribe(call, p: t.TranscriptSubscribeParams) -> t.TranscriptSubscribeResult:
    """Stream an agent's transcript from ``offset`` (``null``: from its end) as ``$/gastown/transcript``."""
    session, agent, path = resolve(call, p.agent, p.session)
    sub = call.app.transcripts.subscribe(call.conn, session, agent, path, p.offset)
    return t.TranscriptSubscribeResult(sub.id, session, agent, sub.offset, tr.size(path))


@method("transcript/unsubscribe", t.UnsubscribeParams, t.UnsubscribeResult)
def unsubscribe(call, p: t.UnsubscribeParams) -> t.UnsubscribeResult:
    """Stop a transcript subscription of this connection."""
    return t.UnsubscribeResult(call.app.transcripts.unsubscribe(call.conn, p.subscription))
