"""``gt worktree list|remove``: every git worktree of every rig's canonical clone.

A worktree under ``<rig>/polecats/<name>`` belongs to that polecat: removing
it goes through :func:`gastown_server.work.polecat_cleanup.retire` (the one
way a polecat's worktree goes, refusing while work could be lost).  Any
other worktree (one made by hand, say) is removed with ``git worktree
remove``, which refuses uncommitted changes unless forced.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from ..errors import Conflict, NotFound
from . import layout


class Worktree(msgspec.Struct, omit_defaults=False):
    rig: str
    path: str
    branch: str
    #: ``canonical`` (the rig's clone), ``polecat`` or ``other``.
    kind: str
    owner: str = ""
    exists: bool = True


def list_worktrees(town, rig: str | None = None) -> list[Worktree]:
    from ..work.git import Git

    out = []
    for r in town.rigs():
        if rig and r.name != rig:
            continue
        repo = Path(r.repo).resolve()
        polecats = (layout.rig_dir(town.root, r.name) / layout.RIG_POLECATS).resolve()
        for path, branch in Git(repo).worktrees().items():
            if path == repo:
                kind, owner = "canonical", f"{r.name}/refinery"
            elif path.parent == polecats:
                kind, owner = "polecat", f"{r.name}/polecats/{path.name}"
            else:
                kind, owner = "other", ""
            out.append(Worktree(rig=r.name, path=str(path), branch=branch, kind=kind, owner=owner, exists=path.exists()))
    return out


def remove(town, target: str, *, actor: str, force: bool = False):
    """Remove the worktree at path ``target`` (or of polecat ``target``): the Retired result or a Worktree."""
    from ..work.git import Git
    from ..work.polecat_cleanup import retire

    found = list_worktrees(town)
    want = str(Path(target).resolve()) if ("/" in target and Path(target).exists()) else ""
    match = [w for w in found if w.path == want or (w.owner and (w.owner == target or w.owner.endswith("/" + target)))]
    if not match:
        raise NotFound(f"no worktree {target!r} (gt worktree list)")
    w = match[0]
    if w.kind == "canonical":
        raise Conflict(f"{w.path} is rig {w.rig}'s canonical clone: gt rig remove {w.rig} removes a rig")
    if w.kind == "polecat":
        return retire(town, town.identity(w.owner), actor=actor, force=force)
    repo = Git(town.rig(w.rig).repo)
    argv = ["worktree", "remove", *(["--force"] if force else []), w.path]
    proc = repo.run(*argv, check=False)
    if proc.returncode != 0:
        raise Conflict(f"git refused to remove {w.path}: {proc.stderr.strip()} (--force removes it anyway)")
    w.exists = False
    return w
