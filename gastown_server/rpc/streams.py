"""Transcript streaming: ``$/gastown/transcript`` chunks as an agent's log grows.

One task per subscription polls the live transcript's size (cheap ``stat``)
and reads what was appended with aiofiles.  Chunks carry byte offsets
``[offset, end)`` and are cut on UTF-8 character boundaries, so a client can
append ``data`` and resume from ``end`` after a reconnect.  When the file
shrinks (rotation, see :mod:`gastown_server.runtime.transcripts`) the
stream restarts at 0 and flags the chunk ``rotated``.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .subscriptions import Subscriptions

if TYPE_CHECKING:
    from .app import App, Connection

log = logging.getLogger("gastown.rpc.streams")

POLL_S = 0.05
#: Largest chunk read (and sent) at once.
CHUNK = 256 * 1024


@dataclass(eq=False)
class TranscriptSubscription:
    id: int
    conn: Connection
    session: str
    agent: str
    path: Path
    offset: int
    task: asyncio.Task | None = field(default=None, repr=False)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class TranscriptStreams(Subscriptions[TranscriptSubscription]):
    what = "transcript subscription"

    def __init__(self, app: App) -> None:
        super().__init__()
        self.app = app

    def subscribe(self, conn: Connection, session: str, agent: str, path: Path, offset: int | None) -> TranscriptSubscription:
        size = _size(path)
        start = size if offset is None else offset
        if start > size:
            start = 0 if size else start  # the log was rotated since the client's offset
        sub = TranscriptSubscription(self.next_id(), conn, session, agent, path, start)
        self.subs[sub.id] = sub
        sub.task = conn.spawn(self._stream(sub))
        return sub

    async def _stream(self, sub: TranscriptSubscription) -> None:
        import aiofiles

        offset = sub.offset
        rotated = False
        await asyncio.sleep(0)  # the subscribe response goes out first
        while not sub.conn.closed:
            size = _size(sub.path)
            if size < offset:
                offset, rotated = 0, True
            if size > offset:
                async with aiofiles.open(sub.path, "rb") as fh:
                    await fh.seek(offset)
                    raw = await fh.read(min(size - offset, CHUNK))
                if raw:
                    # A fresh decoder per read: the bytes of a character cut
                    # at the end are held back and re-read from ``end``.
                    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
                    text = decoder.decode(raw)
                    held = len(decoder.getstate()[0])
                    end = offset + len(raw) - held
                    if end > offset:
                        sub.conn.send_message(
                            {
                                "jsonrpc": "2.0",
                                "method": "$/gastown/transcript",
                                "params": {
                                    "subscription": sub.id,
                                    "session": sub.session,
                                    "agent": sub.agent,
                                    "offset": offset,
                                    "end": end,
                                    "data": text,
                                    "rotated": rotated,
                                },
                            }
                        )
                        rotated = False
                        offset = end
                        await sub.conn.drain()
                        continue
            await asyncio.sleep(POLL_S)
