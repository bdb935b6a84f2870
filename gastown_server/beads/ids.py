"""Bead IDs: ``<prefix>-<hash>`` in lowercase base36, as Beads makes them.

The hash length grows with the number of beads under a prefix so that
short IDs stay short while collisions stay rare; on a collision the nonce
is bumped, and after a few bumps the length.
"""

from __future__ import annotations

import re

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

#: (max beads under the prefix, hash length): Beads' adaptive thresholds.
_LENGTH_STEPS = ((160, 3), (980, 4), (5_900, 5), (35_000, 6), (210_000, 7), (1_260_000, 8))

PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,15}$")
#: Hyphenated words after the prefix are allowed for Gas Town's well-known
#: ids (``hq-mayor-role``, ``gt-crew-max``) and wisps (``bd-wisp-x1y``).
ID_RE = re.compile(r"^[a-z][a-z0-9]{0,15}-[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[0-9]+)*$")


def hash_length(count: int) -> int:
    """The hash length to use when ``count`` beads already carry the prefix."""
    for limit, length in _LENGTH_STEPS:
        if count < limit:
            return length
    return 9


def base36(data: bytes, length: int) -> str:
    n = int.from_bytes(data, "big")
    out = []
    for _ in range(length):
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return "".join(out)


def candidate(prefix: str, seed: str, nonce: int, length: int, *, wisp: bool = False) -> str:
    import hashlib  # only creates need it; keeps every other `bd` call lighter

    digest = hashlib.sha256(f"{seed}|{nonce}".encode()).digest()
    middle = "wisp-" if wisp else ""
    return f"{prefix}-{middle}{base36(digest[:16], length)}"


def prefix_of(bead_id: str) -> str:
    """The routing prefix of an id (``gt-ab1.2`` -> ``gt``)."""
    head, sep, _ = bead_id.partition("-")
    return head if sep else ""


def parent_of_child_id(bead_id: str) -> str:
    """``bd-a3f2.1`` -> ``bd-a3f2``; ``""`` when the id is not hierarchical."""
    base, dot, tail = bead_id.rpartition(".")
    return base if dot and tail.isdigit() else ""
