"""``convoy/*``: convoys and the beads they track."""

from __future__ import annotations

from ...beads.models import Bead
from ...work import convoys
from .. import types as t
from ..registry import method


@method("convoy/list", t.ConvoyListParams, t.ConvoyListResult)
def list_(call, p: t.ConvoyListParams) -> t.ConvoyListResult:
    """Convoys with their progress (open ones by default)."""
    return t.ConvoyListResult(convoys.list_convoys(call.ledger, status=p.status, limit=p.limit))


@method("convoy/tree", t.BeadIdParams, convoys.ConvoyTree)
def tree(call, p: t.BeadIdParams) -> convoys.ConvoyTree:
    """A convoy and every bead it tracks, with progress."""
    return convoys.tree(call.ledger, p.id)


@method("convoy/create", t.ConvoyCreateParams, Bead, mode="write")
def create(call, p: t.ConvoyCreateParams) -> Bead:
    """Create a convoy tracking the given beads (all exist, or nothing is created)."""
    bead = convoys.create(call.ledger, p.title, p.tracked, actor=call.actor, description=p.description, labels=p.labels)
    return call.ledger.get(bead.id, full=True)


@method("convoy/add", t.ConvoyAddParams, convoys.ConvoyTree, mode="write")
def add(call, p: t.ConvoyAddParams) -> convoys.ConvoyTree:
    """Track more beads (all exist, or nothing changes); a landed convoy reopens. Returns the new tree."""
    convoys.add(call.ledger, p.id, p.tracked, actor=call.actor)
    return convoys.tree(call.ledger, p.id)


@method("convoy/land", t.ConvoyLandParams, convoys.ConvoyTree, mode="write")
def land(call, p: t.ConvoyLandParams) -> convoys.ConvoyTree:
    """Close a finished convoy and mail CONVOY_LANDED to the Overseer and the Mayor (refused while work is open, unless force)."""
    return convoys.land(call.ledger, p.id, actor=call.actor, force=p.force)


@method("convoy/check", t.NoParams, t.ConvoyCheckResult, mode="write")
def check(call, p: t.NoParams) -> t.ConvoyCheckResult:
    """Land every finished convoy; report stranded work (tracked, ready, nobody on it)."""
    landed = convoys.land_finished(call.ledger, actor=call.actor)
    return t.ConvoyCheckResult(landed, convoys.stranded(call.ledger))
