"""``gt doctor``: check a town and say how to fix each finding.

Each check returns :class:`Finding` rows: a stable ``check`` id, a
``severity`` (``ok``, ``warning``, ``error``), what is wrong and the command
or step that fixes it.  A few findings are safe to repair mechanically
(``fixable``); :func:`run` with ``fix=True`` repairs those and marks them
``fixed``.  Nothing here starts or stops agents.

Adapters: ``gt doctor [--fix] [--json]`` (exit 1 when an error remains) and
the RPC method ``doctor/run``.  Checks read; only ``fix=True`` writes.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import msgspec

from ..paths import ledger_path
from . import layout

OK = "ok"
WARNING = "warning"
ERROR = "error"

#: An ``index.lock`` older than this with no git running is a leftover of a killed git.
STALE_LOCK_S = 60.0
#: A running daemon that has not beaten for this many intervals is wedged.
STALE_BEATS = 5


class Finding(msgspec.Struct, omit_defaults=False):
    check: str
    severity: str
    message: str
    #: How to fix it (a command or a step); empty for ``ok``.
    fix: str = ""
    #: ``gt doctor --fix`` can repair it.
    fixable: bool = False
    #: It was repaired by this run.
    fixed: bool = False
    #: The file or directory concerned, when there is one.
    path: str = ""


class DoctorReport(msgspec.Struct, omit_defaults=False):
    town: str
    root: str
    ok: bool
    errors: int
    warnings: int
    findings: list[Finding]


class _Checks:
    """The state shared by the checks of one run (the town, whether to repair)."""

    def __init__(self, town, fix: bool) -> None:
        self.town = town
        self.root: Path = town.root
        self.fix = fix
        self.config = None
        self.ledger_ok = False


def _ok(check: str, message: str, path: str = "") -> Finding:
    return Finding(check=check, severity=OK, message=message, path=path)


# -- checks --------------------------------------------------------------------------


def _check_config(c: _Checks) -> Iterator[Finding]:
    from . import config

    path = layout.config_path(c.root)
    try:
        c.config = config.load(c.root)
    except Exception as exc:  # noqa: BLE001 - any failure to load is the finding
        yield Finding("config", ERROR, getattr(exc, "message", str(exc)), path=str(path),
                      fix=f"repair {path} (valid JSON, the keys of docs/town-layout.md) or reinstall: gt install {c.root}")
        return
    yield _ok("config", f"{path.relative_to(c.root)} is valid (town {c.config.name})", str(path))


def _check_ledger(c: _Checks) -> Iterator[Finding]:
    path = ledger_path(c.root)
    if not path.exists():
        yield Finding("ledger", ERROR, f"no ledger at {path}", fix=f"gt install {c.root}", path=str(path))
        return
    try:
        ledger = c.town.ledger
        integrity = ledger.integrity_check()
    except Exception as exc:  # noqa: BLE001 - sqlite3.DatabaseError and friends: the finding
        yield Finding("ledger", ERROR, f"ledger {path} is not readable: {exc}", path=str(path),
                      fix=f"restore it from git: bd import <rig>/repo/.beads/issues.jsonl into a fresh ledger "
                          f"(move {path.name} aside first)")  # fmt: skip
        return
    if integrity != "ok":
        yield Finding("ledger", ERROR, f"ledger integrity check failed: {integrity}", path=str(path),
                      fix="bd vacuum; if it persists, re-import the exported JSONL (bd export / bd import)")
        return
    c.ledger_ok = True
    yield _ok("ledger", f"ledger readable, integrity ok ({path.relative_to(c.root)})", str(path))
    try:
        with ledger.atomic():  # BEGIN IMMEDIATE: takes the write lock, writes nothing
            pass
    except Exception as exc:  # noqa: BLE001
        yield Finding("ledger-writable", ERROR, f"ledger is not writable: {exc}", path=str(path),
                      fix=f"give this user write access to {path.parent} and the files in it (chown/chmod)")
    else:
        yield _ok("ledger-writable", "ledger writable")


def _check_permissions(c: _Checks) -> Iterator[Finding]:
    state = layout.state_dir(c.root)
    bad = []
    for p in (state, ledger_path(c.root)):
        try:
            mode = p.stat().st_mode
        except OSError:
            continue
        if not os.access(p, os.R_OK | os.W_OK):
            yield Finding("permissions", ERROR, f"{p} is not readable and writable by this user", path=str(p),
                          fix=f"chown {os.getuid()} {p} (or run gt as its owner)")
        if mode & stat.S_IWOTH:
            bad.append(p)
    for p in bad:
        yield Finding("permissions", WARNING, f"{p} is world-writable: any local user can rewrite the ledger",
                      fix=f"chmod o-w {p}", path=str(p))  # fmt: skip
    if not bad:
        yield _ok("permissions", f"{state.name}/ and the ledger are not world-writable")


def _check_blocked_cache(c: _Checks) -> Iterator[Finding]:
    if not c.ledger_ok:
        return
    from ..beads.readiness import cache_drift

    ledger = c.town.ledger
    drift = cache_drift(ledger)
    if not drift:
        yield _ok("blocked-cache", "blocked cache exact")
        return
    f = Finding("blocked-cache", ERROR, f"blocked cache wrong for {len(drift)} bead(s): {', '.join(drift[:5])}",
                fix="gt doctor --fix (or bd doctor --fix): rebuild the blocked cache", fixable=True)
    if c.fix:
        ledger.rebuild_blocked(actor="doctor")
        f.fixed = not cache_drift(ledger)
    yield f


def _check_tmux(c: _Checks) -> Iterator[Finding]:
    binary = shutil.which("tmux")
    if not binary:
        yield Finding("tmux", ERROR, "tmux not found on PATH: agents cannot run",
                      fix="install tmux 3.2 or newer (apt-get install tmux)")
        return
    try:
        out = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        yield Finding("tmux", ERROR, f"{binary} -V failed: {exc}", fix="reinstall tmux")
        return
    version = _tmux_version(out)
    if version and version < (3, 2):
        yield Finding("tmux", WARNING, f"{out} is older than 3.2 (client_activity idle checks may misbehave)",
                      fix="upgrade tmux to 3.2 or newer")
        return
    yield _ok("tmux", f"{out} at {binary}")


def _tmux_version(text: str) -> tuple[int, int] | None:
    import re

    m = re.search(r"(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_daemon(c: _Checks) -> Iterator[Finding]:
    from ..patrol.daemon import status_of

    st = status_of(c.root)
    pid_file = layout.daemon_pid_path(c.root)
    if st.running:
        interval = st.interval_s or 30.0
        age = time.time() - st.last_beat if st.last_beat else 0.0
        if st.last_beat and age > STALE_BEATS * interval:
            yield Finding("daemon", WARNING, f"daemon (pid {st.pid}) has not beaten for {age:.0f}s "
                          f"(interval {interval:g}s)", fix="gt daemon stop && gt daemon start; see "
                          f"{layout.daemon_log_path(c.root)}")  # fmt: skip
        else:
            yield _ok("daemon", f"daemon running (pid {st.pid}, {st.beats} beats)")
        return
    try:
        stale_pid = int(pid_file.read_text().strip() or 0)
    except (OSError, ValueError):
        stale_pid = 0
    if stale_pid and not _pid_alive(stale_pid):
        f = Finding("stale-locks", WARNING, f"{pid_file.name} names pid {stale_pid}, which is not running "
                    "(a daemon that died)", fix=f"gt doctor --fix (removes {pid_file}), then gt daemon start",
                    fixable=True, path=str(pid_file))  # fmt: skip
        if c.fix:
            try:
                pid_file.unlink()
                f.fixed = True
            except FileNotFoundError:
                f.fixed = True
        yield f
    yield Finding("daemon", WARNING, "daemon not running: nobody restarts dead agents or wakes Boot",
                  fix="gt daemon start (or gt up)")


def _check_runtimes(c: _Checks) -> Iterator[Finding]:
    if c.config is None:
        return
    from ..runtime import runtimes
    from . import config
    from .identity import ROLES

    seen: dict[str, list[str]] = {}
    for role in ROLES:
        try:
            preset = config.resolve_agent(c.config, role=role)
        except Exception as exc:  # noqa: BLE001
            yield Finding("runtimes", ERROR, f"role {role}: {getattr(exc, 'message', exc)}",
                          fix="gt config agent list; gt config agent default <name> [--role ROLE]")
            continue
        seen.setdefault(preset.name, []).append(role)
    for name, roles in seen.items():
        preset = config.resolve_agent(c.config, name)
        try:
            found = runtimes.check_available(preset)
        except Exception as exc:  # noqa: BLE001
            yield Finding("runtimes", ERROR, f"{getattr(exc, 'message', exc)} (used by: {', '.join(roles)})",
                          fix=f"install {name}'s CLI, or gt config agent default script [--role ROLE]")
            continue
        yield _ok("runtimes", f"runtime {name} at {found} (roles: {', '.join(roles)})")


def _check_messaging(c: _Checks) -> Iterator[Finding]:
    from ..work import mailing

    path = mailing.config_path(c.root)
    if not path.exists():
        yield _ok("messaging", "no settings/messaging.json (no mailing lists or queues)")
        return
    try:
        cfg = mailing.load(c.root)
    except Exception as exc:  # noqa: BLE001
        yield Finding("messaging", ERROR, getattr(exc, "message", str(exc)), path=str(path),
                      fix=f"repair {path} (gt mail lists shows the expected shape; docs/lifecycle.md)")
        return
    yield _ok("messaging", f"messaging.json valid ({len(cfg.lists)} list(s), {len(cfg.queues)} queue(s))", str(path))


def _git(repo: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *argv], capture_output=True, text=True, timeout=30)


def _check_rigs(c: _Checks) -> Iterator[Finding]:
    if not c.ledger_ok:
        return
    try:
        rigs = c.town.rigs()
    except Exception as exc:  # noqa: BLE001
        yield Finding("rigs", ERROR, f"rig beads unreadable: {exc}", fix="bd list --type rig --json; bd doctor")
        return
    if not rigs:
        yield _ok("rigs", "no rigs yet (gt rig add <name> <git-url-or-path>)")
    for rig in rigs:
        yield from _check_rig(c, rig)


def _check_rig(c: _Checks, rig) -> Iterator[Finding]:
    repo = Path(rig.repo)
    if not (repo / ".git").exists() and not (repo / "HEAD").exists():
        yield Finding("rigs", ERROR, f"rig {rig.name}: canonical clone {repo} is missing or not a git repository",
                      fix=f"gt rig remove {rig.name} --force && gt rig add {rig.name} {rig.url}", path=str(repo))
        return
    proc = _git(repo, "worktree", "list", "--porcelain")
    if proc.returncode != 0:
        yield Finding("rigs", ERROR, f"rig {rig.name}: git worktree list failed: {proc.stderr.strip()}",
                      fix=f"git -C {repo} fsck", path=str(repo))
        return
    registered, prunable = set(), []
    for block in proc.stdout.strip().split("\n\n"):
        lines = block.splitlines()
        if not lines or not lines[0].startswith("worktree "):
            continue
        path = lines[0].split(" ", 1)[1]
        registered.add(str(Path(path).resolve()) if Path(path).exists() else path)
        if any(line.startswith("prunable") for line in lines):
            prunable.append(path)
    problems = 0
    if prunable:
        problems += 1
        f = Finding("worktrees", WARNING, f"rig {rig.name}: {len(prunable)} worktree(s) registered but gone: "
                    f"{', '.join(prunable)}", fix=f"gt doctor --fix (runs git -C {repo} worktree prune)",
                    fixable=True, path=str(repo))  # fmt: skip
        if c.fix:
            f.fixed = _git(repo, "worktree", "prune").returncode == 0
        yield f
    polecats = layout.rig_dir(c.root, rig.name) / layout.RIG_POLECATS
    for d in sorted(polecats.iterdir()) if polecats.is_dir() else ():
        if d.is_dir() and str(d.resolve()) not in registered:
            problems += 1
            yield Finding("worktrees", WARNING, f"rig {rig.name}: {d} is not a git worktree of {repo}",
                          fix=f"move anything you need out of it, then rm -rf {d} (gt polecat nuke {d.name} "
                              f"--rig {rig.name} if it is a polecat)", path=str(d))  # fmt: skip
    for where in [repo, *(Path(p) for p in sorted(registered) if Path(p).is_dir())]:
        problems += yield from _stale_index_lock(c, rig, where)
    if not problems:
        yield _ok("rigs", f"rig {rig.name}: clone and {len(registered) - 1} worktree(s) sane", str(repo))


def _stale_index_lock(c: _Checks, rig, where: Path):
    proc = _git(where, "rev-parse", "--git-path", "index.lock")
    if proc.returncode != 0:
        return 0
    lock = Path(proc.stdout.strip())
    lock = lock if lock.is_absolute() else where / lock
    try:
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return 0
    if age < STALE_LOCK_S:
        return 0
    f = Finding("stale-locks", WARNING, f"rig {rig.name}: {lock} is {age:.0f}s old (a git that was killed left it)",
                fix=f"if no git runs in {where}: rm {lock} (gt doctor --fix does)", fixable=True, path=str(lock))
    if c.fix:
        try:
            lock.unlink()
            f.fixed = True
        except FileNotFoundError:
            f.fixed = True
    yield f
    return 1


def _check_sandbox(c: _Checks) -> Iterator[Finding]:
    """Agent sandboxes on, and bwrap able to make one (docs/security.md)."""
    from ..errors import GastownError
    from ..sandbox import bwrap

    try:
        enabled = c.town.config.sandbox.enabled
    except GastownError:
        return  # the config check reports it
    if not enabled:
        yield Finding("sandbox", WARNING, "agent sandboxes are off: every agent can read all your files",
                      fix="gt config sandbox on")  # fmt: skip
        return
    try:
        bwrap.probe(bwrap.binary())
    except GastownError as exc:
        yield Finding("sandbox", ERROR, f"{exc.message} (no agent can start)", fix=bwrap.INSTALL_HINT)
        return
    yield _ok("sandbox", "agent sandboxes on; bwrap can make one here")


CHECKS: tuple[tuple[str, Callable[[_Checks], Iterator[Finding]]], ...] = (
    ("config", _check_config),
    ("ledger", _check_ledger),
    ("permissions", _check_permissions),
    ("blocked-cache", _check_blocked_cache),
    ("tmux", _check_tmux),
    ("daemon", _check_daemon),
    ("runtimes", _check_runtimes),
    ("sandbox", _check_sandbox),
    ("messaging", _check_messaging),
    ("rigs", _check_rigs),
)


def run(town, *, fix: bool = False, only: list[str] | None = None) -> DoctorReport:
    """Every check (or the ``only`` ones, by id) over ``town``; with ``fix``, repair what is safe to."""
    from ..errors import InvalidInput

    known = {name for name, _ in CHECKS}
    unknown = sorted(set(only or ()) - known)
    if unknown:
        raise InvalidInput(f"unknown doctor check(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    c = _Checks(town, fix)
    findings: list[Finding] = []
    for name, check in CHECKS:
        # config and ledger feed later checks (runtimes need the config), so they always run.
        if only and name not in only and name not in ("config", "ledger"):
            continue
        for f in check(c):
            if only and f.check not in only and not (name in only):
                continue
            findings.append(f)
    errors = sum(f.severity == ERROR and not f.fixed for f in findings)
    warnings = sum(f.severity == WARNING and not f.fixed for f in findings)
    name = c.config.name if c.config is not None else c.root.name
    return DoctorReport(town=name, root=str(c.root), ok=errors == 0, errors=errors, warnings=warnings,
                        findings=findings)  # fmt: skip
