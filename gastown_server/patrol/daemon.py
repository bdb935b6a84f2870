"""The town daemon: a heartbeat process (``gt daemon start|stop|status|run``).

Files under ``<town>/.gastown/``: ``daemon.lock`` (an ``fcntl`` lock held
for the daemon's whole life: the single-instance guarantee, released by
the kernel even if the daemon is killed), ``daemon.pid``, ``daemon.log``
(one line per beat that did something, and errors) and
``daemon.state.json`` (pid, started_at, last_beat, beats, interval_s).

A second daemon exits at once ("already running").  A restarted daemon
finds the sessions still running and, since starts are idempotent, leaves
them alone.  SIGTERM/SIGINT end the loop after the current beat.

``daemon.wanted`` says the town is meant to be up: written at start, removed
by a deliberate stop (``stop``, SIGTERM/SIGINT, ``--beats`` done).  A daemon
that died without removing it (``kill -9``, OOM, a crash) is revived by the
next patrol step or agent ``gt`` command (:mod:`.revive`), or at once by a
``--standby`` process (the systemd unit of ``gt daemon enable-supervisor``),
and by its watchdog (:mod:`.watchdog`), which it starts and restarts in turn.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from ..errors import Conflict, Unavailable
from ..town import layout
from . import lifetime


class DaemonStatus(msgspec.Struct, omit_defaults=False):
    running: bool
    pid: int = 0
    started_at: float = 0.0
    last_beat: float = 0.0
    beats: int = 0
    interval_s: float = 0.0
    log: str = ""


def _locked_by_other(root: Path) -> bool:
    path = layout.daemon_lock_path(root)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _lock_holder(root: Path) -> int:
    """The pid holding the daemon's lock, from the kernel's lock table (Linux); 0 if unknown.

    Better than the pid file: a new daemon takes the lock before it writes
    that file, so in between the file names a dead predecessor whose pid
    may already belong to an unrelated process.
    """
    try:
        inode = os.stat(layout.daemon_lock_path(root)).st_ino
        table = Path("/proc/locks").read_text()
    except OSError:
        return 0
    for line in table.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF"; waiters are marked "->"
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
            try:
                return max(int(fields[4]), 0)
            except ValueError:
                return 0
    return 0


def _read_pid(root: Path) -> int:
    try:
        return int(layout.daemon_pid_path(root).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def status_of(root: Path) -> DaemonStatus:
    root = Path(root)
    running = _locked_by_other(root)
    st = DaemonStatus(running=running, log=str(layout.daemon_log_path(root)))
    try:
        saved = msgspec.json.decode(layout.daemon_state_path(root).read_bytes(), type=DaemonStatus)
        st.started_at, st.last_beat, st.beats, st.interval_s = saved.started_at, saved.last_beat, saved.beats, saved.interval_s
    except (OSError, msgspec.DecodeError):
        pass
    st.pid = _read_pid(root) if running else 0
    return st


def status(town) -> DaemonStatus:
    return status_of(town.root)


def _write_state(root: Path, st: DaemonStatus) -> None:
    path = layout.daemon_state_path(root)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(msgspec.json.encode(st))
    os.replace(tmp, path)


def _log(root: Path, text: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    with open(layout.daemon_log_path(root), "a") as f:
        f.write(f"{stamp} {text}\n")


#: Seconds between two attempts to start the watchdog.
WATCHDOG_RESPAWN_S = 5.0


def run(root: Path, *, interval_s: float | None = None, beats: int | None = None, revive: bool = False) -> int:
    """The daemon loop, in the foreground.  Returns when stopped (or after ``beats``).

    ``revive``: started by a reviver; once it holds the lock it runs only if
    the town is still wanted up (a ``gt down`` may have begun meanwhile).
    """
    from ..town.core import open_town
    from . import revive as reviving
    from .heartbeat import BeatState, beat

    root = Path(root).resolve()
    town = open_town(root)
    layout.state_dir(root).mkdir(exist_ok=True)
    lock_fd = lifetime.hold_lock(layout.daemon_lock_path(root))
    if lock_fd is None:
        raise Conflict(f"the daemon of town {town.name} is already running (pid {_read_pid(root)})")
    if revive and not reviving.is_wanted(root):
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        os.close(lock_fd)
        _log(root, f"revive skipped (pid {os.getpid()}): the town was taken down meanwhile")
        return 0
    if not revive:
        reviving.want(root, interval_s)
    stopping = lifetime.StopSignal().install()
    finished = False
    pid_path = layout.daemon_pid_path(root)
    pid_path.write_text(f"{os.getpid()}\n")
    interval = interval_s if interval_s is not None else town.config.daemon.heartbeat_s
    st = DaemonStatus(running=True, pid=os.getpid(), started_at=time.time(), interval_s=interval)
    _write_state(root, st)
    _log(root, f"daemon started (pid {os.getpid()}, heartbeat {interval:g}s)")
    state = BeatState()
    from . import watchdog

    # The daemon and its watchdog restart each other (watchdog.py): no agent may, when sandboxed.
    dog_at = time.monotonic()
    started = watchdog.ensure(root)
    if started:
        _log(root, started)
    try:
        while not stopping:
            if time.monotonic() - dog_at >= WATCHDOG_RESPAWN_S:  # a watchdog that keeps dying: not every beat
                dog_at = time.monotonic()
                started = watchdog.ensure(root)
                if started:
                    _log(root, started)
            try:
                report = beat(town, state)
                if report.revived or report.errors or report.boot not in ("", "leave") or report.flushed:
                    _log(root, "beat " + msgspec.json.encode(report).decode())
            except Exception as exc:  # noqa: BLE001 - a bad beat must not kill the daemon
                _log(root, f"beat failed: {type(exc).__name__}: {exc}")
            finally:
                town.close()  # a fresh ledger connection per beat
            st.last_beat, st.beats = time.time(), state.beats
            _write_state(root, st)
            if beats is not None and state.beats >= beats:
                finished = True
                break
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    finally:
        if stopping or finished:  # a deliberate stop; any other way out leaves the wish to be revived
            reviving.unwant(root)
        _log(root, f"daemon stopped (pid {os.getpid()}) after {state.beats} beats")
        try:
            if _read_pid(root) == os.getpid():
                pid_path.unlink()
        except OSError:
            pass
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        os.close(lock_fd)
    return 0


#: What the daemon keeps of its starter's environment.  Nothing else: the
#: shell that ran ``gt up`` may hold GITHUB_TOKEN, ANTHROPIC_API_KEY, AWS keys...,
#: and a long-lived process's ``/proc/<pid>/environ`` keeps them for its lifetime.
DAEMON_ENV_KEEP = (
    "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "PATH", "TMPDIR",
    "TMUX_TMPDIR", "GT_TMUX_SOCKET", "GT_DEBUG", "GT_FORMULA_PATH", "GT_STEP_TIMEOUT",
)  # fmt: skip


def daemon_env() -> dict[str, str]:
    """The daemon's whole environment (docs/security.md): harmless settings, ``GT_PATROL*`` knobs."""
    return {k: v for k, v in os.environ.items() if k in DAEMON_ENV_KEEP or k.startswith("GT_PATROL")}


