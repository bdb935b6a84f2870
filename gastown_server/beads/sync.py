"""``bd sync``: export each bead prefix to the repository that owns it.

Routing lives in the ledger's config: ``route.<prefix>`` = the root of the
repository holding that prefix's beads (absolute, or relative to the town
root).  Town beads (``hq``) and the ledger's own ``issue_prefix`` go to the
town root unless routed elsewhere.  Each routed prefix is written to
``<repo>/.beads/issues.jsonl`` (classic shape, via an atomic rename, and only
when its bytes changed so git and file watchers see no spurious change).
All files come from one read snapshot, so cross-repository references agree.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from ..errors import InvalidInput
from ..paths import STATE_DIR
from . import jsonl

ROUTE_PREFIX = "route."
JSONL_PATH = Path(".beads") / "issues.jsonl"
TOWN_PREFIX = "hq"


class SyncedPrefix(msgspec.Struct):
    prefix: str
    path: str
    count: int
    changed: bool


class SyncResult(msgspec.Struct):
    synced: list[SyncedPrefix]
    #: Prefixes with beads but no route: not written anywhere.
    unrouted: list[str]


def town_root_of(ledger) -> Path:
    """The directory a ledger belongs to (``<root>/.gastown/ledger.db``)."""
    folder = ledger.path.resolve().parent
    return folder.parent if folder.name == STATE_DIR else folder


def routes(ledger, town_root: Path | None = None) -> dict[str, Path]:
    """``prefix -> repository root`` from config, with the town's defaults."""
    root = town_root or town_root_of(ledger)
    table = {TOWN_PREFIX: root}
    own = ledger.config_get("issue_prefix")
    if own:
        table[own] = root
    for key, value in ledger.config_items(ROUTE_PREFIX).items():
        prefix = key[len(ROUTE_PREFIX) :]
        if prefix and value.strip():
            path = Path(value).expanduser()
            table[prefix] = path if path.is_absolute() else root / path
    return table


def prefixes(conn) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT substr(id, 1, instr(id, '-') - 1) FROM issues WHERE ephemeral = 0 AND instr(id, '-') > 1"
    )
    return sorted(r[0] for r in rows)


def sync(ledger, *, town_root: Path | None = None, dry_run: bool = False) -> SyncResult:
    table = routes(ledger, town_root)
    with jsonl.read_view(ledger) as conn:
        present = prefixes(conn)
        routed = [p for p in present if p in table]
        # Check every destination before writing any, so a bad route
        # leaves all repositories untouched.
        for p in routed:
            if not table[p].is_dir():
                raise InvalidInput(
                    f"route.{p} points at {table[p]}, which is not a directory "
                    f"(fix it with: bd config set route.{p} <repo-root>)"
                )
        outputs = [(p, jsonl.export_beads(ledger, prefix=p)) for p in routed]
    synced = []
    for p, beads in outputs:
        target = table[p] / JSONL_PATH
        data = jsonl.encode_classic(beads)
        if dry_run:
            changed = not target.exists() or target.read_bytes() != data
        else:
            changed = jsonl.write_atomic(target, data)
        synced.append(SyncedPrefix(prefix=p, path=str(target), count=len(beads), changed=changed))
    return SyncResult(synced=synced, unrouted=[p for p in present if p not in table])
