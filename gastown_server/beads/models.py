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


def _default_priority() -> int:
    return PRIORITY_DEFAULT


class Dependency(msgspec.Struct, omit_defaults=True):
    """``issue_id`` depends on ``depends_on_id`` with the given ``type``."""

    issue_id: str
    depends_on_id: str
    type: str = "blocks"
    created_at: str = ""
    created_by: str = ""
    metadata: str = ""


class Comment(msgspec.Struct, omit_defaults=True):
    id: int
    issue_id: str
    author: str
    text: str
    created_at: str


class Bead(msgspec.Struct, omit_defaults=True):
    """One ledger record.  ``issue_type`` is Beads' name for the type."""

    id: str
    title: str
    description: str = ""
    design: str = ""
    acceptance_criteria: str = ""
    notes: str = ""
    status: str = "open"
    # Beads' ``Priority int `json:"priority"``` has no omitempty: a reader
    # takes an absent priority as 0 (P0), so it must always be written.  A
    # default_factory that is not an empty-collection builtin is never
    # omitted by msgspec's omit_defaults (tests/beads/test_jsonl.py checks).
    priority: int = msgspec.field(default_factory=_default_priority)
    issue_type: str = "task"
    assignee: str = ""
    owner: str = ""
    created_by: str = ""
    created_at: str = ""
    updated_at: str = ""
    closed_at: str = ""
    close_reason: str = ""
    external_ref: str = ""
    ephemeral: bool = False
    pinned: bool = False
    parent: str = ""
    sender: str = ""
    hook_bead: str = ""
    role_bead: str = ""
    agent_state: str = ""
    last_activity: str = ""
    mol_type: str = ""
    wisp_type: str = ""
    await_type: str = ""
    await_id: str = ""
    timeout: str = ""
    defer_until: str = ""
    due_at: str = ""
    metadata: str = ""
    deleted_at: str = ""
    deleted_by: str = ""
    delete_reason: str = ""
    original_type: str = ""
    # Embedded collections of the classic JSONL shape.
    labels: list[str] = msgspec.field(default_factory=list)
    dependencies: list[Dependency] = msgspec.field(default_factory=list)
    comments: list[Comment] = msgspec.field(default_factory=list)
    dependency_count: int = 0
    dependent_count: int = 0
    comment_count: int = 0


#: Bead columns stored in the ``issues`` table, in table order.
BEAD_COLUMNS = tuple(
    f
    for f in Bead.__struct_fields__
    if f not in ("labels", "dependencies", "comments", "dependency_count", "dependent_count", "comment_count")
)


class Event(msgspec.Struct, omit_defaults=True):
    """One row of the activity feed; ``id`` is the resumable cursor."""

    id: int
    at: str
    actor: str
    kind: str
    bead_id: str = ""
    payload: dict = msgspec.field(default_factory=dict)
