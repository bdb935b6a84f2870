"""Built-in loop generators: per-iteration values computed, not stored.

A looped step with ``generator = "<name>"`` repeats once per value the
generator yields; the step's text sees the value as ``{{<var>.<key>}}``.
This is how ``towers-of-hanoi`` stays a 40-line file for any number of
disks instead of a pre-generated 163 MB one.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, NamedTuple

PEGS = ("A", "B", "C")
MAX_HANOI_DISKS = 24


class Generator(NamedTuple):
    count: int
    values: Callable[[], Iterator[dict[str, Any]]]


def hanoi(disks: Any) -> Generator:
    """The 2^n - 1 moves taking ``disks`` disks from peg A to peg C."""
    try:
        n = int(disks)
    except (TypeError, ValueError):
        raise ValueError(f"disks must be an integer, got {disks!r}") from None
    if not 1 <= n <= MAX_HANOI_DISKS:
        raise ValueError(f"disks must be between 1 and {MAX_HANOI_DISKS}, got {n}")
    # The binary solution moves the tower to peg 2 when n is odd, to peg 1
    # when it is even; swap B and C for even n so it always ends on C.
    pegs = PEGS if n % 2 else (PEGS[0], PEGS[2], PEGS[1])
    count = (1 << n) - 1

    def values() -> Iterator[dict[str, Any]]:
        for m in range(1, count + 1):
            yield {
                "n": m,
                "disk": (m & -m).bit_length(),
                "from": pegs[(m & (m - 1)) % 3],
                "to": pegs[((m | (m - 1)) + 1) % 3],
            }

    return Generator(count, values)


GENERATORS: dict[str, Callable[..., Generator]] = {"hanoi": hanoi}
