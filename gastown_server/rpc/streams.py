"""Transcript streaming: ``$/gastown/transcript`` chunks as an agent's log grows.

One task per subscription polls the live transcript's size (cheap ``stat``)
and reads what was appended with aiofiles.  Chunks carry byte offsets
``[offset, end)`` and are cut on UTF-8 character boundaries, so a client can
append ``data`` and resume from ``end`` after a reconnect.  The stream keeps
its file open: when the writer rotates it (renames it to ``<log>.1``, see
:mod:`gastown_server.runtime.transcripts`) the rest of the old file is sent
first, then the stream goes on at 0 of the new live file and flags that
chunk ``rotated`` (offsets are always into the file the chunk came from).
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
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
    #: The live file's inode when subscribed (a rotation before the stream starts is noticed).
    inode: int | None = None
    task: asyncio.Task | None = field(default=None, repr=False)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _size(path: Path) -> int:
    st = _stat(path)
    return st.st_size if st else 0


def _rotated_copy(path: Path, inode: int) -> Path | None:
    """The rotated file (``<log>.N``) that is now the file with ``inode``, if any."""
    from ..runtime.transcripts import rotated_files

    for candidate in reversed(rotated_files(path)):
        st = _stat(candidate)
        if st is not None and st.st_ino == inode:
            return candidate
    return None


class TranscriptStreams(Subscriptions[TranscriptSubscription]):
    what = "transcript subscription"

    def __init__(self, app: App) -> None:
        super().__init__()
        self.app = app

    def subscribe(self, conn: Connection, session: str, agent: str, path: Path, offset: int | None) -> TranscriptSubscription:
        st = _stat(path)
        size = st.st_size if st else 0
        start = size if offset is None else offset
        if start > size:
            start = 0 if size else start  # the log was rotated since the client's offset
        sub = TranscriptSubscription(self.next_id(), conn, session, agent, path, start, st.st_ino if st else None)
        self.subs[sub.id] = sub
        sub.task = conn.spawn(self._stream(sub))
        return sub

    async def _stream(self, sub: TranscriptSubscription) -> None:
        import aiofiles

        offset = sub.offset
        rotated = False
        fh = None
        inode: int | None = None
        await asyncio.sleep(0)  # the subscribe response goes out first
        try:
            while not sub.conn.closed:
                # The live path first, our open file second: once the path
                # names another file the writer has finished ours, so the
                # size read next is final and nothing is left behind.
                live = _stat(sub.path)
                if fh is None:
                    if live is None:
                        await asyncio.sleep(POLL_S)
                        continue
                    target = sub.path
                    if sub.inode is not None and live.st_ino != sub.inode:
                        # Rotated between subscribe and now: finish the file
                        # the offset was about first.
                        target = _rotated_copy(sub.path, sub.inode) or sub.path
                        if target == sub.path:
                            offset, rotated = 0, True
                    sub.inode = None
                    try:
                        fh = await aiofiles.open(target, "rb")
                    except FileNotFoundError:
                        continue
                    inode = os.fstat(fh.fileno()).st_ino
                size = os.fstat(fh.fileno()).st_size
                if size < offset:  # truncated in place (rotation keeping no old files)
                    offset, rotated = 0, True
                if size > offset:
                    await fh.seek(offset)
                    raw = await fh.read(min(size - offset, CHUNK))
                    end = self._send(sub, raw, offset, rotated)
                    if end > offset:
                        rotated = False
                        offset = end
                        await sub.conn.drain()
                        continue
                if live is not None and live.st_ino != inode:
                    # Ours was rotated away and is drained: go on with the new file.
                    await fh.close()
                    fh, offset, rotated = None, 0, True
                    continue
                await asyncio.sleep(POLL_S)
        finally:
            if fh is not None:
                await fh.close()

    @staticmethod
    def _send(sub: TranscriptSubscription, raw: bytes, offset: int, rotated: bool) -> int:
        """Send ``raw`` (read at ``offset``) as one chunk; returns the offset after what was sent."""
        if not raw:
            return offset
        # A fresh decoder per read: the bytes of a character cut at the end
        # are held back and re-read from ``end``.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = decoder.decode(raw)
        end = offset + len(raw) - len(decoder.getstate()[0])
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
        return end
