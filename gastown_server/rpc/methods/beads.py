"""``bead/*``: the ledger itself."""

from __future__ import annotations

from msgspec import UNSET

from ...beads import browse, depgraph, edits
from ...beads.models import Bead, Dependency
from .. import types as t
from ..registry import method


@method("bead/show", t.BeadIdParams, Bead)
def show(call, p: t.BeadIdParams) -> Bead:
    """One bead with its labels, dependencies and comments."""
    return call.ledger.get(p.id, full=True)


@method("bead/list", t.BeadListParams, t.BeadPageResult)
def list_(call, p: t.BeadListParams) -> t.BeadPageResult:
    """Beads matching the filters (open ones by default), oldest first; with search, presets, sort and paging."""
    page = browse.browse(
        call.ledger,
        query=p.q,
        preset=p.preset,
        actor=call.actor,
        status=p.status,
        issue_type=p.type,
        assignee=p.assignee,
        label=p.label,
        parent=p.parent,
        prefix=p.prefix,
        include_closed=p.all,
        work_only=p.work_only,
        sort=p.sort,
        descending=p.desc,
        offset=p.offset,
        limit=p.limit,
    )
    return t.BeadPageResult(page.beads, page.total if p.count else None, p.offset)


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


_FIELDS = tuple(f for f in edits.EDITABLE if f != "issue_type")


def _changes(p, fields: tuple[str, ...]) -> dict:
    """The ``fields`` a call sets (UNSET ones are left alone); the wire's ``type`` is the ledger's ``issue_type``."""
    changes = {f: getattr(p, f) for f in fields if getattr(p, f) is not UNSET}
    if p.type is not UNSET:
        changes["issue_type"] = p.type
    return changes


@method("bead/update", t.BeadUpdateParams, Bead, mode="write")
def update(call, p: t.BeadUpdateParams) -> Bead:
    """Change the given fields, labels, or claim the bead; all in one transaction."""
    edits.edit(
        call.ledger,
        p.id,
        actor=call.actor,
        changes=_changes(p, _FIELDS),
        add_labels=p.add_labels,
        remove_labels=p.remove_labels,
        claim=p.claim,
    )
    return call.ledger.get(p.id, full=True)


@method("bead/bulkUpdate", t.BeadBulkUpdateParams, t.BeadBulkUpdateResult, mode="write")
def bulk_update(call, p: t.BeadBulkUpdateParams) -> t.BeadBulkUpdateResult:
    """The same status / priority / assignee / type / label change on many beads, all or nothing (one event per bead)."""
    beads = edits.bulk_edit(
        call.ledger,
        p.ids,
        actor=call.actor,
        changes=_changes(p, ("status", "priority", "assignee")),
        add_labels=p.add_labels,
        remove_labels=p.remove_labels,
        reason=p.reason,
    )
    return t.BeadBulkUpdateResult(beads, len(beads))


@method("bead/deps", t.BeadDepsParams, depgraph.DepTree)
def deps(call, p: t.BeadDepsParams) -> depgraph.DepTree:
    """A bead's blockers and dependents as trees (to ``depth``), and the graph of them laid out in layers."""
    return depgraph.tree(call.ledger, p.id, depth=p.depth, max_nodes=p.max_nodes)


@method("bead/depAdd", t.BeadDepAddParams, Dependency, mode="write")
def dep_add(call, p: t.BeadDepAddParams) -> Dependency:
    """Add a dependency: ``issue`` depends on ``depends_on`` (``bd dep add``).

    Refused, with nothing written, for an unknown bead (not found), a
    self-dependency or an unknown type (invalid input), a dependency already
    there or a blocking edge that would close a cycle (conflict: the message
    shows the cycle).
    """
    return call.ledger.add_dependency(p.issue, p.depends_on, actor=call.actor, dep_type=p.type, metadata=p.metadata)


@method("bead/depRemove", t.BeadDepRemoveParams, t.BeadDepRemoveResult, mode="write")
def dep_remove(call, p: t.BeadDepRemoveParams) -> t.BeadDepRemoveResult:
    """Remove the dependency ``issue`` -> ``depends_on`` (``bd dep remove``); not found if there is none."""
    kind = call.ledger.remove_dependency(p.issue, p.depends_on, actor=call.actor)
    return t.BeadDepRemoveResult(p.issue, p.depends_on, kind)


@method("bead/close", t.BeadCloseParams, Bead, mode="write")
def close(call, p: t.BeadCloseParams) -> Bead:
    """Close a bead with an optional reason (a parallel formula step whose last child it was closes too)."""
    from ...formulas.containers import close_step

    close_step(call.ledger, p.id, actor=call.actor, reason=p.reason)
    return call.ledger.get(p.id, full=True)
