"""What a town plugin may write outside its dog's directory: declared in ``plugin.md``, bound by the dog's sandbox.

A dog's sandbox shows it its own ``dogs/<name>/`` read-write and ``settings/``,
``formulas/``, ``plugins/`` read-only; a plugin that maintains the town (a
report, a rotated log, an export) needs more, and says what::

    [sandbox]
    writes = ["reports/", "status.txt"]   # relative to the town root

Each entry is a path under the town root: one ending in ``/`` (or an existing
directory) is a directory, made if missing; anything else is a file, created
empty if missing (bwrap binds existing paths only).  Every dog's sandbox binds
the declared paths of every valid plugin of the town read-write (any idle dog
may get any run), as they stand when the dog's session starts; a live dog
whose sandbox predates a declaration is restarted when such a run is
dispatched to it (:func:`.plugin_runs.dispatch`), and ``gt plugin exec``
inside a sandbox refuses, in one line, a run whose paths its sandbox lacks.

Never writable, whatever a plugin declares (so that no plugin gives a dog the
secrets, another rig, or a way to change what other agents run or see):
anything hidden (a component starting with ``.``: ``.gastown/`` with the
ledger and the secret store, ``.git``, ``.events.jsonl``, ``.beads/``), the
town's own entries (``settings``, ``formulas``, ``plugins``, ``mayor``,
``deacon``, ``dogs``... :data:`~gastown_server.town.layout.RESERVED_NAMES`),
every rig's directory (by the town's rig records, and any top-level
directory holding a ``repo/``), ``..`` and absolute paths, the town root
itself, and a path that reaches through a symlink (checked at session start:
it could lead anywhere).  :func:`check` (at parse: one line naming the file
and the entry) and :func:`dog_mounts` (at session start) apply these rules.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path


def check(entry: str) -> str:
    """The normalized entry (``reports/`` keeps its slash); :class:`ValueError` saying why it is refused."""
    from ..town.layout import RESERVED_NAMES

    if not isinstance(entry, str) or not entry.strip():
        raise ValueError("an empty path")
    if entry.startswith("/") or entry.startswith("~"):
        raise ValueError(f"{entry!r} must be relative to the town root")
    if "\\" in entry or "\0" in entry:
        raise ValueError(f"{entry!r}: bad character")
    parts = entry.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{entry!r} must be a plain path under the town root (no '.', '..' or '//')")
    if any(p.startswith(".") for p in parts):
        raise ValueError(f"{entry!r}: hidden entries (.gastown, .git, .events.jsonl...) are never writable by plugins")
    if parts[0] in RESERVED_NAMES:
        raise ValueError(f"{entry!r}: {parts[0]}/ is the town's own (settings, formulas, plugins, agents' directories)")
    return posixpath.normpath(entry) + ("/" if entry.endswith("/") else "")


def _rig_names(town) -> set[str]:
    try:
        return {r.name for r in town.rigs()}
    except Exception:  # noqa: BLE001 - no ledger answer: the repo/ test below still holds
        return set()


def refused_at_start(root: Path, entry: str, rigs: set[str]) -> str:
    """Why ``entry`` cannot be bound now ("" if it can): a rig, or a symlink on the way."""
    first = entry.rstrip("/").split("/")[0]
    if first in rigs or (root / first / "repo").is_dir():
        return f"{first}/ is a rig"
    real_root = os.path.realpath(root)
    probe = root
    for part in entry.rstrip("/").split("/"):
        probe = probe / part
        if probe.is_symlink():
            return f"{probe.relative_to(root)} is a symlink"
    if os.path.exists(root / entry) and os.path.realpath(root / entry) != os.path.join(real_root, entry.rstrip("/")):
        return "it leaves the town"
    return ""


def dog_mounts(town) -> tuple[list[str], list[str], list[str]]:
    """(paths to bind read-write, directories to make first, ``entry: why`` refused) for a dog starting now."""
    from . import plugins as P

    root = Path(town.root)
    good, _bad = P.load_all(root)
    rigs = _rig_names(town)
    binds: list[str] = []
    make: list[str] = []
    refused: list[str] = []
    for plugin in good:
        for entry in plugin.writes:
            why = refused_at_start(root, entry, rigs)
            full = root / entry.rstrip("/")
            if why:
                refused.append(f"{plugin.name}: {entry}: {why}")
                continue
            if str(full) in binds:
                continue
            if entry.endswith("/") or full.is_dir():
                make.append(str(full))
            elif not full.exists():
                try:  # a file bwrap can bind: made by the starter (the Deacon, the daemon, gt dog start)
                    full.parent.mkdir(parents=True, exist_ok=True)
                    with open(full, "a"):
                        pass
                except OSError as exc:
                    refused.append(f"{plugin.name}: {entry}: cannot create it: {exc.strerror or exc}")
                    continue
            binds.append(str(full))
    return binds, make, refused


def uncovered(town, plugin, rw: list[str]) -> list[str]:
    """The plugin's declared paths that a sandbox binding ``rw`` does not make writable."""
    root = Path(town.root)
    out = []
    for entry in plugin.writes:
        full = str(root / entry.rstrip("/"))
        if not any(full == p or full.startswith(p.rstrip("/") + "/") for p in rw):
            out.append(entry)
    return out
