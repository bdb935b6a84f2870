"""``bd``: the Beads-compatible ledger command line.

Each word maps to the module that implements it; only that module is
imported, which keeps a ``bd close`` to a few tens of milliseconds.
"""

from __future__ import annotations

import sys

from .framework import Entry, run

_ISSUES = "gastown_server.cli.bd_issues"
_DEPS = "gastown_server.cli.bd_deps"
_SYNC = "gastown_server.cli.bd_sync"
_ADMIN = "gastown_server.cli.bd_admin"
_MOL = "gastown_server.cli.bd_mol"

TABLE: dict[str, Entry] = {
    "init": Entry(_ADMIN, "Create a ledger in the current directory"),
    "create": Entry(_ISSUES, "Create a bead"),
    "show": Entry(_ISSUES, "Show beads with dependencies and comments"),
    "list": Entry(_ISSUES, "List beads (open ones by default)"),
    "ready": Entry(_ISSUES, "Show ready work (open, unblocked)"),
    "blocked": Entry(_ISSUES, "Show blocked beads and what blocks them"),
    "update": Entry(_ISSUES, "Change fields of beads; --claim to take one"),
    "close": Entry(_ISSUES, "Close one or more beads"),
    "reopen": Entry(_ISSUES, "Reopen closed beads"),
    "delete": Entry(_ISSUES, "Delete beads (tombstone, kept for sync)"),
    "search": Entry(_ISSUES, "Search titles, descriptions and ids"),
    "stats": Entry(_ISSUES, "Counts by status and type, ready and blocked"),
    "dep": Entry(_DEPS, "Dependencies: add, remove, list, tree"),
    "label": Entry(_DEPS, "Labels: add, remove, list"),
    "comment": Entry(_DEPS, "Add a comment to a bead"),
    "comments": Entry(_DEPS, "List (or add) a bead's comments"),
    "export": Entry(_SYNC, "Export beads as Beads JSONL"),
    "import": Entry(_SYNC, "Import Beads JSONL (classic or backup shape)"),
    "sync": Entry(_SYNC, "Export each prefix to its routed repository"),
    "merge-driver": Entry(_SYNC, "Git merge driver for issues.jsonl (%O %A %B)"),
    "config": Entry(_ADMIN, "Ledger configuration: get, set, list"),
    "vacuum": Entry(_ADMIN, "Compact the ledger file (safe while writers run)"),
    "doctor": Entry(_ADMIN, "Check ledger integrity and the blocked cache"),
    "cook": Entry(_MOL, "Cook a formula into a protomolecule"),
    "mol": Entry(_MOL, "Molecules: pour, wisp, current, progress, show, burn, squash"),
    "formula": Entry(_MOL, "Formulas: list, show"),
}

ABOUT = "bd: the Beads ledger of a Gas Town (issues, dependencies, ready work)."


def main(argv: list[str] | None = None) -> int:
    return run("bd", TABLE, ABOUT, argv)


if __name__ == "__main__":
    sys.exit(main())
