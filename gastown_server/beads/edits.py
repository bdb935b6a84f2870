"""Editing beads as an editor does: one bead's fields and labels, or many beads at once.

``edit`` is ``bead/update``'s body: the field changes, label changes and a
claim in one transaction and one event that says what changed.
``bulk_edit`` applies the same change to many beads in ONE transaction
(each bead keeps its own event, so every view of it refreshes): either all
of them change or, on the first refusal, none does.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InvalidInput
from .models import Bead
from .store import Ledger

#: Fields ``edit`` may change (Bead names; ``issue_type`` is the wire's ``type``).
EDITABLE = (
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
    "issue_type",
)
_COMPARED = frozenset(EDITABLE) | {"closed_at"}
#: Most beads one bulk change may touch (a bigger one is a script's job, not a click's).
BULK_MAX = 5000


def edit(
    led: Ledger,
    bead_id: str,
    *,
    actor: str,
    changes: dict[str, object] | None = None,
    add_labels: Sequence[str] = (),
    remove_labels: Sequence[str] = (),
    claim: bool = False,
    lenient_labels: bool = False,
) -> Bead:
    """Change fields and labels of one bead (one transaction, one event).

    ``lenient_labels``: adding a label the bead has, or removing one it
    lacks, is skipped instead of refused (a bulk change over beads that
    differ).
    """
    changes = dict(changes or {})
    with led.mutation("updated", actor, bead_id) as rec:
        old = led.get(bead_id)
        have = set(led.labels(bead_id)) if lenient_labels else set()
        add = [lab for lab in add_labels if not (lenient_labels and lab in have)]
        remove = [lab for lab in remove_labels if not lenient_labels or lab in have]
        if claim:
            led.claim(bead_id, actor=actor)
        if changes:
            led.update(bead_id, actor=actor, **changes)
        for lab in add:
            led.add_label(bead_id, lab, actor=actor)
        for lab in remove:
            led.remove_label(bead_id, lab, actor=actor)
        # One event for the whole call, saying what changed like the ledger's own.
        new = led.get(bead_id)
        diff = {f: [getattr(old, f), getattr(new, f)] for f in Bead.__struct_fields__ if f in _COMPARED}
        rec.payload["changes"] = {k: v for k, v in diff.items() if v[0] != v[1]}
        rec.payload.update(status=new.status, assignee=new.assignee)
        if add:
            rec.payload["labels_added"] = list(add)
        if remove:
            rec.payload["labels_removed"] = list(remove)
        if claim:
            rec.kind = "claimed"
        elif new.status != old.status:
            rec.kind = "closed" if new.status == "closed" else "status_changed"
    return new


def bulk_edit(
    led: Ledger,
    bead_ids: Sequence[str],
    *,
    actor: str,
    changes: dict[str, object] | None = None,
    add_labels: Sequence[str] = (),
    remove_labels: Sequence[str] = (),
    reason: str = "",
) -> list[Bead]:
    """The same change on every bead of ``bead_ids``, all or nothing.

    Closing goes through the formula-aware close (a parallel step whose
    last child closes, closes too) with ``reason``.
    """
    ids = list(dict.fromkeys(bead_ids))
    if not ids:
        raise InvalidInput("no beads given")
    if len(ids) > BULK_MAX:
        raise InvalidInput(f"{len(ids)} beads in one bulk change; at most {BULK_MAX}")
    changes = dict(changes or {})
    if not changes and not add_labels and not remove_labels:
        raise InvalidInput("nothing to change: give a field, add_labels or remove_labels")
    overlap = set(add_labels) & set(remove_labels)
    if overlap:
        raise InvalidInput(f"label(s) both added and removed: {', '.join(sorted(overlap))}")
    if "status" in changes:
        led.validate_status(str(changes["status"]))
    closing = changes.get("status") == "closed"
    if closing:
        changes.pop("status")
    from ..formulas.containers import close_step

    with led.atomic():
        # Refuse unknown ids by name before touching anything (the rollback
        # would undo it anyway; the message is the point).
        missing = [i for i in ids if not led.exists(i)]
        if missing:
            from ..errors import NotFound

            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise NotFound(f"no bead {shown}")
        for bead_id in ids:
            if changes or add_labels or remove_labels:
                edit(
                    led,
                    bead_id,
                    actor=actor,
                    changes=changes,
                    add_labels=add_labels,
                    remove_labels=remove_labels,
                    lenient_labels=True,
                )
            if closing and led.get(bead_id).status != "closed":
                close_step(led, bead_id, actor=actor, reason=reason)
    found = led.get_many(ids)
    from .browse import fill_labels

    out = [found[i] for i in ids]
    fill_labels(led, out)
    return out
