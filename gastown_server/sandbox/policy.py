"""What each role's sandbox sees (the table in ``docs/security.md``).

A :class:`View` is data: an ordered list of mounts (later ones cover earlier
ones, as bubblewrap applies them), the network policy, whether the town's
tmux socket is inside, and the agent's own HOME.  :func:`view_for` builds it
from the town's layout; :mod:`.bwrap` turns it into an argv.

Every path is mounted at its own path (an agent's ``cwd``, ``GT_TOWN`` and
the ``gitdir:`` line of a worktree mean the same inside and out).  Pure path
arithmetic plus a few ``stat`` calls; nothing is created here (the launch
command makes missing directories outside the sandbox: the caller may itself
be a sandboxed Witness that cannot see them).
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import sys
from pathlib import Path

import msgspec

from ..errors import InvalidInput
from ..town import layout

#: Roles that drive other sessions (start, stop, nudge, peek).  Not through the
#: town's tmux socket (a tmux client can make the server, outside every
#: sandbox, run any command): through their own tmux gate (``tmux_gate.py``),
#: which performs only gastown's named operations.
TMUX_ROLES = frozenset({"mayor", "deacon", "witness"})
NETWORKS = ("host", "none")
#: Files under /etc that a root agent could read and must not.
_ETC_MASKS = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers")


class Mount(msgspec.Struct, array_like=True):
    #: ``ro``, ``rw``, ``rw-try`` (skipped when missing), ``tmpfs``, ``symlink``, ``null`` (an empty file over ``path``),
    #: ``dir-ro`` (an empty directory nobody inside can write: a write there fails instead of vanishing).
    kind: str
    path: str
    #: Source for binds when it differs from ``path``; the target of a symlink.
    src: str = ""


class SandboxInfo(msgspec.Struct, omit_defaults=False):
    """What ``gt status``/``agent/show`` report about a session's sandbox."""

    #: False: the agent ran with the user's full view (sandboxing off for the town).
    enabled: bool
    #: ``bwrap`` (or ``""`` when off).
    tool: str = ""
    #: ``host`` or ``none``.
    network: str = "host"
    #: Town sessions can be driven through the session's tmux gate (roles that start and nudge
    #: sessions; the town's tmux socket itself is in no sandbox).
    tmux: bool = False
    #: ``git fetch``/``push`` to the rig's remotes run outside, with its secrets (the Refinery).
    git_broker: bool = False
    #: The agent's HOME inside (its own directory; the user's home is not mounted).
    home: str = ""
    #: Town paths mounted read-write / read-only / hidden (system paths are not listed).
    rw: list[str] = msgspec.field(default_factory=list)
    ro: list[str] = msgspec.field(default_factory=list)
    hidden: list[str] = msgspec.field(default_factory=list)


def summary(box: SandboxInfo | None) -> str:
    """``bwrap`` (+ ``,net=none``, ``,tmux``, ``,git-broker``), ``OFF``, or ``-`` (never started).

    The one wording of a session's sandbox: gt status and the dashboard show it.
    """
    if box is None:
        return "-"
    if not box.enabled:
        return "OFF"
    extras = [x for x, on in (("net=none", box.network == "none"), ("tmux", box.tmux),
                              ("git-broker", box.git_broker)) if on]
    return ",".join([box.tool, *extras])


class View(msgspec.Struct):
    role: str
    town: str
    network: str
    tmux: bool
    home: str
    mounts: list[Mount]
    #: Directories to create (outside) before the sandbox starts.
    make_dirs: list[str]
    #: The session helper's socket directory: the Refinery's git broker, a tmux role's gate ("" for others).
    broker_dir: str = ""

    def info(self) -> SandboxInfo:
        town = self.town.rstrip("/") + "/"

        def of(kinds: tuple[str, ...]) -> list[str]:
            out = []
            for m in self.mounts:
                if m.kind in kinds and (m.path + "/").startswith(town) and m.path not in out:
                    out.append(m.path)
            return out

        return SandboxInfo(
            enabled=True, tool="bwrap", network=self.network, tmux=self.tmux, git_broker=self.role == "refinery",
            home=self.home, rw=of(("rw", "rw-try")), ro=of(("ro",)), hidden=of(("tmpfs",)),
        )  # fmt: skip


def network_for(settings, role: str) -> str:
    net = settings.network.get(role, settings.network.get("*", "host"))
    if net not in NETWORKS:
        raise InvalidInput(f"sandbox network for {role!r} must be one of {', '.join(NETWORKS)}, not {net!r}")
    return net


