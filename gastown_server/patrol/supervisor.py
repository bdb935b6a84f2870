"""``gt daemon enable-supervisor``: a systemd user unit that keeps the town's daemon alive.

The unit runs ``gastown-daemon <town> --standby`` (:func:`.daemon.standby`):
it takes over within a second whenever the town is wanted up and no daemon
holds the lock, and waits quietly while the town is down.  ``Restart=always``
brings the standby itself back if it is killed.  Only ``PATH`` (this Python's
bin directory first, so sessions run the same ``gt``) and ``HOME`` go into the
unit: none of the installing shell's secrets.

Where no systemd user manager runs (containers, most CI machines), install
refuses with one line: the other revivers (patrols, Boot, agents' ``gt``)
still cover the daemon.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import Unavailable


def unit_name(root: Path) -> str:
    """``gastown-<town dir name>-<8 hex of its path>.service``: two towns never share a unit."""
    root = Path(root).resolve()
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in root.name) or "town"
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:8]
    return f"gastown-{safe}-{digest}.service"


def unit_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".config")
    return Path(base) / "systemd" / "user"


def _quote(arg: str) -> str:
    """systemd's command-line quoting: double quotes, backslash escapes, ``%`` doubled."""
    if arg and all(c.isalnum() or c in "-_./=:@+," for c in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


def unit_text(root: Path, *, python: str | None = None, path: str | None = None) -> str:
    root = Path(root).resolve()
    python = python or sys.executable
    bindir = str(Path(python).parent)
    path = path if path is not None else bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")
    argv = [python, "-P", "-m", "gastown_server.patrol.daemon", str(root), "--standby"]  # -P: see revive.spawn
    return "\n".join([
        "[Unit]",
        f"Description=Gas Town daemon for {root}",
        "Documentation=file://" + _quote(str(root / ".gastown" / "daemon.log")),
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(_quote(a) for a in argv),
        "WorkingDirectory=" + _quote(str(root)),
        "Environment=" + _quote("PATH=" + path),
        "Restart=always",
        "RestartSec=2",
        # SIGTERM to the standby only: the agents' tmux server is not the unit's to stop.
        "KillMode=process",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ])  # fmt: skip


def _systemctl(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    exe = shutil.which("systemctl")
    if exe is None:
        raise Unavailable("systemd is not available here (no systemctl): the daemon is revived by the patrols and agents' gt only")
    proc = subprocess.run([exe, "--user", *argv], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    if check and proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip().splitlines()
        raise Unavailable(f"systemctl --user {' '.join(argv)} failed: {why[-1] if why else f'exit {proc.returncode}'}")
    return proc


def require_systemd() -> None:
    """One line and Unavailable when no systemd user manager answers."""
    proc = _systemctl("show-environment", check=False)
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip().splitlines()
        raise Unavailable(
            "systemd user services are not available here (systemctl --user: "
            f"{why[-1] if why else f'exit {proc.returncode}'}): the daemon is revived by the patrols and agents' gt only"
        )


def install(root: Path) -> Path:
    """Write the unit, reload systemd and enable + start it.  Returns the unit file's path."""
    require_systemd()
    root = Path(root).resolve()
    path = unit_dir() / unit_name(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(unit_text(root))
    os.replace(tmp, path)
    _systemctl("daemon-reload")
    _systemctl("enable", "--now", path.name)
    return path
