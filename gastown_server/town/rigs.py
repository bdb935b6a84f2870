"""Rigs: ``gt rig add|list|remove`` and polecat worktrees.

``add`` is all or nothing.  The clone and the rig's directories are made in
``.gastown/tmp/`` (same filesystem), renamed into place in one step, and
only then is the ledger changed, in one transaction (rig bead, witness and
refinery agent beads, the prefix route).  If the ledger step fails the rig
directory is removed again; if the clone fails nothing but the temp
directory ever existed, and it is removed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import msgspec

from ..beads import merge
from ..beads.ids import PREFIX_RE
from ..errors import Conflict, InvalidInput, NotFound, Unavailable
from . import layout, roles
from .core import RIG_TYPE, Rig, Town, rig_bead_id
from .identity import RIG_NAME_RE, rig_identity

_WORD_RE = re.compile(r"[A-Za-z0-9]+")


def _git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    if shutil.which("git") is None:
        raise Unavailable("git not found on PATH: install git to manage rigs")
    from ..work.git import first_line, git_env

    # The caller's GIT_* variables are dropped (a GIT_DIR inherited from a hook would point the
    # worktree commands at another repository), as for every other git call (work.git).
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=git_env())
    if check and proc.returncode != 0:
        raise Unavailable(f"git {args[0]} failed: {first_line(proc.stderr)}")
    return proc


def taken_prefixes(town: Town) -> set[str]:
    taken = {"hq"}
    taken.update(k.split(".", 1)[1] for k in town.ledger.config_items("route."))
    taken.update(r.prefix for r in town.rigs())
    return taken


def derive_prefix(name: str, taken: set[str]) -> str:
    """Gas Town-like short prefix: initials of the words, else the first letters."""
    words = [w.lower() for w in _WORD_RE.findall(name)]
    letters = "".join(words)
    candidates = []
    if len(words) > 1:
        candidates.append("".join(w[0] for w in words))
    candidates += [letters[:n] for n in range(2, min(len(letters), 6) + 1)]
    for c in candidates:
        if c and not c[0].isalpha():
            c = "r" + c
        if PREFIX_RE.match(c or "") and c not in taken:
            return c
    base = (letters[:4] if letters and letters[0].isalpha() else "r" + letters[:3]) or "rig"
    for n in range(2, 1000):
        if f"{base}{n}" not in taken:
            return f"{base}{n}"
    raise Conflict(f"no free prefix for rig {name!r}; pass --prefix")


def _validate_name(town: Town, name: str) -> None:
    if not RIG_NAME_RE.match(name or ""):
        raise InvalidInput(f"bad rig name {name!r}: letters, digits, '-' and '_' (at most 40)")
    if name in layout.RESERVED_NAMES:
        raise InvalidInput(f"rig name {name!r} is reserved by the town layout")
    if any(r.name == name for r in town.rigs()):
        raise Conflict(f"rig {name!r} already exists in town {town.name}")
    if (town.root / name).exists():
        raise Conflict(f"{town.root / name} already exists: pick another rig name")


def _source(url: str) -> str:
    """A local path becomes absolute (the clone runs elsewhere); URLs stay."""
    p = Path(url).expanduser()
    if "://" not in url and not re.match(r"^[\w.-]+@[\w.-]+:", url) and p.exists():
        return str(p.resolve())
    return url


def add(town: Town, name: str, url: str, *, prefix: str | None = None, actor: str = "overseer") -> Rig:
    _validate_name(town, name)
    taken = taken_prefixes(town)
    if prefix:
        if not PREFIX_RE.match(prefix):
            raise InvalidInput(f"bad prefix {prefix!r}: lowercase letters and digits, starting with a letter")
        if prefix in taken:
            raise Conflict(f"prefix {prefix!r} is already taken in town {town.name}")
    else:
        prefix = derive_prefix(name, taken)
    if not url or not url.strip():
        raise InvalidInput("give the rig's git URL or path")
    source = _source(url.strip())
    if "://" not in source and not re.match(r"^[\w.-]+@[\w.-]+:", source) and not Path(source).exists():
        raise InvalidInput(f"{url} does not exist (give a git URL or the path of a git repository)")

    tmp_root = layout.tmp_dir(town.root)
    tmp_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"rig-{name}-", dir=tmp_root))
    final = layout.rig_dir(town.root, name)
    moved = False
    try:
        staged = work / name
        staged.mkdir()
        proc = _git("clone", "--quiet", source, str(staged / layout.RIG_REPO), check=False)
        if proc.returncode != 0:
            from ..work.git import first_line

            raise InvalidInput(f"{url} is not a git repository I can clone: {first_line(proc.stderr)}")
        branch = _git("symbolic-ref", "--short", "-q", "HEAD", cwd=staged / layout.RIG_REPO, check=False).stdout.strip()
        for sub in (layout.RIG_WITNESS, layout.RIG_POLECATS, layout.RIG_CREW, layout.FORMULAS_DIR):
            (staged / sub).mkdir()
        merge.install_driver(staged / layout.RIG_REPO, shared=False)  # the rig's .beads/issues.jsonl merges by id
        os.rename(staged, final)  # atomic; fails if someone took the name meanwhile
        moved = True
        rig = Rig(name=name, prefix=prefix, url=url, repo=str(layout.rig_repo(town.root, name)), default_branch=branch)
        _register(town, rig, actor)
    except BaseException:
        if moved:
            shutil.rmtree(final, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    town.forget_rigs()
    _gitignore(town.root, name, add=True)
    return rig


def _register(town: Town, rig: Rig, actor: str) -> None:
    ledger = town.ledger
    with ledger.mutation("rig_added", actor, rig_bead_id(rig.prefix), {"name": rig.name, "prefix": rig.prefix, "url": rig.url}):
        if ledger.config_get(f"route.{rig.prefix}") is not None or ledger.exists(rig_bead_id(rig.prefix)):
            raise Conflict(f"prefix {rig.prefix!r} is already taken in town {town.name}")
        ledger.create(
            f"Rig {rig.name}", actor=actor, bead_id=rig_bead_id(rig.prefix), issue_type=RIG_TYPE,
            status="pinned", pinned=True, description=f"Rig {rig.name} from {rig.url} (prefix {rig.prefix})",
            metadata=msgspec.json.encode(rig).decode(),
        )  # fmt: skip
        ledger.config_set(f"route.{rig.prefix}", rig.repo, actor=actor)
        for role in ("witness", "refinery"):
            roles.ensure_agent_bead(ledger, rig_identity(town.root, rig.name, rig.prefix, role), actor=actor)


def _gitignore(root: Path, name: str, *, add: bool) -> None:
    """In a git town, rigs are their own repositories: keep them out of the town's."""
    ignore = root / ".gitignore"
    if not (root / ".git").exists() or not ignore.exists():
        return
    line = f"/{name}/"
    lines = ignore.read_text().splitlines()
    if add and line not in lines:
        lines.append(line)
    elif not add and line in lines:
        lines.remove(line)
    else:
        return
    ignore.write_text("\n".join(lines) + "\n")


