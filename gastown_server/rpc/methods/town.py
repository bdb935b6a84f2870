"""``town/status``: the town at a glance."""

from __future__ import annotations

from ...work import convoys
from .. import types as t
from ..registry import method


@method("town/status", t.NoParams, t.TownStatusResult, mode="async")
async def status(call, p: t.NoParams) -> t.TownStatusResult:
    """The town, the ledger's counts, convoys, the feed cursor and this server."""
    app = call.app
    full = await _full_status(call)  # first: it waits for tmux, and the counts must not be older than it
    ledger_status, convoy_counts = app.cached("town/status", lambda: _ledger_view(call.ledger))
    srv = app.status()
    return t.TownStatusResult(
        town=t.TownInfo(app.town_name(), str(call.town_root)),
        cursor=app.feed.current_cursor(),
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
        status=full,
    )


async def _full_status(call) -> t.TownFullStatus | None:
    """Rigs, agents, tmux and daemon, as ``gt status`` shows them (None for a ledger-only town)."""
    from ...errors import NoTown

    try:
        town = call.app.town_for(call.ledger)
    except NoTown:
        return None
    from ...town.rig_state import is_parked
    from ...town.status import status_from

    app = call.app
    st = status_from(town, await app.sessions_async(town), tmux_running=app._snapshot_running)
    return t.TownFullStatus(
        rigs=st.rigs, agents=st.agents, tmux=st.tmux, daemon=st.daemon,
        nudge_failures=st.nudge_failures, other_sessions=st.other_sessions, cost_usd=st.cost_usd,
        costs_error=st.costs_error, parked_rigs=[r.name for r in st.rigs if is_parked(call.ledger, r.name)],
    )  # fmt: skip


def _ledger_view(ledger) -> tuple[t.LedgerStatus, t.ConvoyCounts]:
    with ledger.snapshot():
        s = ledger.stats()
        open_convoys = convoys.list_convoys(ledger, status="open")
    landed = sum(1 for c in open_convoys if c.landed)
    return (
        t.LedgerStatus(s["total"], s["by_status"], s["by_type"], s["ready"], s["blocked"]),
        t.ConvoyCounts(len(open_convoys), landed),
    )