def start(town, *, interval_s: float | None = None, wait_s: float = 10.0) -> DaemonStatus:
    """Start the daemon in the background; Conflict if it already runs."""
    root = town.root
    if _locked_by_other(root):
        raise Conflict(f"the daemon of town {town.name} is already running (pid {_read_pid(root)})")
    argv = [sys.executable, "-P", "-m", "gastown_server.patrol.daemon", str(root)]  # -P: see revive.spawn
    if interval_s is not None:
        argv += ["--interval", str(interval_s)]
    log = open(layout.daemon_log_path(root), "a")
    try:
        proc = subprocess.Popen(
            argv, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True,
            env=daemon_env(),
        )
    finally:
        log.close()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if _locked_by_other(root) and _read_pid(root) == proc.pid:
            return status_of(root)
        code = proc.poll()
        if code is not None:
            if _locked_by_other(root):  # lost a race to another starter: that one runs
                return status_of(root)
            raise Unavailable(f"the daemon exited at start (exit {code}); see {layout.daemon_log_path(root)}")
        time.sleep(0.02)
    raise Unavailable(f"the daemon did not come up within {wait_s:g}s; see {layout.daemon_log_path(root)}")


def ensure_running(town, *, interval_s: float | None = None) -> DaemonStatus:
    from . import revive

    try:
        return start(town, interval_s=interval_s)
    except Conflict:
        revive.want(town.root, interval_s)
        return status(town)


def standby(root: Path, *, poll_s: float = 1.0) -> int:
    """Wait to be the daemon: whenever the town is wanted up and nobody holds the lock, run it.

    What a supervisor (systemd) runs: a daemon killed by any means is replaced
    within ``poll_s``; after ``gt down`` it waits quietly for the next ``gt up``.
    SIGTERM/SIGINT end it (a running loop stops after its beat).
    """
    from . import revive

    root = Path(root).resolve()
    stopping = lifetime.StopSignal().install()
    while not stopping:
        if revive.is_wanted(root) and not revive.daemon_alive(root):
            try:
                run(root, interval_s=revive.wanted_interval(root), revive=True)
            except Conflict:
                pass  # another starter won the lock
            if stopping:
                break
            stopping.install()  # run() installed its own
        time.sleep(poll_s)
    return 0


def stop(town, *, timeout_s: float = 10.0) -> bool:
    """Stop the daemon (SIGTERM, then SIGKILL).  False if it was not running.

    The wish to be up goes first, so no reviver brings it back meanwhile (a
    revived daemon checks it again after taking the lock).
    """
    from . import revive

    root = town.root
    revive.unwant(root)
    if not _locked_by_other(root):
        return False
    pid = _lock_holder(root) or _read_pid(root)
    if pid <= 0:
        raise Unavailable(f"the daemon holds its lock but {layout.daemon_pid_path(root)} has no pid")
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _locked_by_other(root):
                return True
            time.sleep(0.02)
    raise Unavailable(f"the daemon (pid {pid}) did not stop")


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="gastown-daemon")
    p.add_argument("root")
    p.add_argument("--interval", type=float, default=None)
    p.add_argument("--beats", type=int, default=None)
    p.add_argument("--revive", action="store_true", help="started by a reviver: run only if the town is wanted up")
    p.add_argument("--standby", action="store_true", help="wait to take over whenever no daemon runs (supervisors)")
    args = p.parse_args(argv)
    from ..errors import GastownError

    try:
        if args.standby:
            return standby(Path(args.root))
        return run(Path(args.root), interval_s=args.interval, beats=args.beats, revive=args.revive)
    except Conflict as exc:
        if args.revive:  # two revivers raced: the other one runs the town
            return 0
        print(f"gastown-daemon: error: {exc.message}", file=sys.stderr)
        return 1
    except GastownError as exc:
        print(f"gastown-daemon: error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
