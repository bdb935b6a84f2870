"""Where a town keeps things (documented in ``docs/town-layout.md``).

Pure path arithmetic, no I/O and no heavy imports: ``gt status`` and every
agent's ``gt prime`` go through here.

::

    <town>/
      .gastown/            state (never in git): ledger.db, transcripts/, nudge/,
                           daemon.pid, daemon.lock, daemon.log, daemon.state.json, tmp/
      settings/config.json town configuration (name, agent runtimes, daemon, nudge)
      formulas/            town formulas
      mayor/               the Mayor's working directory
      deacon/              the Deacon's (and Boot's) working directory
      dogs/<name>/         each dog's working directory (the Deacon's helpers)
      plugins/<name>/plugin.md   town plugins the Deacon dispatches to dogs
      <rig>/
        repo/              the rig's canonical clone (the Refinery works here)
        witness/           the Witness's working directory
        polecats/<name>/   polecat worktrees (``git worktree add`` from repo/)
        crew/<name>/       crew members' full clones
        formulas/          rig formulas
"""

from __future__ import annotations

from pathlib import Path

from ..paths import STATE_DIR

SETTINGS_DIR = "settings"
CONFIG_FILE = "config.json"
FORMULAS_DIR = "formulas"
MAYOR_DIR = "mayor"
DEACON_DIR = "deacon"
DOGS_DIR = "dogs"
PLUGINS_DIR = "plugins"
RIG_REPO = "repo"
RIG_WITNESS = "witness"
RIG_POLECATS = "polecats"
RIG_CREW = "crew"

#: Names a rig may not take: they are the town's own entries.
RESERVED_NAMES = frozenset(
    {STATE_DIR, SETTINGS_DIR, FORMULAS_DIR, MAYOR_DIR, DEACON_DIR, "hq", "boot", "overseer", DOGS_DIR, PLUGINS_DIR, ".git"}
)


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


def config_path(root: Path) -> Path:
    return root / SETTINGS_DIR / CONFIG_FILE


def tmp_dir(root: Path) -> Path:
    return state_dir(root) / "tmp"


def daemon_pid_path(root: Path) -> Path:
    return state_dir(root) / "daemon.pid"


def daemon_lock_path(root: Path) -> Path:
    return state_dir(root) / "daemon.lock"


def daemon_log_path(root: Path) -> Path:
    return state_dir(root) / "daemon.log"


def daemon_state_path(root: Path) -> Path:
    return state_dir(root) / "daemon.state.json"


def rig_dir(root: Path, rig: str) -> Path:
    return root / rig


def rig_repo(root: Path, rig: str) -> Path:
    return root / rig / RIG_REPO


def polecat_dir(root: Path, rig: str, name: str) -> Path:
    return root / rig / RIG_POLECATS / name


def crew_dir(root: Path, rig: str, name: str) -> Path:
    return root / rig / RIG_CREW / name


def dog_dir(root: Path, name: str) -> Path:
    return root / DOGS_DIR / name


def plugins_dir(root: Path) -> Path:
    return root / PLUGINS_DIR


def secrets_path(root: Path) -> Path:
    """The town's secret store (0600 in a 0700 directory; hidden from every sandbox)."""
    return state_dir(root) / "secrets" / "secrets.json"


def sandbox_state_dir(root: Path) -> Path:
    """``<session>.json``: what each session's sandbox binds (read by ``gt status``)."""
    return state_dir(root) / "sandbox"


def agent_home(root: Path, session: str) -> Path:
    """A sandboxed agent's own HOME (the user's home is never in a sandbox)."""
    return state_dir(root) / "homes" / session
