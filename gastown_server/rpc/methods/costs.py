"""``costs/summary``: what the agents cost (``gt costs``; docs/costs.md)."""

from __future__ import annotations

from ...costs.report import CostSummary, summarize
from .. import types as t
from ..registry import method


@method("costs/summary", t.CostSummaryParams, CostSummary, mode="async")
async def costs_summary(call, p: t.CostSummaryParams) -> CostSummary:
    """Tokens and US dollars of every session the town started, grouped ``by`` agent, rig, convoy or day.

    Read from the runtimes' own session files (new lines only) and priced by
    the built-in table with ``<town>/settings/costs.json`` over it.  Rows are
    by cost (by date for ``day``); ``warnings`` has one line per session file
    with unreadable lines (the rest counted); ``unpriced_models`` the models
    the table lacks (counted at $0).  Agent rows in ``agent/list``,
    ``agent/show`` and ``town/status`` carry ``cost_usd`` and ``tokens``.
    """
    return await call.app.in_town_thread(lambda town: summarize(town, p.by))
