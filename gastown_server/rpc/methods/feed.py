"""``feed/*``: the activity feed, pushed as ``$/gastown/event``."""

from __future__ import annotations

from .. import types as t
from ..registry import method


@method("feed/subscribe", t.FeedSubscribeParams, t.FeedSubscribeResult)
def subscribe(call, p: t.FeedSubscribeParams) -> t.FeedSubscribeResult:
    """Receive every event after ``cursor`` (``null``: from now), in order, exactly once.

    Also turns on the derived notifications (convoyChanged, mailArrived,
    agentChanged) for this connection.  A reconnecting client passes the id
    of the last event it saw and misses nothing.
    """
    sub = call.app.feed.subscribe(call.conn, p.cursor, p.kinds)
    return t.FeedSubscribeResult(sub.id, call.app.feed.cursor)


@method("feed/unsubscribe", t.UnsubscribeParams, t.UnsubscribeResult)
def unsubscribe(call, p: t.UnsubscribeParams) -> t.UnsubscribeResult:
    """Stop a feed subscription of this connection."""
    return t.UnsubscribeResult(call.app.feed.unsubscribe(call.conn, p.subscription))


@method("feed/recent", t.FeedRecentParams, t.FeedRecentResult)
def recent(call, p: t.FeedRecentParams) -> t.FeedRecentResult:
    """The newest events (``limit``, oldest first), patrol noise left out unless ``noise``.

    What a feed view shows when it opens, before pushed events follow; ``rig``
    keeps one rig's (its agents' and its beads'), ``kind`` one kind.  The same
    filter as the dashboard's feed (work.activity.news).
    """
    from ...work import activity

    cursor = call.app.feed.current_cursor()
    rig = call.app.town_for(call.ledger).rig(p.rig) if p.rig else None
    events = activity.news(call.ledger, limit=p.limit, kind=p.kind, rig=rig, noise=p.noise)
    return t.FeedRecentResult([e for e in reversed(events) if e.id <= cursor], cursor)