@functools.lru_cache(maxsize=1)
def system_mounts() -> tuple[Mount, ...]:
    """The OS, the Python running gastown and the gastown package, read-only."""
    out: list[Mount] = [Mount("ro", "/usr")]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = f"/{name}"
        if os.path.islink(p):
            out.append(Mount("symlink", p, os.readlink(p)))
        elif os.path.isdir(p):
            out.append(Mount("ro", p))
    out.append(Mount("ro", "/etc"))
    for p in (*_ETC_MASKS, *sorted(glob.glob("/etc/ssh/ssh_host_*_key"))):
        if os.path.isfile(p):
            out.append(Mount("null", p))
    resolv = os.path.realpath("/etc/resolv.conf")
    if not resolv.startswith("/etc/") and os.path.exists(resolv):
        out.append(Mount("ro", resolv))
    if os.path.isdir("/opt"):
        out.append(Mount("ro", "/opt"))
    covered = [m.path for m in out]
    for p in python_paths():
        if not _under(p, covered):
            out.append(Mount("ro", p))
            covered.append(p)
    return tuple(out)


def python_paths() -> list[str]:
    """The interpreter's prefixes, its site directories and the gastown package (not its repo)."""
    import gastown_server

    pkg = str(Path(gastown_server.__file__).resolve().parent)
    paths = [os.path.realpath(p) for p in {sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix}]
    if os.path.realpath(sys.prefix) != sys.prefix:
        paths.append(sys.prefix)  # a venv reached through a symlink
    root = str(Path(pkg).parent)
    for p in sys.path:
        if p and os.path.isdir(p) and os.path.realpath(p) != root and ("site-packages" in p or "dist-packages" in p):
            paths.append(os.path.realpath(p))
    paths.append(pkg)
    out: list[str] = []
    for p in sorted(set(paths), key=len):
        if not _under(p, out):
            out.append(p)
    return out


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def tmux_socket_path(socket: str) -> str:
    base = os.environ.get("TMUX_TMPDIR") or "/tmp"
    return os.path.join(base, f"tmux-{os.getuid()}", socket)


def broker_dir(root: Path, session: str) -> Path:
    return layout.state_dir(root) / "brokers" / session


def _gitdir(worktree: Path) -> str:
    try:
        text = (worktree / ".git").read_text()
    except OSError:
        return ""
    if text.startswith("gitdir:"):
        return os.path.realpath(os.path.join(worktree, text.split(":", 1)[1].strip()))
    return ""


def _runtime_mounts(argv0: str, path_env: str, covered: list[str]) -> list[Mount]:
    """The runtime's executable when it lives outside the system/Python mounts (e.g. ~/.local/bin)."""
    found = shutil.which(argv0, path=path_env) if "/" not in argv0 else argv0
    out = []
    if found:
        for p in dict.fromkeys((os.path.abspath(found), os.path.realpath(found))):
            # An npm CLI (claude, codex) is a launcher script that loads its platform
            # package from the same node_modules: the whole tree, read-only.
            parts = p.split(os.sep)
            if "node_modules" in parts:
                p = os.sep.join(parts[: parts.index("node_modules") + 1])
            if not _under(p, covered) and all(m.path != p for m in out):
                out.append(Mount("ro", p))
    return out


