"""``gt install <dir>``: make a town (layout in ``docs/town-layout.md``).

All or nothing: every path this creates is recorded, and on any failure
they are removed again (the directory itself too when we made it), so a
failed install leaves the disk as it found it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import Conflict, InvalidInput, Unavailable
from ..beads import feedlog
from ..paths import STATE_DIR, ledger_path
from . import config as town_config
from . import layout, roles
from .identity import town_identity

GITIGNORE = "# gastown: runtime state never goes to git\n/.gastown/\n/.events.jsonl\n"


def install(
    directory: str | Path,
    *,
    name: str | None = None,
    git: bool = False,
    agent: str | None = None,
    actor: str = "overseer",
) -> Path:
    root = Path(directory).expanduser().resolve()
    if ledger_path(root).exists() or layout.config_path(root).exists():
        raise Conflict(f"{root} is already a town")
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"{root} exists and is not a directory")
    town_name = name or root.name
    if not town_name or not town_name.strip() or "/" in town_name:
        raise InvalidInput(f"bad town name {town_name!r}")
    agent = agent or town_config.DEFAULT_AGENT
    from ..runtime.runtimes import PRESETS

    if agent not in PRESETS:
        raise InvalidInput(f"unknown agent runtime {agent!r} (known: {', '.join(sorted(PRESETS))})")
    if git and shutil.which("git") is None:
        raise Unavailable("git not found on PATH (needed for --git)")

    made: list[Path] = []
    made_root = not root.exists()
    try:
        if made_root:
            root.mkdir(parents=True)
        for sub in (STATE_DIR, layout.SETTINGS_DIR, layout.FORMULAS_DIR, layout.MAYOR_DIR, layout.DEACON_DIR):
            p = root / sub
            if not p.exists():
                p.mkdir()
                made.append(p)
        for sub in ("transcripts", "nudge", "tmp"):
            (root / STATE_DIR / sub).mkdir(exist_ok=True)
        town_config.save(root, town_config.TownConfig(name=town_name, default_agent=agent))
        made.append(layout.config_path(root))
        made.append(feedlog.create(root))
        _create_ledger(root, town_name, actor)
        if git:
            _git_init(root, made, town_name)
    except BaseException:
        _undo(root, made, made_root)
        raise
    return root


def _create_ledger(root: Path, town_name: str, actor: str) -> None:
    from ..beads.store import Ledger

    with Ledger(ledger_path(root), create=True) as ledger:
        with ledger.mutation("town_installed", actor, "", {"name": town_name, "root": str(root)}):
            ledger.config_set("issue_prefix", "hq", actor=actor)
            ledger.config_set("town.name", town_name, actor=actor)
            ledger.config_set("route.hq", str(root), actor=actor)
            roles.create_role_beads(ledger, actor=actor)
            for role in ("mayor", "deacon", "boot"):
                roles.ensure_agent_bead(ledger, town_identity(root, role), actor=actor)


def _git_init(root: Path, made: list[Path], town_name: str) -> None:
    """A git repository for the town: ignore runtime state, export the town's beads, merge
    them by id (the Beads merge driver), and make the first commit."""
    from ..beads import merge, sync
    from ..beads.store import Ledger

    had_git = (root / ".git").exists()
    proc = subprocess.run(["git", "init", "-q", str(root)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise Unavailable(f"git init failed: {proc.stderr.strip()}")
    if not had_git:
        made.append(root / ".git")
    ignore = root / ".gitignore"
    if ignore.exists():
        text = ignore.read_text()
        if "/.gastown/" not in text:
            ignore.write_text(text.rstrip("\n") + "\n" + GITIGNORE)
    else:
        ignore.write_text(GITIGNORE)
        made.append(ignore)
    with Ledger(ledger_path(root)) as ledger:
        sync.sync(ledger, town_root=root)
    made.append(root / sync.JSONL_PATH.parent)
    merge.install_driver(root)
    if had_git:
        return  # the user's repository: what to commit is theirs to decide
    paths = [".gitignore", ".gitattributes", str(sync.JSONL_PATH), layout.SETTINGS_DIR]
    _git(root, "add", "--", *paths)
    _git(root, "commit", "-q", "-m", f"gastown: new town {town_name}")


def _git(root: Path, *argv: str) -> None:
    # A fresh machine may have no git identity: the town commits as itself then.
    ident = []
    for key, fallback in (("user.name", "gastown"), ("user.email", "gastown@localhost")):
        if subprocess.run(["git", "-C", str(root), "config", key], capture_output=True).returncode != 0:
            ident += ["-c", f"{key}={fallback}"]
    proc = subprocess.run(["git", "-C", str(root), *ident, *argv], capture_output=True, text=True)
    if proc.returncode != 0:
        raise Unavailable(f"git {argv[0]} failed in {root}: {(proc.stderr or proc.stdout).strip()}")


def _undo(root: Path, made: list[Path], made_root: bool) -> None:
    if made_root:
        shutil.rmtree(root, ignore_errors=True)
        return
    for p in reversed(made):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    state = root / STATE_DIR
    if state in made or not any(state.iterdir() if state.exists() else ()):
        shutil.rmtree(state, ignore_errors=True)
