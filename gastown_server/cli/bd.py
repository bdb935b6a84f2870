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
_VERBS = "gastown_server.cli.bd_verbs"

TABLE: dict[str, Entry] = {
    "init": Entry(_ADMIN, "Create a ledger in the current directory"),
    "create": Entry(_ISSUES, "Create a bead"),
    "new": Entry(_ISSUES, "Create a bead (alias of create)"),
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
    "children": Entry(_VERBS, "A bead's children"),
    "epic": Entry(_VERBS, "Epics: status, close-eligible"),
    "swarm": Entry(_VERBS, "Swarms (an epic's children in parallel): create, list, status"),
    "gate": Entry(_VERBS, "Gates work waits on: create, list, show, check, resolve, add-waiter"),
    "defer": Entry(_VERBS, "Defer beads (not ready until --until)"),
    "undefer": Entry(_VERBS, "Undefer beads"),
    "note": Entry(_VERBS, "Append to a bead's notes"),
    "assign": Entry(_VERBS, "Assign a bead"),
    "priority": Entry(_VERBS, "Set a bead's priority"),
    "tag": Entry(_VERBS, "Add labels to a bead"),
    "link": Entry(_VERBS, "Link two beads (a dependency, default related)"),
    "supersede": Entry(_VERBS, "Mark a bead superseded (--with NEW) and close it"),
    "duplicate": Entry(_VERBS, "Mark a bead a duplicate (--of ID) and close it"),
    "set-state": Entry(_VERBS, "Set a state dimension (label dim:value)"),
    "kv": Entry(_VERBS, "Key-value store: set, get, list, delete"),
    "count": Entry(_VERBS, "Count beads (--by-status, --by-type, ...)"),
    "prime": Entry(_VERBS, "The bd workflow, for an agent's session start"),
    "version": Entry(_VERBS, "Print the version"),
}

ABOUT = "bd: the Beads ledger of a Gas Town (issues, dependencies, ready work)."


def main(argv: list[str] | None = None) -> int:
    return run("bd", TABLE, ABOUT, argv)


if __name__ == "__main__":
    sys.exit(main())
