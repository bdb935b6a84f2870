"""``sling``: put a bead or a formula on a worker's hook (``gt sling`` for the editors).

Thin over :func:`gastown_server.work.sling.sling`; it may start a polecat's
tmux session or nudge an agent, so it runs on a worker thread with its own
Town (and ledger connection).
"""

from __future__ import annotations

import msgspec

from ...errors import InvalidInput, NotFound
from ...work import sling as sling_mod
from ...work import sling_candidates
from ..registry import method
from ..types import Limit, Params


class SlingParams(Params):
    """Exactly one of ``bead`` and ``formula``."""

    #: A bead id to sling.
    bead: str | None = None
    #: A formula name: poured, and its molecule root slung.
    formula: str | None = None
    #: A rig (spawns a polecat) or an agent address (``mayor``, ``<rig>/crew/<name>``, ...); default: the session's actor.
    target: str | None = None
    #: Formula variables: the slung formula's, or (bead to a rig) the polecat's ``mol-polecat-work``'s.
    vars: dict[str, str] = msgspec.field(default_factory=dict)
    #: Record and hook everything but start no session (nor nudge).
    no_start: bool = False


@method("sling", SlingParams, sling_mod.SlingResult, mode="async")
async def sling(call, p: SlingParams) -> sling_mod.SlingResult:
    """Sling a bead or formula: a rig target spawns a polecat (worktree, hook, work molecule, session); an agent gets it hooked and nudged.

    Work no convoy tracks gets one (``convoy_created``).  The ledger changes
    in one transaction before any session starts; bad input (unknown or
    closed bead, unknown formula, rig or agent, malformed address, work
    already hooked) is an error and changes nothing.  If the polecat's
    session fails to start, the error says so and the work stays hooked
    (the daemon revives the polecat).
    """
    if (p.bead is None) == (p.formula is None):
        raise InvalidInput("give exactly one of bead and formula")
    what = (p.bead if p.bead is not None else p.formula).strip()

    def work(town):
        if p.bead is not None and not town.ledger.exists(what):
            raise NotFound(f"no bead {what!r}")
        if p.formula is not None and not sling_mod.is_formula(town, what, p.target):
            raise NotFound(f"no formula {what!r} (see formula/list)")
        return sling_mod.sling(town, what, p.target, vars=p.vars, actor=call.actor, start=not p.no_start)

    return await call.app.in_town_thread(work)


class SlingCandidatesParams(Params):
    #: Also list molecule steps and patrol formulas (after the real work, marked ``internal``).
    include_internal: bool = False
    limit: Limit = 200


class SlingCandidatesResult(msgspec.Struct):
    candidates: list[sling_candidates.SlingCandidate]


@method("sling/candidates", SlingCandidatesParams, SlingCandidatesResult)
def candidates(call, p: SlingCandidatesParams) -> SlingCandidatesResult:
    """What a sling picker offers: ready beads, then formulas; molecule steps and patrol formulas only with ``include_internal``."""
    return SlingCandidatesResult(sling_candidates.candidates(call.ledger, call.town_root,
                                                             include_internal=p.include_internal, limit=p.limit))
