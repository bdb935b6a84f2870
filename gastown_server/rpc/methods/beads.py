"""``bead/*``: the ledger itself."""

from __future__ import annotations

from msgspec import UNSET

from ...beads.models import Bead
from .. import types as t
from ..registry import method


@method("bead/show", t.BeadIdParams, Bead)
def show(call, p: t.BeadIdParams) -> Bead:
    """One bead with its labels, dependencies and comments."""
    return call.ledger.get(p.id, full=True)


@method("bead/list", t.BeadListParams, t.BeadsResult)
def list_(call, p: t.BeadListParams) -> t.BeadsResult:
    """Beads matching the filters (open ones by default), oldest first."""
    beads = call.ledger.list(
        status=p.status,
        issue_type=p.type,
        assignee=p.assignee,
        label=p.label,
        parent=p.parent,
        prefix=p.prefix,
        include_closed=p.all,
        limit=p.limit,
    )
    return t.BeadsResult(beads)


@method("bead/ready", t.BeadReadyParams, t.BeadsResult)
def ready(call, p: t.BeadReadyParams) -> t.BeadsResult:
    """Ready work: open, unblocked, not deferred; Beads' order."""
    beads = call.ledger.ready(
        limit=p.limit,
        assignee=p.assignee,
        unassigned=p.unassigned,
        issue_type=p.type,
        label=p.label,
        priority=p.priority,
        parent=p.parent,
    )
    return t.BeadsResult(beads)


@method("bead/create", t.BeadCreateParams, Bead, mode="write")
def create(call, p: t.BeadCreateParams) -> Bead:
    """Create a bead (one transaction: the bead, its labels and dependencies, one event)."""
    extra = {
        k: v
        for k, v in (
            ("design", p.design),
            ("acceptance_criteria", p.acceptance_criteria),
            ("notes", p.notes),
            ("external_ref", p.external_ref),
        )
        if v
    }
    bead = call.ledger.create(
        p.title,
        actor=call.actor,
        description=p.description,
        issue_type=p.type,
        priority=p.priority,
        status=p.status,
        assignee=p.assignee,
        parent=p.parent,
        labels=p.labels,
        deps=[(d.type, d.id) for d in p.deps],
        prefix=p.prefix,
        bead_id=p.id,
        ephemeral=p.ephemeral,
        **extra,
    )
    return call.ledger.get(bead.id, full=True)


_FIELDS = (
    "title",
    "description",
    "design",
    "acceptance_criteria",
    "notes",
    "status",
    "priority",
    "assignee",
    "external_ref",
    "defer_until",
    "due_at",
)


@method("bead/update", t.BeadUpdateParams, Bead, mode="write")
def update(call, p: t.BeadUpdateParams) -> Bead:
    """Change the given fields, labels, or claim the bead; all in one transaction."""
    led = call.ledger
    changes = {f: getattr(p, f) for f in _FIELDS if getattr(p, f) is not UNSET}
    if p.type is not UNSET:
        changes["issue_type"] = p.type
    with led.mutation("updated", call.actor, p.id) as rec:
        old = led.get(p.id)
        if p.claim:
            led.claim(p.id, actor=call.actor)
        if changes:
            led.update(p.id, actor=call.actor, **changes)
        for label in p.add_labels:
            led.add_label(p.id, label, actor=call.actor)
        for label in p.remove_labels:
            led.remove_label(p.id, label, actor=call.actor)
        # One event for the whole call, saying what changed like the ledger's own.
        new = led.get(p.id)
        diff = {f: [getattr(old, f), getattr(new, f)] for f in Bead.__struct_fields__ if f in _COMPARED}
        rec.payload["changes"] = {k: v for k, v in diff.items() if v[0] != v[1]}
        rec.payload.update(status=new.status, assignee=new.assignee)
        if p.add_labels:
            rec.payload["labels_added"] = list(p.add_labels)
        if p.remove_labels:
            rec.payload["labels_removed"] = list(p.remove_labels)
        if p.claim:
            rec.kind = "claimed"
        elif new.status != old.status:
            rec.kind = "closed" if new.status == "closed" else "status_changed"
    return led.get(p.id, full=True)


_COMPARED = frozenset(_FIELDS) | {"issue_type", "closed_at"}


@method("bead/close", t.BeadCloseParams, Bead, mode="write")
def close(call, p: t.BeadCloseParams) -> Bead:
    """Close a bead with an optional reason (a parallel formula step whose last child it was closes too)."""
    from ...formulas.containers import close_step

    close_step(call.ledger, p.id, actor=call.actor, reason=p.reason)
    return call.ledger.get(p.id, full=True)
