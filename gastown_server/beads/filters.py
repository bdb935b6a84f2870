"""The WHERE clause over ``issues`` that ``Ledger.list`` and ``browse`` share.

The CLI's list and an editor's bead list take the same filters (status,
type, assignee, label, parent, id prefix); building them in one place keeps
the two answering alike when a filter changes.  Each caller adds its own
terms (presets, text search, wisps) around these, in the order it wants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class _Validates(Protocol):
    # The ledger: statuses and types are checked against its configured vocabulary.
    def validate_status(self, status: str) -> None: ...
    def validate_type(self, issue_type: str) -> None: ...


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class Where:
    """Terms joined by AND, with their parameters in the same order."""

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.params: list[object] = []

    def add(self, term: str, *params: object) -> None:
        self.terms.append(term)
        self.params.extend(params)

    def any_of(self, column: str, values: Sequence[object]) -> None:
        self.add(f"{column} IN ({','.join('?' * len(values))})", *values)

    def status(self, led: _Validates, status: str | Sequence[str] | None, *, include_closed: bool) -> None:
        """The statuses asked for; otherwise live beads (closed too if asked), never tombstones."""
        if status:
            statuses = _as_list(status)
            for s in statuses:
                led.validate_status(s)
            self.any_of("status", statuses)
        elif not include_closed:
            self.add("status NOT IN ('closed', 'tombstone')")
        else:
            self.add("status != 'tombstone'")

    def issue_type(self, led: _Validates, issue_type: str | Sequence[str] | None) -> None:
        if issue_type:
            types = _as_list(issue_type)
            for t in types:
                led.validate_type(t)
            self.any_of("issue_type", types)

    def fields(
        self,
        *,
        assignee: str | None = None,
        label: str | None = None,
        parent: str | None = None,
        prefix: str | None = None,
    ) -> None:
        """Assignee (``""`` means unassigned), a label, a parent, an id prefix."""
        if assignee is not None:
            self.add("assignee = ?", assignee)
        if label:
            self.add("id IN (SELECT issue_id FROM labels WHERE label = ?)", label)
        if parent:
            self.add("parent = ?", parent)
        if prefix:
            self.add("id >= ? AND id < ?", prefix + "-", prefix + ".")  # '.' sorts right after '-'

    @property
    def clause(self) -> str:
        """`` WHERE …`` (with its leading space), or ``""`` when there are no terms."""
        return (" WHERE " + " AND ".join(self.terms)) if self.terms else ""