def view_for(town, ident, preset, *, env: dict[str, str], argv0: str) -> View:
    """The sandbox of ``ident``'s session (``town``: a :class:`~gastown_server.town.core.Town`)."""
    root = Path(town.root)
    state = layout.state_dir(root)
    role = ident.role
    net = network_for(town.config.sandbox, role)
    tmux = role in TMUX_ROLES
    home = str(layout.agent_home(root, ident.session))
    mounts: list[Mount] = list(system_mounts())
    covered = [m.path for m in mounts]
    mounts += _runtime_mounts(argv0, env.get("PATH", ""), covered)
    make = [home]
    ro_town = [root / layout.SETTINGS_DIR, root / layout.FORMULAS_DIR]
    cwd = Path(ident.cwd)
    rig = layout.rig_dir(root, ident.rig) if ident.rig else None
    if role in ("mayor", "deacon"):
        mounts.append(Mount("rw", str(root)))
    elif role in ("witness", "refinery"):
        assert rig is not None
        mounts += [*(Mount("ro", str(p)) for p in ro_town if p.exists()), Mount("rw", str(rig))]
    elif role == "polecat":
        assert rig is not None
        repo = layout.rig_repo(root, ident.rig)
        mounts += [Mount("ro", str(p)) for p in (*ro_town, rig / layout.FORMULAS_DIR, repo) if p.exists()]
        mounts += _git_write_mounts(repo, cwd, "polecat", make)
        mounts.append(Mount("rw", str(cwd)))
    elif role == "crew":
        assert rig is not None
        repo = layout.rig_repo(root, ident.rig)
        mounts += [Mount("ro", str(p)) for p in (*ro_town, rig / layout.FORMULAS_DIR, repo) if p.exists()]
        mounts += _git_write_mounts(repo, None, "", make)
        mounts.append(Mount("rw", str(cwd)))
    else:  # dogs (and any future town-level helper): their own directory, plugins read-only
        # The town root inside is bwrap's scratch directory: unwritable, so an undeclared write
        # of a plugin to $GT_TOWN/x fails loudly (it used to land in the scratch and vanish).
        mounts.append(Mount("dir-ro", str(root)))
        mounts += [Mount("ro", str(p)) for p in (*ro_town, layout.plugins_dir(root)) if p.exists()]
        mounts.append(Mount("rw", str(cwd)))
        if role == "dog":  # what the town's plugins declare they write (never secrets, rigs, settings)
            from ..patrol.plugin_writes import dog_mounts

            binds, dirs, _refused = dog_mounts(town)
            make += dirs
            mounts += [Mount("rw", p) for p in binds]
    # The town's state: the ledger (SQLite WAL needs its directory: see
    # docs/security.md), nudge queues, locks.  Then what nobody may see.
    mounts.append(Mount("rw", str(state)))
    # What the daemon publishes for sandboxed readers (patrol/panes.py): read, never forged.
    published = state / "published"
    make.append(str(published))
    mounts.append(Mount("ro", str(published)))
    events = root / ".events.jsonl"
    if events.exists() and role not in ("mayor", "deacon"):
        mounts.append(Mount("rw", str(events)))
    hidden = [state / "secrets", state / "homes", state / "brokers"]
    if role not in TMUX_ROLES:
        hidden.append(state / "transcripts")
    # Runtimes' per-session config dirs (e.g. Claude Code's CLAUDE_CONFIG_DIR): each sees its own only.
    hidden.append(state / "agent-config")
    mounts += [Mount("tmpfs", str(p)) for p in hidden]
    mounts.append(Mount("rw", home))
    cfg_root = state / "agent-config"
    if cfg_root.is_dir():
        for runtime_dir in sorted(cfg_root.iterdir()):
            if (runtime_dir / ident.session).is_dir():
                mounts.append(Mount("rw", str(runtime_dir / ident.session)))
    bdir = ""
    if role == "refinery" or tmux:
        # The session's helper outside (git broker or tmux gate) listens in this directory.
        from .broker import INSIDE_DIR

        bdir = str(broker_dir(root, ident.session))
        make.append(bdir)
        mounts.append(Mount("rw", INSIDE_DIR, src=bdir))
    for p in preset.sandbox_ro:
        mounts.append(Mount("ro", os.path.expanduser(p)))
    for p in preset.sandbox_rw:
        target = os.path.join(home, p[2:]) if p.startswith("~/") else p
        make.append(target)
        mounts.append(Mount("rw", target))
    return View(role=role, town=str(root), network=net, tmux=tmux, home=home, mounts=mounts, make_dirs=make, broker_dir=bdir)


def _git_write_mounts(repo: Path, worktree: Path | None, branch_ns: str, make: list[str]) -> list[Mount]:
    """What committing needs in the (read-only) canonical clone: objects, and the agent's own refs.

    A polecat's worktree keeps its index and HEAD in ``.git/worktrees/<name>``;
    its commits add objects and move its branch ``polecat/<name>[/<bead>]``.  git
    replaces a ref by renaming a lock file in the ref's directory, so the bind is
    ``refs/heads/polecat/`` (the rig's polecat branches); ``main`` and every other
    branch stay read-only.  Crew push into the clone (``gt done``), so
    they get ``refs`` and ``logs`` as a whole.
    """
    git = repo / ".git"
    if not git.is_dir():
        return []
    out = [Mount("rw", str(git / "objects"))]
    if worktree is not None:
        gd = _gitdir(worktree)
        if gd:
            out.append(Mount("rw", gd))
    if branch_ns:
        # refs/gastown/: gt apply's kept interrupted runs and rework tips (script_work.py).
        for p in (git / "refs/heads" / branch_ns, git / "logs/refs/heads" / branch_ns, git / "refs/gastown"):
            make.append(str(p))
            out.append(Mount("rw", str(p)))
    else:
        for sub in ("refs", "logs"):
            p = str(git / sub)
            make.append(p)
            out.append(Mount("rw", p))
    return out
