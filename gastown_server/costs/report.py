"""What the town's agents cost: ``gt costs``, ``gt status``, ``costs/summary`` and the agent views.

Every session the town started (``session_started`` events) whose runtime
writes session files gastown reads (``RuntimePreset.log_format``) is
refreshed (``sessions.refresh``: new lines only) and priced
(``pricing.load``).  Grouped ``--by``:

* ``agent``: the session's address;
* ``rig``: the address's rig, ``town`` for the Mayor, Deacon and dogs;
* ``convoy``: the convoy tracking a bead the session had on its hook (the
  first by id when several do), ``none`` without one;
* ``day``: the UTC day of each model reply.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from ..errors import InvalidInput
from . import pricing, sessions
from .usage import Usage

GROUPS = ("agent", "rig", "convoy", "day")


class CostRow(msgspec.Struct, omit_defaults=False):
    key: str
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    #: Model replies counted.
    requests: int = 0
    sessions: int = 0
    models: list[str] = []
    #: Some of its tokens are of a model the price table does not know (counted at $0).
    unpriced: bool = False

    def add(self, model: str, u: Usage, cost: float | None) -> None:
        self.input_tokens += u.input_tokens
        self.output_tokens += u.output_tokens
        self.cache_read_tokens += u.cache_read_tokens
        self.cache_write_tokens += u.cache_write_tokens
        self.requests += u.requests
        if model not in self.models:
            self.models.append(model)
        if cost is None:
            self.unpriced = True
        else:
            self.cost_usd += cost


class CostSummary(msgspec.Struct, omit_defaults=False):
    by: str
    rows: list[CostRow]
    total: CostRow
    currency: str = "USD"
    #: Models seen that have no price (override in settings/costs.json).
    unpriced_models: list[str] = []
    #: One line per session file with unreadable lines (the rest of it was counted).
    warnings: list[str] = []


def _rig_of(address: str) -> str:
    from ..town.identity import parse_address

    try:
        _role, rig, _name = parse_address(address)
    except InvalidInput:
        return "unknown"
    return rig or "town"


def _formats(town) -> dict[str, str]:
    """Runtime name -> log format, for the runtimes this town can name (a removed one: its preset's)."""
    from ..runtime.runtimes import PRESETS
    from ..town import config

    out = {name: p.log_format for name, p in PRESETS.items()}
    for name in config.known_agents(town.config):
        try:
            out[name] = config.resolve_agent(town.config, name).log_format
        except Exception:  # a broken agent entry must not hide the rest of the costs
            continue
    return out


def session_costs(town, *, write: bool = True) -> list[sessions.SessionCost]:
    """Every priced-runtime session's record, refreshed (oldest first)."""
    from ..town.lifecycle import all_sessions

    formats = _formats(town)
    out = []
    for rec in all_sessions(town):
        fmt = formats.get(rec.runtime, "")
        if not fmt or not rec.session_id:
            continue
        try:
            out.append(sessions.refresh(town.state_dir, rec, fmt, write=write))
        except ValueError:  # a session id that cannot name a file: not one of ours
            continue
    return out


def _key(by: str, r: sessions.SessionCost, day: str, convoy_of: dict[str, str]) -> str:
    if by == "agent":
        return r.address or "unknown"
    if by == "rig":
        return _rig_of(r.address)
    if by == "day":
        return day
    return convoy_of.get(r.session_id, "none")


def summarize(town, by: str = "agent", *, write: bool = True) -> CostSummary:
    if by not in GROUPS:
        raise InvalidInput(f"bad --by {by!r} (one of {', '.join(GROUPS)})")
    table = pricing.load(town.root)
    records = session_costs(town, write=write)
    convoy_of: dict[str, str] = {}
    if by == "convoy":
        from ..work.convoys import convoys_tracking

        tracking = convoys_tracking(town.ledger, [h for r in records for h in r.hook])
        for r in records:
            found = sorted(c for h in r.hook for c in tracking.get(h, []))
            convoy_of[r.session_id] = found[0] if found else "none"
    rows: dict[str, CostRow] = {}
    total = CostRow(key="total")
    unpriced: set[str] = set()
    warnings = []
    for r in records:
        for f in r.files:
            if f.bad_lines:
                warnings.append(f"{f.first_bad} ({f.bad_lines} unreadable line(s) skipped; the rest counted)")
        touched: set[str] = set()
        for day, models in sorted(r.usage_by_day_model().items()):
            key = _key(by, r, day, convoy_of)
            row = rows.setdefault(key, CostRow(key=key))
            for model, u in sorted(models.items()):
                cost = table.cost(model, u)
                if cost is None:
                    unpriced.add(model)
                row.add(model, u, cost)
                total.add(model, u, cost)
            if key not in touched:
                touched.add(key)
                row.sessions += 1
        if touched:
            total.sessions += 1
    for row in [*rows.values(), total]:
        row.cost_usd = round(row.cost_usd, 6)
    ordered = sorted(rows.values(), key=lambda r: r.key if by == "day" else (-r.cost_usd, r.key))
    return CostSummary(by=by, rows=ordered, total=total, unpriced_models=sorted(unpriced), warnings=warnings)


def by_agent(town, *, write: bool = True) -> dict[str, CostRow]:
    """Address -> its cost row (for ``gt status`` and the agent views)."""
    return {r.key: r for r in summarize(town, "agent", write=write).rows}


def record(town, session_id: str) -> sessions.SessionCost | None:
    """``gt costs record``: refresh one session's record now (the Stop hook); None if not a priced session."""
    from ..town.lifecycle import find_session
    from ..work.hooks import hooked_work

    rec = find_session(town, session_id)
    fmt = _formats(town).get(rec.runtime, "")
    if not fmt:
        return None
    hook = [b.id for b in hooked_work(town.ledger, rec.address)] if rec.address else []
    return sessions.refresh(town.state_dir, rec, fmt, hook=hook)


def format_usd(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def records_dir(town) -> Path:
    return Path(town.state_dir) / sessions.COSTS_DIR


def by_rig_and_day(town, *, write: bool = True) -> dict[str, dict[str, float]]:
    """Rig -> UTC day -> USD (unpriced models count $0), from the same records and prices as
    :func:`summarize` (the dashboard's cost-per-rig-per-day picture)."""
    table = pricing.load(town.root)
    out: dict[str, dict[str, float]] = {}
    for r in session_costs(town, write=write):
        days = out.setdefault(_rig_of(r.address), {})
        for day, models in r.usage_by_day_model().items():
            for model, u in models.items():
                days[day] = days.get(day, 0.0) + (table.cost(model, u) or 0.0)
    return out
