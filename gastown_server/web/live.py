"""Live pages: the RPC server's feed pushes, the hub re-renders, server-sent events carry the result.

One feed subscription serves every open tab (taken while at least one
is open, dropped after the last closes, so an unwatched dashboard costs
nothing).  On new events the hub re-renders each distinct open view once
(throttled: at once for the first change, then at most every
``THROTTLE_S``) and sends each tab its view's new ``<main>`` if it changed.
A transcript page also gets its own transcript subscription, whose chunks
go straight to that tab.  The browser never asks: it only listens.

The hub plays the part of an RPC :class:`~gastown_server.rpc.app.Connection`
for :class:`~gastown_server.rpc.feed.Feed` and
:class:`~gastown_server.rpc.streams.TranscriptStreams` (``send_message``,
``send_bytes``, ``spawn``, ``drain``, ``closed``): the same cursor, the same
catch-up, no second watcher.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import msgspec

from ..work.activity import is_patrol_noise

if TYPE_CHECKING:
    from .server import Dashboard

log = logging.getLogger("gastown.web.live")

THROTTLE_S = 0.2
KEEPALIVE_S = 20.0
#: Agents change without a ledger event too (a pane dies, a transcript grows): while a tab shows
#: agents (the town page, an agent page) the hub looks at their status this often.
AGENT_TICK_S = 1.0
_encode = msgspec.json.Encoder().encode


class Sink:
    """What the RPC feed and transcript streams need of a connection, delivering to a callback."""

    def __init__(self, on_message, name: str) -> None:
        self.on_message = on_message
        self.name = name
        self.closed = False
        self.tasks: set[asyncio.Task] = set()

    def send_message(self, message: dict) -> None:
        if not self.closed:
            self.on_message(message)

    def send_bytes(self, body: bytes) -> None:
        """Derived notifications (convoyChanged, ...): the raw events already say everything."""

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def drain(self) -> None:
        await asyncio.sleep(0)

    def close(self) -> None:
        self.closed = True
        for task in list(self.tasks):
            task.cancel()


class Client:
    """One open tab: its view (path and query) and the queue of SSE messages for it."""

    def __init__(self, view: str) -> None:
        self.view = view
        self.last_html: str | None = None
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.sink: Sink | None = None  # its transcript stream, if any

    def send(self, event: str, data: str) -> None:
        lines = "".join(f"data: {line}\n" for line in data.split("\n"))
        self.queue.put_nowait(f"event: {event}\n{lines}\n".encode())


class Hub:
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash
        self.clients: set[Client] = set()
        self.sink: Sink | None = None
        self._sub_id: int | None = None
        self._dirty = False
        self._noise_only = True
        self._last_render = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._rendering: asyncio.Task | None = None
        #: Every change seen, by anyone: (event id, monotonic time it reached the hub).
        self.last_event: tuple[int, float] = (0, 0.0)
        self._tick: asyncio.Task | None = None
        self._agents_seen: tuple | None = None

    # -- the feed ---------------------------------------------------------------------

    def _subscribe(self) -> None:
        self.sink = Sink(self._on_feed, "dashboard")
        sub = self.dash.rpc.feed.subscribe(self.sink, None, None)  # type: ignore[arg-type]
        self._sub_id = sub.id

    def _unsubscribe(self) -> None:
        if self.sink is not None:
            self.dash.rpc.feed.drop_connection(self.sink)  # type: ignore[arg-type]
            self.sink.close()
        self.sink, self._sub_id = None, None

    def _on_feed(self, message: dict) -> None:
        if message.get("method") != "$/gastown/event":
            return
        ev = message["params"]["event"]
        self.last_event = (ev.id, time.monotonic())
        noise = is_patrol_noise(ev)
        if noise and not any("noise=" in c.view for c in self.clients):
            return
        self._dirty = True
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None or (self._rendering is not None and not self._rendering.done()):
            return  # a render is due (or running, and it re-checks _dirty when done)
        wait = max(0.0, self._last_render + THROTTLE_S - time.monotonic())
        self._timer = asyncio.get_running_loop().call_later(wait, self._start_render)

    def _start_render(self) -> None:
        self._timer = None
        self._rendering = asyncio.ensure_future(self._render_all())

    async def _render_all(self) -> None:
        while self._dirty:
            self._dirty = False
            self._last_render = time.monotonic()
            views: dict[str, list[Client]] = {}
            for c in self.clients:
                views.setdefault(c.view, []).append(c)
            for view, clients in views.items():
                try:
                    html = await self.dash.render_main(view)
                except Exception as exc:  # noqa: BLE001 - one bad view must not stop the others
                    html = f'<p class="error">{exc}</p>'
                for c in clients:
                    if html != c.last_html:
                        c.last_html = html
                        c.send("main", html)
            if self._dirty:
                await asyncio.sleep(max(0.0, self._last_render + THROTTLE_S - time.monotonic()))

    # -- tabs --------------------------------------------------------------------------

    def add(self, client: Client) -> None:
        self.clients.add(client)
        if self.sink is None:
            self._subscribe()
        if _shows_agents(client.view) and (self._tick is None or self._tick.done()):
            self._tick = asyncio.ensure_future(self._watch_agents())

    async def _watch_agents(self) -> None:
        """While a tab shows agents: re-render when their status changes (tmux, transcripts), not only on events."""
        from ..town.status import agent_rows

        self._agents_seen = None
        while any(_shows_agents(c.view) for c in self.clients):
            try:
                town = self.dash.town()
                rows = agent_rows(town, await self.dash.rpc.sessions_async(town))
                seen = tuple((a.address, a.running, a.alive, a.agent_state, a.last_activity[:19], a.nudges_pending)
                             for a in rows)  # fmt: skip
                if self._agents_seen is not None and seen != self._agents_seen:
                    self._dirty = True
                    self._schedule()
                self._agents_seen = seen
            except Exception:  # noqa: BLE001 - a bad moment (tmux restarting) must not end the watch
                log.exception("agent watch")
            await asyncio.sleep(AGENT_TICK_S)

    def remove(self, client: Client) -> None:
        self.clients.discard(client)
        if client.sink is not None:
            self.dash.rpc.transcripts.drop_connection(client.sink)  # type: ignore[arg-type]
            client.sink.close()
        if not self.clients:
            self._unsubscribe()

    def follow_transcript(self, client: Client, session: str, agent: str, path, offset: int) -> None:
        def deliver(message: dict) -> None:
            p = message.get("params") or {}
            if message.get("method") == "$/gastown/transcript":
                client.send("transcript", _encode({"data": p.get("data", ""), "end": p.get("end"),
                                                    "rotated": p.get("rotated", False)}).decode())  # fmt: skip

        client.sink = Sink(deliver, f"transcript {session}")
        self.dash.rpc.transcripts.subscribe(client.sink, session, agent, path, offset)  # type: ignore[arg-type]

    def close(self) -> None:
        for c in list(self.clients):
            self.remove(c)
        if self._timer is not None:
            self._timer.cancel()
        if self._tick is not None:
            self._tick.cancel()


def _shows_agents(view: str) -> bool:
    path = view.split("?", 1)[0]
    return path == "/" or path.startswith("/agent/")
