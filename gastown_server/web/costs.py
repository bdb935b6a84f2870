"""Costs for the dashboard: what the town's cost records say, or "no cost data".

The dashboard never reads cost records itself: it shows what the domain's
cost functions return (one parser for everyone).  Until a gastown has them
every view says "no cost data".
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CostView:
    available: bool = False
    #: Day labels (YYYY-MM-DD), oldest first, and per rig the cost (USD) on each day.
    days: list[str] = field(default_factory=list)
    per_rig_per_day: dict[str, list[float]] = field(default_factory=dict)
    #: (agent address, rig, USD), most expensive first.
    per_agent: list[tuple[str, str, float]] = field(default_factory=list)

    def agent_cost(self, address: str) -> str:
        if not self.available:
            return "no cost data"
        for a, _rig, usd in self.per_agent:
            if a == address:
                return f"${usd:.2f}"
        return "$0.00"


def load(dash) -> CostView:
    return CostView()
