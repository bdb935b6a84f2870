"""Costs for the dashboard: what :mod:`gastown_server.costs` reports, or "no cost data".

The dashboard never reads session files itself: it shows what the costs
domain computes (one parser for everyone), without writing its records
(``write=False``: ``gt costs`` and the Stop hook keep them), at most every
``TTL_S`` seconds (session files grow without a ledger commit, so the
ledger's data version cannot tell when to recompute).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

TTL_S = 5.0


@dataclass
class CostView:
    available: bool = False
    #: Day labels (YYYY-MM-DD), oldest first, and per rig the cost (USD) on each day.
    days: list[str] = field(default_factory=list)
    per_rig_per_day: dict[str, list[float]] = field(default_factory=dict)
    #: (agent address, rig, USD), most expensive first.
    per_agent: list[tuple[str, str, float]] = field(default_factory=list)
    total_usd: float = 0.0
    warnings: list[str] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)

    def agent_cost(self, address: str) -> str:
        if not self.available:
            return "no cost data"
        from ..costs.report import format_usd

        for a, _rig, usd in self.per_agent:
            if a == address:
                return format_usd(usd)
        return "-"


def compute(town) -> CostView:
    from ..costs import report

    summary = report.summarize(town, "agent", write=False)
    if not summary.rows:
        return CostView()
    grid = report.by_rig_and_day(town, write=False)
    days = sorted({d for per_day in grid.values() for d in per_day})
    return CostView(
        available=True,
        days=days,
        per_rig_per_day={rig: [round(per_day.get(d, 0.0), 4) for d in days] for rig, per_day in sorted(grid.items())},
        per_agent=[(r.key, report._rig_of(r.key), r.cost_usd) for r in summary.rows],
        total_usd=summary.total.cost_usd,
        warnings=list(summary.warnings),
        unpriced=list(summary.unpriced_models),
    )


def load(dash) -> CostView:
    hit = getattr(dash, "_costs", None)
    now = time.monotonic()
    if hit is not None and now - hit[0] < TTL_S:
        return hit[1]
    view = compute(dash.town())
    dash._costs = (now, view)
    return view
