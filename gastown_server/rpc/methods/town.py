"""``town/status``: the town at a glance."""

from __future__ import annotations

from ...work import convoys
from .. import types as t
from ..registry import method


@method("town/status", t.NoParams, t.TownStatusResult)
def status(call, p: t.NoParams) -> t.TownStatusResult:
    """The town, the ledger's counts, convoys, the feed cursor and this server."""
    app = call.app
    ledger_status, convoy_counts = app.cached("town/status", lambda: _ledger_view(call.ledger))
    srv = app.status()
    return t.TownStatusResult(
        town=t.TownInfo(call.town_root.name, str(call.town_root)),
        cursor=app.feed.cursor,
        ledger=ledger_status,
        convoys=convoy_counts,
        server=t.ServerStatus(
            version=srv["version"],
            pid=srv["pid"],
            clients=srv["clients"],
            feed_subscriptions=app.feed.count(),
            transcript_subscriptions=app.transcripts.count(),
            uptime_s=srv["uptime_s"],
        ),
    )


def _ledger_view(ledger) -> tuple[t.LedgerStatus, t.ConvoyCounts]:
    with ledger.snapshot():
        s = ledger.stats()
        open_convoys = convoys.list_convoys(ledger, status="open")
    landed = sum(1 for c in open_convoys if c.landed)
    return (
        t.LedgerStatus(s["total"], s["by_status"], s["by_type"], s["ready"], s["blocked"]),
        t.ConvoyCounts(len(open_convoys), landed),
    )
