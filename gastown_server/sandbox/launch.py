"""Putting a session's command into its sandbox (called by ``town.lifecycle`` only).

:func:`apply` returns the pane argv, the adjusted environment and the
:class:`~.policy.SandboxInfo` recorded for ``gt status``.  Sandboxing off for
the town -> the command unchanged and ``enabled: false``.  On, but bwrap
missing or unusable -> :class:`~.bwrap.SandboxUnavailable` (one line; the
caller starts nothing).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import msgspec

from ..town import layout
from . import bwrap
from .policy import SandboxInfo, view_for

#: The Refinery's git goes through this socket (``broker.py``) when set.
BROKER_ENV = "GT_GIT_BROKER"
OFF_WARNING = (
    "warning: agent sandboxes are OFF for this town: every agent can read all your files "
    "(turn them on: gt config sandbox on)"
)


def check(town) -> None:
    """``gt up``'s prerequisite: bwrap present and able to make a sandbox (when sandboxing is on)."""
    if town.config.sandbox.enabled:
        bwrap.probe(bwrap.binary())


def session_env(town, ident, env: dict[str, str]) -> dict[str, str]:
    """The session environment as the sandbox has it (its own HOME...); unchanged when sandboxing is off.

    Applied before the runtime's own files are laid out (``runtime.native``), so
    what they derive from ``HOME`` is the agent's sandbox HOME.
    """
    if not town.config.sandbox.enabled:
        return env
    from .policy import TMUX_ROLES

    env = dict(env)
    env["HOME"] = str(layout.agent_home(Path(town.root), ident.session))
    env["GT_SANDBOX"] = "bwrap"
    # No tmux socket inside: gastown's tmux calls answer "no server" instead of
    # starting a second tmux server inside the sandbox.
    env["GT_SANDBOX_TMUX"] = "1" if ident.role in TMUX_ROLES else "0"
    # Refs outside the agent's own namespace are read-only: no auto-gc repacking them.
    env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="gc.auto", GIT_CONFIG_VALUE_0="0")
    return env


def apply(town, ident, preset, argv: list[str], env: dict[str, str], cwd: Path) -> tuple[list[str], dict[str, str], SandboxInfo]:
    if not town.config.sandbox.enabled:
        return argv, env, SandboxInfo(enabled=False)
    from . import tmux_gate

    if tmux_gate.gated():
        # A sandboxed Mayor/Deacon/Witness starting a session: its tmux gate (outside) wraps the
        # command in the session's sandbox itself; what a sandbox would build here is not trusted.
        env = session_env(town, ident, env)
        return argv, env, view_for(town, ident, preset, env=env, argv0=argv[0]).info()
    exe = bwrap.binary()
    bwrap.probe(exe)
    env = session_env(town, ident, env)
    view = view_for(town, ident, preset, env=env, argv0=argv[0])
    helper, log = None, ""
    if view.broker_dir and view.tmux:
        from .broker import INSIDE_DIR

        env[tmux_gate.GATE_ENV] = f"{INSIDE_DIR}/{tmux_gate.SOCKET_NAME}"
        helper = [
            sys.executable, "-I", "-m", "gastown_server.sandbox.tmux_gate",
            "--socket", os.path.join(view.broker_dir, tmux_gate.SOCKET_NAME), "--town", str(town.root),
            "--session", ident.session, "--tmux-socket", town.socket, "--tmux", shutil.which("tmux") or "tmux",
            "--home", os.environ.get("HOME") or str(Path.home()),
        ]  # fmt: skip
        log = os.path.join(view.broker_dir, "gate.log")
    elif view.broker_dir:
        from .broker import INSIDE_DIR

        sock = os.path.join(view.broker_dir, "git.sock")
        env[BROKER_ENV] = f"{INSIDE_DIR}/git.sock"
        repo = str(layout.rig_repo(Path(town.root), ident.rig))
        helper = [
            sys.executable, "-I", "-S", str(Path(__file__).with_name("broker.py")), "--socket", sock, "--repo", repo,
            "--town", str(town.root), "--rig", ident.rig, "--url", town.rig(ident.rig).url,
            "--git", shutil.which("git") or "git",
        ]  # fmt: skip
        log = os.path.join(view.broker_dir, "broker.log")
    inner = bwrap.argv(view, argv, bwrap=exe, chdir=str(cwd), helper=helper, helper_log=log)
    return inner, env, view.info()


def record(town, session: str, info: SandboxInfo) -> None:
    d = layout.sandbox_state_dir(Path(town.root))
    d.mkdir(mode=0o700, exist_ok=True)
    tmp = d / f".{session}.{os.getpid()}.tmp"
    tmp.write_bytes(msgspec.json.encode(info))
    os.replace(tmp, d / f"{session}.json")


def recorded(root: Path, session: str) -> SandboxInfo | None:
    try:
        return msgspec.json.decode((layout.sandbox_state_dir(root) / f"{session}.json").read_bytes(), type=SandboxInfo)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def end_own_session() -> bool:
    """Inside a bwrap PID namespace: SIGTERM the sandbox's main process (a sandboxed handoff).

    Only when PID 1 is bwrap: outside a sandbox this does nothing (it must never
    signal processes of the user's session).
    """
    import signal

    try:
        init = open("/proc/1/cmdline", "rb").read().split(b"\0")[0]
    except OSError:
        return False
    if not init.endswith(b"bwrap"):
        return False
    ended = False
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or entry == "1":
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[1] == "1":  # field 4: the parent pid
            try:
                os.kill(int(entry), signal.SIGTERM)
                ended = True
            except ProcessLookupError:
                pass
    return ended
