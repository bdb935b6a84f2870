"""``bd export``, ``bd import``, ``bd sync``, ``bd merge-driver``: Beads JSONL interop.

Thin over ``beads/jsonl.py``, ``beads/sync.py`` and ``beads/merge.py``.
"""

from __future__ import annotations

import sys

from ..errors import InvalidInput
from .framework import Registry, arg

COMMANDS = Registry()


@COMMANDS.command(
    "export",
    "Export beads as classic Beads JSONL (sorted by id; wisps never, unless asked)",
    arg("-o", "--output", help="file to write (atomically); default: stdout"),
    arg("--prefix", help="only beads with this id prefix"),
    arg("--include-ephemeral", action="store_true", help="also export ephemeral beads (wisps)"),
)
def export(ctx, args):
    from ..beads import jsonl

    data = jsonl.export_bytes(ctx.ledger, prefix=args.prefix, include_ephemeral=args.include_ephemeral)
    count = data.count(b"\n")
    if not args.output:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    changed = jsonl.write_atomic(args.output, data)
    ctx.emit({"path": args.output, "count": count, "changed": changed},
             f"Exported {count} beads to {args.output}" + ("" if changed else " (unchanged)"))


@COMMANDS.command(
    "import",
    "Import Beads JSONL: a file (classic shape) or a backup directory (table per file)",
    arg("source", nargs="?", help="file, directory, or - for stdin"),
    arg("-i", "--input", help="same as SOURCE"),
    arg("--dry-run", action="store_true", help="validate and count, change nothing"),
    description=(
        "Import Beads JSONL.  A file is the classic shape (one bead per line); a directory\n"
        "like .beads/backup/ is the table-per-file shape.  The whole input is validated\n"
        "first: one line of the wrong shape imports nothing.  A bead already present is\n"
        "replaced only when the incoming updated_at is newer.  Re-importing the same file\n"
        "changes nothing.  As in Beads, dependencies on beads that are not there (orphans)\n"
        "are imported, and bad dependency rows are skipped; both are listed."
    ),
)
def import_(ctx, args):
    from ..beads import jsonl

    source = args.input or args.source
    if not source:
        raise InvalidInput("what to import? bd import FILE|DIR (or -i FILE, or - for stdin)")
    if args.input and args.source and args.input != args.source:
        raise InvalidInput("give the source once: either SOURCE or -i FILE")
    result = jsonl.import_path(ctx.ledger, source, actor=ctx.actor, dry_run=args.dry_run)
    if ctx.json:
        ctx.emit_json(result)
        return
    verb = "Would import" if result.dry_run else "Imported"
    line = (
        f"{verb} {result.source} ({result.shape}): {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.skipped_older} skipped (older)"
    )
    if result.ignored:
        line += f", {result.ignored} non-bead records ignored"
    if result.config_set:
        line += f", {result.config_set} config keys set"
    ctx.out(line)
    shown = 10
    for label, items in (
        ("orphan dependencies (target not in the file or the ledger; kept, they block nothing)", result.orphans),
        ("bad dependency rows skipped", result.skipped_dependencies),
    ):
        if items:
            ctx.out(f"{len(items)} {label}:")
            for item in items[:shown]:
                ctx.out(f"  {item}")
            if len(items) > shown:
                ctx.out(f"  ... and {len(items) - shown} more (--json lists all)")


@COMMANDS.command(
    "sync",
    "Export each prefix to <repo>/.beads/issues.jsonl of its routed repository",
    arg("--dry-run", action="store_true", help="report what would change, write nothing"),
    arg("--import", dest="import_first", action="store_true",
        help="first import each routed repository's current file (after a git pull/merge)"),
    description=(
        "Export each bead prefix to the repository that owns it.  Routes are ledger config\n"
        "keys route.<prefix> = repository root (absolute or relative to the town root),\n"
        "e.g. 'bd config set route.gt rigs/gastown'.  Prefix hq and the ledger's\n"
        "issue_prefix go to the town root unless routed.  Files are only rewritten when\n"
        "their content changes.  --import first takes in each file's current content\n"
        "(newer updated_at wins), which completes a git pull or merge."
    ),
)
def sync(ctx, args):
    from ..beads import sync as syncing

    result = syncing.sync(ctx.ledger, dry_run=args.dry_run, import_first=args.import_first, actor=ctx.actor)
    if ctx.json:
        ctx.emit_json(result)
        return
    for r in result.imported:
        ctx.out(
            f"imported {r.source}: {r.created} created, {r.updated} updated, "
            f"{r.unchanged} unchanged, {r.skipped_older} skipped (older)"
        )
    for s in result.synced:
        state = ("would change" if args.dry_run else "written") if s.changed else "unchanged"
        ctx.out(f"{','.join(s.prefixes):<10} {s.count:>7} beads  {s.path}  ({state})")
    if result.unrouted:
        ctx.out(
            f"not synced (no route): {', '.join(result.unrouted)} "
            "(set one with: bd config set route.<prefix> <repo-root>)"
        )
    if not result.synced and not result.unrouted:
        ctx.out("nothing to sync: the ledger has no exportable beads")


@COMMANDS.command(
    "merge-driver",
    # argparse %-formats help strings: %% shows as %.
    "Git merge driver for .beads/issues.jsonl: bd merge-driver %%O %%A %%B",
    arg("base", help="%%O: the common ancestor's version"),
    arg("ours", help="%%A: our version; the merge is written here"),
    arg("theirs", help="%%B: their version"),
    arg("extra", nargs="*", help="ignored (%%L, %%P)"),
    description=(
        "Three-way merge of classic issues.jsonl files by bead id, for git.  Install:\n"
        '  git config merge.beads.driver "bd merge-driver %O %A %B"\n'
        "  echo '.beads/issues.jsonl merge=beads' >> .gitattributes\n"
        "Exits 0 after writing the merge into %A; non-zero (a conflict for git) only when\n"
        "a version cannot be parsed, leaving %A as it was."
    ),
)
def merge_driver(ctx, args):
    from ..beads import merge

    report = merge.merge_files(args.base, args.ours, args.theirs)
    if ctx.json:
        ctx.emit_json(report)
    # Git shows the driver's stdout during a merge: stay quiet unless asked.
