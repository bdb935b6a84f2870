"""Helpers shared by the town tests (imported as a plain module)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GT = [sys.executable, "-m", "gastown_server.cli.gt"]
_SCRUB = ("GT_TOWN", "BEADS_DB", "BD_ACTOR", "GT_ACTOR", "GT_ROLE", "GT_RIG", "GT_SESSION_ID", "GT_TMUX_SOCKET", "TMUX")


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    for name, text in (files or {"README.md": "hello\n"}).items():
        (path / name).write_text(text)
    subprocess.run([*git, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(path), "commit", "-q", "-m", "init"], check=True)
    return path


def _wait_watchdog_gone(root: Path) -> None:
    """The daemon's watchdog ends within a second of the wish being withdrawn; wait for it."""
    from gastown_server.patrol import revive

    deadline = time.monotonic() + 5
    while revive.lock_held(root / ".gastown" / "watchdog.lock") and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_daemon(root: Path) -> None:
    # Withdraw the wish to be up first: a daemon killed by the test must not be revived afterwards.
    try:
        (root / ".gastown" / "daemon.wanted").unlink()
    except OSError:
        pass
    _wait_watchdog_gone(root)
    pid_file = root / ".gastown" / "daemon.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass



def wait_for(pred, timeout=10.0, what="condition", step=0.05):
    """``pred()``'s first true value, polled every ``step`` s; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")



def transcript(root: Path, session: str) -> str:
    p = root / ".gastown" / "transcripts" / f"{session}.log"
    return p.read_text(errors="replace") if p.exists() else ""



def snapshot_tree(root: Path) -> set[str]:
    """Every path under root except the ledger's WAL side files (they come and go)."""
    out = set()
    for p in root.rglob("*"):
        if p.name.endswith(("-wal", "-shm")) or "__pycache__" in p.parts:
            continue
        out.add(str(p.relative_to(root)))
    return out


def js(proc):
    """The JSON a `gt ... --json` process printed."""
    import json

    return json.loads(proc.stdout)


def one_error_line(proc, *needles: str) -> str:
    """Exit 1, exactly one `gt: error: ...` line on stderr (no traceback) mentioning each needle."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gt: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def pids_running(cmdline: str) -> list[int]:
    """Live (not zombie) processes whose command line is exactly ``cmdline`` (words joined by spaces)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b" ".join(args).decode(errors="replace") == cmdline and state != "Z":
            out.append(int(entry))
    return out
