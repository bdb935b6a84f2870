"""Push: the ledger's events reach every subscriber, whoever wrote them.

One watcher per server polls ``PRAGMA data_version`` on the server's read
connection (it changes whenever *another* connection commits: an agent's
``bd close`` in a tmux pane, or our own writer thread) and pumps new
``events`` rows out in id order.  It polls only while someone subscribes
(an idle server must not wake 200 times a second); meanwhile the cursor is
brought up to date on demand (:meth:`Feed.current_cursor`).

Each feed subscription has its own cursor.  A subscription that starts
behind the watcher (a reconnecting client resuming from cursor N) first
catches up from the ledger in batches, then goes live at the exact point
the watcher has reached; both run on the event loop, so no event is sent
twice or skipped.  Derived notifications (``convoyChanged``,
``mailArrived``, ``agentChanged``) go to every connection with a live feed
subscription as events happen; they are hints to refresh and are not
replayed on resume (the ``$/gastown/event`` stream is).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from ..beads.models import Event
from ..work.convoys import CONVOY_TYPE, convoys_tracking
from .subscriptions import Subscriptions

if TYPE_CHECKING:
    from .app import App, Connection

log = logging.getLogger("gastown.rpc.feed")

#: How often the watcher looks for other processes' commits (seconds).
POLL_S = 0.005
BATCH = 500
_encoder = msgspec.json.Encoder()
_AGENT_KINDS = ("session_started", "session_ended", "session_stopped", "handoff", "agent_state")
#: Work going on or off a hook changes what the agent (its assignee) is doing.
_HOOK_KINDS = ("hooked", "unhooked")


@dataclass(eq=False)
class FeedSubscription:
    id: int
    conn: Connection
    cursor: int
    kinds: frozenset[str] | None
    live: bool = False
    task: asyncio.Task | None = field(default=None, repr=False)

    def wants(self, event: Event) -> bool:
        return event.id > self.cursor and (self.kinds is None or event.kind in self.kinds)


class Feed(Subscriptions[FeedSubscription]):
    what = "feed subscription"

    def __init__(self, app: App) -> None:
        super().__init__()
        self.app = app
        self.cursor = 0
        self._task: asyncio.Task | None = None
        self._data_version = -1
        #: The watcher's poll interval (the dashboard, which has no sub-10 ms need, polls less often).
        self.poll_s = POLL_S
        #: Set while there are subscriptions: the watcher sleeps on it otherwise.
        self._wanted = asyncio.Event()

    # -- watcher ---------------------------------------------------------------------

    def start(self) -> None:
        led = self.app.ledger
        assert led is not None
        self.cursor = led.last_event_id()
        self._data_version = led.data_version()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # started from run() once the loop exists
        self._task = loop.create_task(self._watch())

    def ensure_running(self) -> None:
        if self.app.ledger is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _watch(self) -> None:
        led = self.app.ledger
        assert led is not None
        while True:
            if not self.subs:
                self._wanted.clear()
                await self._wanted.wait()
            await asyncio.sleep(self.poll_s)
            try:
                version = led.data_version()
                if version != self._data_version:
                    self._data_version = version
                    self.pump()
            except Exception:  # noqa: BLE001 - the watcher must outlive a bad moment
                log.exception("feed watcher")

    def pump(self) -> None:
        """Send every event after the watcher's cursor to the live subscribers."""
        led = self.app.ledger
        if led is None:
            return
        while True:
            events = led.events_since(self.cursor, limit=BATCH)
            if not events:
                return
            self.cursor = events[-1].id
            self._dispatch(events)
            if len(events) < BATCH:
                return

    def current_cursor(self) -> int:
        """The newest event id, also while the watcher sleeps (no subscribers)."""
        self.pump()
        return self.cursor

    def pump_safely(self) -> None:
        """:meth:`pump` after a call's work: a failure is logged (the watcher retries), not raised."""
        try:
            self.pump()
        except Exception:  # noqa: BLE001 - the call itself succeeded
            log.exception("feed pump after a call")

    def _dispatch(self, events: list[Event]) -> None:
        live = [s for s in self.subs.values() if s.live and not s.conn.closed]
        if not live:
            return
        for ev in events:
            for sub in live:
                if sub.wants(ev):
                    self._send(sub, ev)
                if ev.id > sub.cursor:
                    sub.cursor = ev.id
        conns = {s.conn for s in live}
        for method, params in self._derived(events):
            body = _encoder.encode({"jsonrpc": "2.0", "method": method, "params": params})
            for conn in conns:
                conn.send_bytes(body)

    @staticmethod
    def _send(sub: FeedSubscription, ev: Event) -> None:
        sub.conn.send_message(
            {"jsonrpc": "2.0", "method": "$/gastown/event", "params": {"subscription": sub.id, "event": ev}}
        )

    # -- derived notifications -------------------------------------------------------

    def _derived(self, events: list[Event]) -> list[tuple[str, dict]]:
        led = self.app.ledger
        assert led is not None
        ids = [e.bead_id for e in events if e.bead_id]
        mailed = [m for e in events for m in _mailed(e)]
        if not ids and not mailed:
            return []
        types = {
            bid: (t, assignee, sender, title)
            for bid, t, assignee, sender, title in _rows(
                led, "SELECT id, issue_type, assignee, sender, title FROM issues WHERE id IN ({})", ids + mailed
            )
        }
        tracking = convoys_tracking(led, ids)
        out: list[tuple[str, dict]] = []
        for ev in events:
            for message_id in _mailed(ev):  # mail sent inside a larger change (a merge, a landing)
                if message_id != ev.bead_id and types.get(message_id, ("",))[0] == "message":
                    out.append(_mail_arrived(message_id, types[message_id], ev.id))
            if not ev.bead_id:
                continue
            info = types.get(ev.bead_id)
            kind = info[0] if info else ev.payload.get("issue_type", "")
            convoys = list(tracking.get(ev.bead_id, ()))
            if kind == CONVOY_TYPE:
                convoys.insert(0, ev.bead_id)
            for convoy in convoys:
                out.append(
                    ("$/gastown/convoyChanged", {"convoy": convoy, "bead_id": ev.bead_id, "event_id": ev.id, "kind": ev.kind})
                )
            if kind == "message" and ev.kind == "created" and info:
                out.append(_mail_arrived(ev.bead_id, info, ev.id))
            if kind == "agent" or ev.kind in _AGENT_KINDS:
                agent = ev.payload.get("address") or ev.payload.get("agent") or ev.bead_id
                out.append(("$/gastown/agentChanged", {"agent": agent, "event_id": ev.id, "kind": ev.kind}))
            elif ev.kind in _HOOK_KINDS:
                agent = ev.payload.get("assignee") or (info[1] if info else "")
                if agent:
                    out.append(("$/gastown/agentChanged", {"agent": agent, "event_id": ev.id, "kind": ev.kind}))
        return out

    # -- subscriptions ---------------------------------------------------------------

    def subscribe(self, conn: Connection, cursor: int | None, kinds: list[str] | None) -> FeedSubscription:
        self.ensure_running()
        self.pump()  # so "now" means now
        if cursor is not None and cursor > self.cursor:
            from ..errors import InvalidInput

            # Silently waiting until ids pass it would drop every event up to there.
            raise InvalidInput(
                f"cursor {cursor} is past the newest event ({self.cursor}): this ledger is not the one the cursor"
                " came from; subscribe with cursor null (from now) or 0 (everything)"
            )
        start = self.cursor if cursor is None else cursor
        sub = FeedSubscription(self.next_id(), conn, start, frozenset(kinds) if kinds is not None else None)
        self.subs[sub.id] = sub
        self._wanted.set()
        if sub.cursor >= self.cursor:
            sub.live = True
        else:
            sub.task = conn.spawn(self._catch_up(sub))
        return sub

    async def _catch_up(self, sub: FeedSubscription) -> None:
        """Replay the backlog from the ledger, then join the live stream."""
        led = self.app.ledger
        assert led is not None
        await asyncio.sleep(0)  # let the subscribe response go out first
        while not sub.conn.closed and sub.id in self.subs:
            if sub.cursor >= self.cursor:
                sub.live = True
                return
            events = led.events_since(sub.cursor, limit=BATCH)
            before = sub.cursor
            for ev in events:
                if ev.id > self.cursor:
                    break
                if sub.wants(ev):
                    self._send(sub, ev)
                sub.cursor = ev.id
            if sub.cursor == before:
                sub.cursor = self.cursor  # nothing left between its cursor and the watcher's
            await sub.conn.drain()


def _mailed(ev: Event) -> list[str]:
    """Messages a change sent on the way (``Ledger.annotate("mail", id)``)."""
    ids = ev.payload.get("mail") if isinstance(ev.payload, dict) else None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def _mail_arrived(message_id: str, info: tuple, event_id: int) -> tuple[str, dict]:
    _type, to, sender, subject = info
    return ("$/gastown/mailArrived", {"id": message_id, "to": to, "sender": sender, "subject": subject, "event_id": event_id})


def _rows(led, sql_template: str, ids: list[str]):
    uniq = list(dict.fromkeys(ids))
    for i in range(0, len(uniq), 500):
        chunk = uniq[i : i + 500]
        yield from led.conn.execute(sql_template.format(",".join("?" * len(chunk))), chunk)