def remove(town: Town, name: str, *, actor: str = "overseer", force: bool = False) -> Rig:
    rig = town.rig(name)
    idents = [a for a in town.agents() if a.rig == name]
    running = []
    if town.tmux.running():
        live = {s.name for s in town.tmux.sessions()}
        running = [a.session for a in idents if a.session in live]
    if running and not force:
        raise Conflict(f"rig {name!r} has running sessions ({', '.join(running)}): stop them or pass --force")
    for session in running:
        town.tmux.stop(session, grace_s=2.0)
    ledger = town.ledger
    ids = [rig_bead_id(rig.prefix)] + [a.bead_id for a in idents]
    with ledger.mutation("rig_removed", actor, rig_bead_id(rig.prefix), {"name": name, "prefix": rig.prefix}):
        ledger.purge([i for i in ids if ledger.exists(i)], actor=actor)
        ledger.conn.execute("DELETE FROM config WHERE key = ?", (f"route.{rig.prefix}",))
    shutil.rmtree(layout.rig_dir(town.root, name), ignore_errors=True)
    town.forget_rigs()
    _gitignore(town.root, name, add=False)
    return rig


def polecat_branch(name: str, bead: str = "") -> str:
    """``polecat/<name>/<bead>``: the branch says whose and which work (``polecat/<name>`` without a bead)."""
    return f"polecat/{name}/{bead}" if bead else f"polecat/{name}"


