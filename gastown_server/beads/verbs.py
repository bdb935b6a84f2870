"""Beads' one-line verbs over the ledger: defer, note, set-state, supersede, duplicate, count, kv.

Each is one transaction with one event (``ledger.mutation``), so a failure
half-way changes nothing.  ``bd`` is the adapter (cli/bd_verbs.py).
"""

from __future__ import annotations

from typing import Sequence

from ..errors import Conflict, InvalidInput, NotFound
from . import clock

KV_PREFIX = "kv."


def defer(ledger, bead_id: str, *, actor: str, until: str = "") -> object:
    """Status ``deferred`` (and ``defer_until`` when given: not ready before then)."""
    if until:
        try:
            clock.parse(until)
        except ValueError:
            raise InvalidInput(f"bad --until {until!r}: an RFC 3339 time (2026-12-24T09:00:00Z)") from None
    with ledger.mutation("deferred", actor, bead_id, {"until": until}):
        bead = ledger.get(bead_id)
        if bead.status in ("closed", "tombstone"):
            raise Conflict(f"{bead_id} is {bead.status}: nothing to defer")
        changes = {"status": "deferred"}
        if until:
            changes["defer_until"] = until
        return ledger.update(bead_id, actor=actor, **changes)


def undefer(ledger, bead_id: str, *, actor: str) -> object:
    with ledger.mutation("undeferred", actor, bead_id):
        bead = ledger.get(bead_id)
        if bead.status != "deferred" and not bead.defer_until:
            raise Conflict(f"{bead_id} is not deferred (status {bead.status})")
        changes: dict = {"defer_until": ""}
        if bead.status == "deferred":
            changes["status"] = "open"
        return ledger.update(bead_id, actor=actor, **changes)


def note(ledger, bead_id: str, text: str, *, actor: str) -> object:
    """Append a line to the bead's notes."""
    if not text.strip():
        raise InvalidInput("the note is empty")
    with ledger.mutation("noted", actor, bead_id):
        old = ledger.get(bead_id).notes
        return ledger.update(bead_id, actor=actor, notes=f"{old}\n{text}" if old else text)


def set_state(ledger, bead_id: str, dimension: str, value: str, *, actor: str, reason: str = "") -> object:
    """Beads' state labels: ``<dimension>:<value>`` replaces any other value of that dimension."""
    if not dimension or not value or ":" in dimension or any(c.isspace() for c in dimension + value):
        raise InvalidInput(f"bad state {dimension}={value}: use DIMENSION=VALUE (no spaces, no ':' in the dimension)")
    with ledger.mutation("state_set", actor, bead_id, {"dimension": dimension, "value": value}):
        ledger.get(bead_id)
        for lab in ledger.labels(bead_id):
            if lab.startswith(dimension + ":") and lab != f"{dimension}:{value}":
                ledger.remove_label(bead_id, lab, actor=actor)
        if f"{dimension}:{value}" not in ledger.labels(bead_id):
            ledger.add_label(bead_id, f"{dimension}:{value}", actor=actor)
        ledger.add_comment(bead_id, f"state {dimension}={value}" + (f": {reason}" if reason else ""), actor=actor)
        return ledger.get(bead_id)


def _replace(ledger, old: str, new: str, dep_type: str, reason: str, *, actor: str, kind: str) -> object:
    if old == new:
        raise InvalidInput(f"{old} cannot {dep_type.rstrip('s')} itself")
    with ledger.mutation(kind, actor, old, {"by": new}):
        ledger.get(new)
        bead = ledger.get(old)
        ledger.add_dependency(new if dep_type == "supersedes" else old, old if dep_type == "supersedes" else new,
                              dep_type=dep_type, actor=actor)  # fmt: skip
        if bead.status not in ("closed", "tombstone"):
            ledger.close(old, actor=actor, reason=reason)
        return ledger.get(old)


def supersede(ledger, old: str, new: str, *, actor: str) -> object:
    """``new`` supersedes ``old``: the dependency ``new -supersedes-> old``, and ``old`` closed."""
    return _replace(ledger, old, new, "supersedes", f"superseded by {new}", actor=actor, kind="superseded")


def duplicate(ledger, dup: str, canonical: str, *, actor: str) -> object:
    """``dup`` duplicates ``canonical``: the dependency ``dup -duplicates-> canonical``, and ``dup`` closed."""
    return _replace(ledger, dup, canonical, "duplicates", f"duplicate of {canonical}", actor=actor, kind="duplicated")


def count(ledger, *, status: Sequence[str] | None = None, issue_type: Sequence[str] | None = None,
          assignee: str | None = None, label: str | None = None, include_closed: bool = True,
          group_by: str = "") -> dict:
    """``{"count": n}``, and with ``group_by`` (status, type, priority, assignee, label) ``{"groups": {...}}``."""
    beads = ledger.list(status=list(status) if status else None, issue_type=list(issue_type) if issue_type else None,
                        assignee=assignee, label=label, include_closed=include_closed)  # fmt: skip
    beads = [b for b in beads if b.status != "tombstone"]
    out: dict = {"count": len(beads)}
    if group_by:
        groups: dict[str, int] = {}
        if group_by == "label":
            from ..work.mail import labels_of

            labels = labels_of(ledger, [b.id for b in beads])
            for b in beads:
                for lab in labels.get(b.id, ["(none)"]):
                    groups[lab] = groups.get(lab, 0) + 1
        else:
            attr = {"status": "status", "type": "issue_type", "priority": "priority", "assignee": "assignee"}.get(group_by)
            if attr is None:
                raise InvalidInput(f"cannot group by {group_by!r} (status, type, priority, assignee, label)")
            for b in beads:
                key = str(getattr(b, attr) if attr != "priority" else f"P{b.priority}") or "(none)"
                groups[key] = groups.get(key, 0) + 1
        out["groups"] = dict(sorted(groups.items()))
    return out


# -- kv: Beads' key-value store (ledger config under kv.) ------------------------------------


def _kv_key(key: str) -> str:
    if not key or any(c.isspace() for c in key):
        raise InvalidInput(f"bad key {key!r}: no spaces")
    return KV_PREFIX + key


def kv_set(ledger, key: str, value: str, *, actor: str) -> None:
    ledger.config_set(_kv_key(key), value, actor=actor)


def kv_get(ledger, key: str) -> str:
    value = ledger.config_get(_kv_key(key))
    if value is None:
        raise NotFound(f"no key {key!r} (bd kv list)")
    return value


def kv_list(ledger, prefix: str = "") -> dict[str, str]:
    return {k[len(KV_PREFIX):]: v for k, v in ledger.config_items(KV_PREFIX + prefix).items()}


def kv_delete(ledger, key: str, *, actor: str) -> bool:
    full = _kv_key(key)
    with ledger.mutation("config_deleted", actor, payload={"key": full}):
        cur = ledger.conn.execute("DELETE FROM config WHERE key = ?", (full,))
    return cur.rowcount > 0
