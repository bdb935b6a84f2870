"""``bd sync``: export each bead prefix to the repository that owns it.

Routing lives in the ledger's config: ``route.<prefix>`` = the root of the
repository holding that prefix's beads (absolute, or relative to the town
root).  Town beads (``hq``) and the ledger's own ``issue_prefix`` go to the
town root unless routed elsewhere.  Each routed prefix is written to
``<repo>/.beads/issues.jsonl`` (classic shape, via an atomic rename, and only
when its bytes changed so git and file watchers see no spurious change);
prefixes routed to the same repository share its file.  All files come from
one read snapshot, so cross-repository references agree.
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


class SyncedRepo(msgspec.Struct):
    """One written file: the prefixes routed to that repository."""

    path: str
    prefixes: list[str]
    count: int
    changed: bool


class SyncResult(msgspec.Struct):
    synced: list[SyncedRepo]
    #: Prefixes with beads but no route: not written anywhere.
    unrouted: list[str]
    #: With ``import_first``: what importing each existing file did.
    imported: list[jsonl.ImportResult] = msgspec.field(default_factory=list)


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


def sync(
    ledger, *, town_root: Path | None = None, dry_run: bool = False, import_first: bool = False, actor: str = ""
) -> SyncResult:
    """Write each routed repository's file; with ``import_first``, take its current content in first.

    Importing first is what makes a pull/merge round trip: beads merged in by
    git come into the ledger (newer ``updated_at`` wins, so local edits made
    since are kept), then the export writes the union back.
    """
    table = routes(ledger, town_root)
    imported = []
    if import_first:
        for repo in sorted(set(table.values())):
            source = repo / JSONL_PATH
            if source.is_file():
                imported.append(jsonl.import_path(ledger, source, actor=actor, dry_run=dry_run))
    with jsonl.read_view(ledger) as conn:
        present = prefixes(conn)
        by_repo: dict[Path, list[str]] = {}
        for p in present:
            if p in table:
                by_repo.setdefault(table[p], []).append(p)
        # Check every destination before writing any, so a bad route
        # leaves all repositories untouched.
        for repo, group in by_repo.items():
            if not repo.is_dir():
                p = group[0]
                raise InvalidInput(
                    f"route.{p} points at {repo}, which is not a directory "
                    f"(fix it with: bd config set route.{p} <repo-root>)"
                )
        outputs = []
        for repo, group in sorted(by_repo.items()):
            beads = [b for p in group for b in jsonl.export_records(ledger, prefix=p)]
            beads.sort(key=jsonl.record_id)
            outputs.append((repo, group, beads))
    synced = []
    for repo, group, beads in outputs:
        target = repo / JSONL_PATH
        data = jsonl.encode_classic(beads)
        if dry_run:
            changed = not target.exists() or target.read_bytes() != data
        else:
            changed = jsonl.write_atomic(target, data)
        synced.append(SyncedRepo(path=str(target), prefixes=group, count=len(beads), changed=changed))
    return SyncResult(synced=synced, unrouted=[p for p in present if p not in table], imported=imported)
