"""The ledger's records, as msgspec Structs, and Beads' vocabularies.

Field names are Beads' JSON names (SPEC.md), so a Struct encodes straight
to the classic JSONL object shape.  Empty values are omitted on encode
(``omit_defaults``), which is what keeps exports small and diffs minimal.
"""

from __future__ import annotations

import msgspec

STATUSES = (
    "open",
    "in_progress",
    "blocked",
    "deferred",
    "closed",
    "pinned",
    "hooked",
    "tombstone",
)

ISSUE_TYPES = (
    "bug",
    "feature",
    "task",
    "epic",
    "chore",
    "decision",
    "spike",
    "story",
    "milestone",
    "message",
    "molecule",
    "gate",
    "event",
    "agent",
    "role",
    "rig",
    "convoy",
    "merge-request",
)

#: Ledger config keys declaring more statuses / issue types (Beads' names),
#: comma-separated: ``bd config set status.custom "review,qa"``.  A custom
#: status is never ready work and never counts as done (it blocks).
CUSTOM_STATUSES_KEY = "status.custom"
CUSTOM_TYPES_KEY = "types.custom"


def _names(value: str | None) -> list[str]:
    return [n.strip() for n in (value or "").replace("\n", ",").split(",") if n.strip()]


def vocabulary(*configs: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(statuses, issue types): the built-ins, then every config's custom ones."""
    statuses, types = dict.fromkeys(STATUSES), dict.fromkeys(ISSUE_TYPES)
    for config in configs:
        statuses.update(dict.fromkeys(_names(config.get(CUSTOM_STATUSES_KEY))))
        types.update(dict.fromkeys(_names(config.get(CUSTOM_TYPES_KEY))))
    return tuple(statuses), tuple(types)


#: Dependency kinds that affect readiness.
BLOCKING_DEP_TYPES = ("blocks", "parent-child", "conditional-blocks", "waits-for")
#: Annotations: recorded and exported, never block anything.
NON_BLOCKING_DEP_TYPES = (
    "related",
    "relates-to",
    "tracks",
    "discovered-from",
    "caused-by",
    "validates",
    "supersedes",
    "duplicates",
    "replies-to",
    "until",
    "delegated-from",
    "authored-by",
    "assigned-to",
    "approved-by",
)
DEP_TYPES = BLOCKING_DEP_TYPES + NON_BLOCKING_DEP_TYPES

#: Types that are never ready work (infrastructure beads).
NON_WORK_TYPES = ("merge-request", "gate", "molecule", "message", "agent", "role", "rig")

#: Statuses a blocker may have without blocking anything.  Tombstones are
#: deleted beads: like Beads, we do not let a deleted bead block.
DONE_STATUSES = ("closed", "pinned", "tombstone")

PRIORITY_MIN, PRIORITY_MAX, PRIORITY_DEFAULT = 0, 4, 2


def _always(value):
    """A default msgspec never omits: for Go fields without ``omitempty``.

    ``omit_defaults`` drops a field equal to its default; a default_factory
    that is not an empty-collection builtin is never dropped (pinned by
    tests/beads/test_go_shape.py).  Beads' readers take an absent field as
    Go's zero value, so a field without omitempty (``priority``: absent
    means P0) or whose default is not Go's zero (``status`` "open",
    ``issue_type`` "task") must always be written.
    """
    return lambda: value


#: What Go's encoding/json writes for a zero ``time.Time`` (no omitempty).
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


class Dependency(msgspec.Struct, omit_defaults=True):
    """``issue_id`` depends on ``depends_on_id`` with the given ``type``.

    Beads' Dependency: ``type`` and ``created_at`` have no omitempty.
    """

    issue_id: str
    depends_on_id: str
    type: str = msgspec.field(default_factory=_always("blocks"))
    created_at: str = msgspec.field(default_factory=_always(""))
    created_by: str = ""
    metadata: str = ""


class Comment(msgspec.Struct, omit_defaults=True):
    id: int
    issue_id: str
    author: str
    text: str
    created_at: str


class Bead(msgspec.Struct, omit_defaults=True):
    """One ledger record.  ``issue_type`` is Beads' name for the type.

    Fields are in the order of Beads' Go ``types.Issue`` struct (then
    ``IssueWithCounts``' counts), so the classic JSONL shape encodes as Go's
    encoder writes it; a plain default is Go's zero value and stands for
    ``omitempty``; ``_always`` marks the fields Go always writes.  The
    field-by-field table is docs/beads-interop.md ("Field presence").
    Keys of Beads' struct that are not columns here are kept verbatim per
    bead by the JSONL import (issues.extra) and written back on export.
    """

    id: str
    title: str
    description: str = ""
    design: str = ""
    acceptance_criteria: str = ""
    notes: str = ""
    status: str = msgspec.field(default_factory=_always("open"))
    priority: int = msgspec.field(default_factory=_always(PRIORITY_DEFAULT))
    issue_type: str = msgspec.field(default_factory=_always("task"))
    assignee: str = ""
    owner: str = ""
    created_at: str = msgspec.field(default_factory=_always(""))
    created_by: str = ""
    updated_at: str = msgspec.field(default_factory=_always(""))
    closed_at: str = ""
    close_reason: str = ""
    due_at: str = ""
    defer_until: str = ""
    external_ref: str = ""
    parent: str = ""
    metadata: str = ""
    # Embedded collections of the classic JSONL shape.
    labels: list[str] = msgspec.field(default_factory=list)
    dependencies: list[Dependency] = msgspec.field(default_factory=list)
    comments: list[Comment] = msgspec.field(default_factory=list)
    deleted_at: str = ""
    deleted_by: str = ""
    delete_reason: str = ""
    original_type: str = ""
    sender: str = ""
    ephemeral: bool = False
    wisp_type: str = ""
    pinned: bool = False
    await_type: str = ""
    await_id: str = ""
    #: A Go ``time.Duration``: integer nanoseconds.
    timeout: int = 0
    hook_bead: str = ""
    role_bead: str = ""
    agent_state: str = ""
    last_activity: str = ""
    mol_type: str = ""
    dependency_count: int = msgspec.field(default_factory=_always(0))
    dependent_count: int = msgspec.field(default_factory=_always(0))
    comment_count: int = msgspec.field(default_factory=_always(0))


#: The embedded collections and counts: not columns of ``issues``.
COLLECTION_FIELDS = ("labels", "dependencies", "comments", "dependency_count", "dependent_count", "comment_count")

#: Bead columns stored in the ``issues`` table, in table order.
BEAD_COLUMNS = tuple(f for f in Bead.__struct_fields__ if f not in COLLECTION_FIELDS)
#: BEAD_COLUMNS as SELECT expressions: ledgers made before schema 3 hold
#: ``timeout`` in a TEXT column, whose values read back as strings.
BEAD_SELECT = ", ".join("CAST(timeout AS INTEGER) AS timeout" if c == "timeout" else c for c in BEAD_COLUMNS)


class Event(msgspec.Struct, omit_defaults=True):
    """One row of the activity feed; ``id`` is the resumable cursor."""

    id: int
    at: str
    actor: str
    kind: str
    bead_id: str = ""
    payload: dict = msgspec.field(default_factory=dict)
