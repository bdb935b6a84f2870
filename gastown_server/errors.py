"""Errors every adapter knows how to show.

Domain code raises a :class:`GastownError` subclass with a message a human
can act on.  The CLI prints it as one line and exits 1; the RPC server maps
``code`` to a stable JSON-RPC error code.  Anything else is a bug.
"""

from __future__ import annotations


class GastownError(Exception):
    """A user-facing error: bad input, unknown id, refused operation."""

    #: Stable JSON-RPC error code (application range -32000..-32099 is
    #: reserved by the spec for server errors; we use -33xxx for domain).
    code: int = -33000
    #: Short stable name, shown in JSON error data.
    kind: str = "error"

    def __init__(self, message: str, *, data: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data or {}


class NotFound(GastownError):
    code = -33001
    kind = "not_found"


class InvalidInput(GastownError):
    code = -33002
    kind = "invalid_input"


class Conflict(GastownError):
    """The operation contradicts current state (cycle, duplicate, refused)."""

    code = -33003
    kind = "conflict"


class NoTown(GastownError):
    code = -33004
    kind = "no_town"


class Unavailable(GastownError):
    """A required external piece (tmux, git, a runtime binary) is missing or failed."""

    code = -33005
    kind = "unavailable"


class SecretRefused(InvalidInput):
    """A bead, comment or message quoted the value of a known secret (``gt secret``): refused, escalated."""
