"""Size limits on what the ledger stores (documented in docs/protocol.md, "Errors").

Every text the ledger takes through its public API is bounded, so one careless
(or hostile) caller cannot grow the ledger and every reader's memory without
limit: an RPC client once stored eight 10 MiB titles (338 MB of ledger).
Sizes are UTF-8 bytes, as Go's ``len`` counts them: Beads refuses titles over
500 bytes itself, so real Beads data always fits.
"""

from __future__ import annotations

from ..errors import InvalidInput

#: A bead's title (also a message's subject).
TITLE_MAX = 500
#: Long text: description, design, acceptance criteria, notes, close reason,
#: metadata, a comment, a message body.
TEXT_MAX = 1024 * 1024
#: Every other string field: assignee, owner, labels, external_ref, addresses, dates.
SHORT_MAX = 1024

_LONG = frozenset({"description", "design", "acceptance_criteria", "notes", "close_reason", "metadata",
                   "delete_reason", "text"})


def limit_for(field: str) -> int:
    if field == "title":
        return TITLE_MAX
    return TEXT_MAX if field in _LONG else SHORT_MAX


def check(field: str, value: object) -> None:
    """Refuse a string field over its limit, naming the field and both sizes."""
    if not isinstance(value, str):
        return
    limit = limit_for(field)
    # Cheap first: a str of n characters has between n and 4n UTF-8 bytes.
    if len(value) * 4 <= limit:
        return
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise InvalidInput(f"{field} is {size} bytes; the limit is {limit} bytes", data={"field": field})


def check_all(fields: dict[str, object]) -> None:
    for field, value in fields.items():
        check(field, value)