def _polecat_work(town: Town, rig: Rig, name: str) -> str:
    """The issue a polecat is on (hooked, else in progress), '' if none: its branch is named after it."""
    address = f"{rig.name}/polecats/{name}"
    row = town.ledger.conn.execute(
        "SELECT id FROM issues WHERE assignee = ? AND (status = 'hooked' OR (status = 'in_progress' AND issue_type != 'molecule')) "
        "ORDER BY CASE status WHEN 'hooked' THEN 0 ELSE 1 END, created_at LIMIT 1",
        (address,),
    ).fetchone()
    return row[0] if row else ""


def ensure_polecat_worktree(town: Town, rig: Rig, name: str, bead: str | None = None) -> Path:
    """``<rig>/polecats/<name>``: a worktree of the canonical clone on branch ``polecat/<name>/<bead>``.

    ``bead`` None: the polecat's current work from the ledger (a revived
    polecat whose worktree is gone gets its branch back); no work at all
    gives the bead-less ``polecat/<name>``.  An existing branch is checked
    out, never reset: it may hold unmerged work.
    """
    path = layout.polecat_dir(town.root, rig.name, name)
    if path.exists():
        return path
    repo = Path(rig.repo)
    branch = polecat_branch(name, _polecat_work(town, rig, name) if bead is None else bead)
    has_branch = _git("rev-parse", "--verify", "-q", f"refs/heads/{branch}", cwd=repo, check=False).returncode == 0
    has_head = _git("rev-parse", "--verify", "-q", "HEAD", cwd=repo, check=False).returncode == 0
    if has_branch:
        args = ["worktree", "add", "-q", str(path), branch]
    elif has_head:
        args = ["worktree", "add", "-q", "-b", branch, str(path)]
    else:  # an empty repository: no commit to branch from
        args = ["worktree", "add", "-q", "--orphan", "-b", branch, str(path)]
    _git(*args, cwd=repo)
    return path


def polecat_branches(rig: Rig) -> list[str]:
    """Every ``polecat/...`` branch of the canonical clone."""
    out = _git("for-each-ref", "--format=%(refname:short)", "refs/heads/polecat/", cwd=Path(rig.repo), check=False)
    return out.stdout.split()


def remove_polecat_worktree(town: Town, rig: Rig, name: str, *, branch: str = "") -> None:
    """Undo :func:`ensure_polecat_worktree` for a sling that failed before anything was recorded.

    ``branch``: also delete it (only for a branch that sling just made: it holds no work).
    """
    path = layout.polecat_dir(town.root, rig.name, name)
    repo = Path(rig.repo)
    _git("worktree", "remove", "--force", str(path), cwd=repo, check=False)
    shutil.rmtree(path, ignore_errors=True)
    _git("worktree", "prune", cwd=repo, check=False)
    if branch:
        _git("branch", "-D", branch, cwd=repo, check=False)


def ensure_crew_clone(town: Town, rig: Rig, name: str) -> Path:
    path = layout.crew_dir(town.root, rig.name, name)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    _git("clone", "--quiet", rig.repo, str(path))
    return path


def list_rigs(town: Town) -> list[Rig]:
    return list(town.rigs())


def require_rig(town: Town, name: str | None) -> Rig:
    if name:
        return town.rig(name)
    rigs = town.rigs()
    env_rig = os.environ.get("GT_RIG")
    if env_rig:
        return town.rig(env_rig)
    if len(rigs) == 1:
        return rigs[0]
    if not rigs:
        raise NotFound(f"town {town.name} has no rigs yet: gt rig add <name> <repo>")
    raise InvalidInput(f"which rig? pass --rig (one of {', '.join(r.name for r in rigs)})")
