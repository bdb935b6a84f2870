"""Beads' Go ``types.Issue`` as its JSON encoder writes it: key order, omitempty, types.

Written from our knowledge of steveyegge/beads ``internal/types`` (the
``Issue`` struct and ``IssueWithCounts``), not from its source at a pinned
version: docs/beads-interop.md ("Field presence") says where we are unsure.
Our ``Bead`` Struct models the keys marked ``column``; the others are kept
verbatim per bead by the JSONL import (``issues.extra``) and written back
where Go would put them.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec


class GoField(NamedTuple):
    key: str
    go_type: str
    omitempty: bool
    #: A column of ours (a ``Bead`` field); else kept in ``issues.extra``.
    column: bool


def _f(key: str, go_type: str, omitempty: bool = True, column: bool = True) -> GoField:
    return GoField(key, go_type, omitempty, column)


#: Beads' Issue fields in struct order (``json:"-"`` ones left out), then the
#: counts of IssueWithCounts (embedded ``*Issue`` first, so they come last).
ISSUE_FIELDS: tuple[GoField, ...] = (
    _f("id", "string", omitempty=False),
    _f("title", "string", omitempty=False),
    _f("description", "string"),
    _f("design", "string"),
    _f("acceptance_criteria", "string"),
    _f("notes", "string"),
    _f("spec_id", "string", column=False),
    _f("status", "Status (string)"),
    _f("priority", "int", omitempty=False),
    _f("issue_type", "IssueType (string)"),
    _f("assignee", "string"),
    _f("owner", "string"),
    _f("estimated_minutes", "*int", column=False),
    _f("created_at", "time.Time", omitempty=False),
    _f("created_by", "string"),
    _f("updated_at", "time.Time", omitempty=False),
    _f("closed_at", "*time.Time"),
    _f("close_reason", "string"),
    _f("closed_by_session", "string", column=False),
    _f("due_at", "*time.Time"),
    _f("defer_until", "*time.Time"),
    _f("external_ref", "*string"),
    _f("source_system", "string", column=False),
    _f("parent", "string (SPEC.md; not in the struct as we know it)"),
    _f("metadata", "json.RawMessage"),
    _f("compaction_level", "int", column=False),
    _f("compacted_at", "*time.Time", column=False),
    _f("compacted_at_commit", "*string", column=False),
    _f("original_size", "int", column=False),
    _f("labels", "[]string"),
    _f("dependencies", "[]*Dependency"),
    _f("comments", "[]*Comment"),
    _f("deleted_at", "*time.Time"),
    _f("deleted_by", "string"),
    _f("delete_reason", "string"),
    _f("original_type", "string"),
    _f("sender", "string"),
    _f("ephemeral", "bool"),
    _f("wisp_type", "WispType (string)"),
    _f("pinned", "bool"),
    _f("is_template", "bool", column=False),
    _f("bonded_from", "[]BondRef", column=False),
    _f("creator", "*EntityRef", column=False),
    _f("validations", "[]Validation", column=False),
    _f("quality_score", "*float32", column=False),
    _f("crystallizes", "bool", column=False),
    _f("await_type", "string"),
    _f("await_id", "string"),
    _f("timeout", "time.Duration (int64 ns)"),
    _f("waiters", "[]string", column=False),
    _f("holder", "string", column=False),
    _f("source_formula", "string", column=False),
    _f("source_location", "string", column=False),
    _f("hook_bead", "string"),
    _f("role_bead", "string"),
    _f("agent_state", "AgentState (string)"),
    _f("last_activity", "*time.Time"),
    _f("role_type", "string", column=False),
    _f("rig", "string", column=False),
    _f("mol_type", "MolType (string)"),
    _f("work_type", "WorkType (string)", column=False),
    _f("event_kind", "string", column=False),
    _f("actor", "string", column=False),
    _f("target", "string", column=False),
    _f("payload", "string", column=False),
    _f("dependency_count", "int (IssueWithCounts)", omitempty=False),
    _f("dependent_count", "int (IssueWithCounts)", omitempty=False),
    _f("comment_count", "int (IssueWithCounts)", omitempty=False),
)

#: ``key -> position``: where Go's encoder puts a key.
KEY_ORDER = {f.key: i for i, f in enumerate(ISSUE_FIELDS)}
#: Beads keys we keep verbatim rather than in a column.
EXTRA_KEYS = frozenset(f.key for f in ISSUE_FIELDS if not f.column)
_POINTER = frozenset(f.key for f in ISSUE_FIELDS if f.go_type.startswith("*"))
_BOOL = frozenset(f.key for f in ISSUE_FIELDS if f.go_type == "bool")
_SLICE = frozenset(f.key for f in ISSUE_FIELDS if f.go_type.startswith("[]"))

#: Columns of Beads' issues table that its classic JSON never carries
#: (``json:"-"``): read from a backup, not written to the classic shape.
BACKUP_ONLY_COLUMNS = frozenset({"content_hash", "source_repo", "id_prefix", "prefix_override"})
#: Backup column name -> classic key.
BACKUP_RENAMES = {"timeout_ns": "timeout"}

#: Beads' Dependency and Comment structs (all keys always written but
#: ``created_by``, ``metadata`` and ``thread_id`` of a dependency).
DEPENDENCY_FIELDS: tuple[GoField, ...] = (
    _f("issue_id", "string", omitempty=False),
    _f("depends_on_id", "string", omitempty=False),
    _f("type", "DependencyType (string)", omitempty=False),
    _f("created_at", "time.Time", omitempty=False),
    _f("created_by", "string"),
    _f("metadata", "string"),
    _f("thread_id", "string", column=False),
)
COMMENT_FIELDS: tuple[GoField, ...] = (
    _f("id", "int64", omitempty=False),
    _f("issue_id", "string", omitempty=False),
    _f("author", "string", omitempty=False),
    _f("text", "string", omitempty=False),
    _f("created_at", "time.Time", omitempty=False),
)

#: Where Go's encoder puts a key of a dependency / comment object.
DEPENDENCY_ORDER = {f.key: i for i, f in enumerate(DEPENDENCY_FIELDS)}
COMMENT_ORDER = {f.key: i for i, f in enumerate(COMMENT_FIELDS)}


def is_go_empty(key: str, raw: bytes) -> bool:
    """Whether Go's omitempty drops this value (a backup row writes every column).

    Pointers are dropped only when nil (``null``): ``estimated_minutes: 0``
    is a value.  Backups write booleans as 0/1.
    """
    if raw == b"null":
        return True
    if key in _POINTER:
        return False
    return raw in (b'""', b"0", b"false", b"[]", b"{}")


def backup_value(key: str, raw: bytes) -> bytes:
    """A backup column's value as the classic shape writes it (0/1 -> bool)."""
    if key in _BOOL and raw in (b"0", b"1"):
        return b"true" if raw == b"1" else b"false"
    if key in _SLICE and raw[:2] == b'"[':  # a JSON column written as its text
        text = msgspec.json.decode(raw)
        try:
            msgspec.json.decode(text)
        except msgspec.DecodeError:
            return raw
        return text.encode()
    return raw


#: What Go's encoding/json escapes beyond what msgspec does (its default
#: ``SetEscapeHTML(true)``, which Beads' encoder keeps): ``<``, ``>``, ``&``
#: as ``\u003c``, ``\u003e``, ``\u0026``, and U+2028/U+2029 (line and
#: paragraph separators, which break JavaScript) as ``\u2028``/``\u2029``.
#: Control characters are escaped the same way by both (``\b \f \n \r \t``,
#: else ``\u00XX`` in lower-case hex: Go >= 1.22, what Beads is built with).
_GO_ESCAPES = (
    (b"&", b"\\u0026"),
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


def go_escape(data: bytes) -> bytes:
    """JSON text as Go's encoder writes it: msgspec's output with Go's extra escapes.

    A plain byte replacement is exact: in JSON these characters can only
    occur inside strings (keys or values), and no escape sequence contains
    them.  Each is looked for first (a scan in C), so text without them,
    nearly every file, is returned as it is.
    """
    for char, escaped in _GO_ESCAPES:
        if char in data:
            data = data.replace(char, escaped)
    return data
