"""``town/status``: the town at a glance."""

from __future__ import annotations

import msgspec

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
    from ...patrol.daemon import status_of
    from ...runtime.nudge import last_failures
    from ...town.status import TmuxStatus, agent_rows

    app = call.app
    sessions = await app.sessions_async(town)
    agents = agent_rows(town, sessions)
    try:
        failures = [msgspec.to_builtins(f) for f in last_failures(town.state_dir)]
    except OSError:
        failures = []
    return t.TownFullStatus(
        rigs=list(town.rigs()),
        agents=agents,
        tmux=TmuxStatus(socket=town.socket, running=app._snapshot_running, session_count=len(sessions)),
        daemon=msgspec.to_builtins(status_of(town.root)),
        nudge_failures=failures,
        other_sessions=sorted(set(sessions) - {a.session for a in agents}),
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
