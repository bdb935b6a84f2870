"""bubblewrap: the binary, a one-time probe, and the argv of a :class:`~.policy.View`.

The launch is ``/bin/sh -c '<make dirs>; [helper &] exec "$@"' bwrap ARGS -- cmd...``:
the directories a view binds are created *outside* the sandbox, by the pane's
own shell (the code that started the session may be a sandboxed Witness that
cannot see them).  bwrap runs in the pane's process group, so the SIGTERM
``TownTmux.stop`` sends to the group reaches the agent itself as well.

A session's *helper* (the Refinery's git broker, ``broker.py``) is started in
the background by that same shell, just before it execs bwrap: the agent does
not wait for the helper's interpreter to start (that cost 111 ms p50 per
Refinery start when the broker was the pane's launcher); the helper's clients
wait for its socket instead.  The helper is bwrap's child and in the pane's
process group: it ends with the session (SIGTERM/SIGHUP, or its parent gone).
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess

from ..errors import Unavailable
from .policy import View

INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)"
#: ``$@`` = dirs, ``--``, then the bwrap argv.  mkdir by its path: this runs outside
#: the sandbox, with the environment the session was given.
_MAKE_DIRS = 'for d; do shift; [ "$d" = -- ] && break; {mkdir} -p -m 700 -- "$d" || exit 126; done; '


#: Seconds the session helper (git broker, tmux gate) starts after the pane (see :func:`argv`).
HELPER_DELAY_S = 0.05


class SandboxUnavailable(Unavailable):
    """bwrap is missing or cannot make a sandbox here: the agent is not started (never unsandboxed)."""


def binary() -> str:
    found = shutil.which("bwrap")
    if not found:
        raise SandboxUnavailable(
            f"agent sandbox: bwrap not found: {INSTALL_HINT}, or turn sandboxing off for this town "
            "(gt config sandbox off: agents then see all your files)"
        )
    return found


@functools.lru_cache(maxsize=4)
def probe(bwrap: str) -> None:
    """Make one tiny sandbox (once per process): no user namespaces, a seccomp policy... -> one line.

    Skipped inside a sandbox (a Witness starting a polecat): namespaces cannot
    nest there, and the session's bwrap is run by the tmux server, outside.
    """
    if os.environ.get("GT_SANDBOX"):
        return
    try:
        proc = subprocess.run(
            [bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--cap-drop", "ALL", "--", "/bin/true"],
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(f"agent sandbox: cannot run {bwrap}: {exc}") from None
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise SandboxUnavailable(
            f"agent sandbox: bwrap cannot make a sandbox on this machine ({why}); enable unprivileged user "
            "namespaces (sysctl kernel.unprivileged_userns_clone=1) or turn sandboxing off (gt config sandbox off)"
        )


def argv(view: View, command: list[str], *, bwrap: str, chdir: str, helper: list[str] | None = None,
         helper_log: str = "") -> list[str]:
    """The full pane command for ``command`` inside ``view`` (``helper``: started beside it, outside)."""
    args = [bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL"]
    if view.network == "none":
        args.append("--unshare-net")
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]
    for m in view.mounts:
        if m.kind == "ro":
            args += ["--ro-bind", m.src or m.path, m.path]
        elif m.kind == "rw":
            args += ["--bind", m.src or m.path, m.path]
        elif m.kind == "rw-try":
            args += ["--bind-try", m.src or m.path, m.path]
        elif m.kind == "tmpfs":
            args += ["--tmpfs", m.path]
        elif m.kind == "symlink":
            args += ["--symlink", m.src, m.path]
        elif m.kind == "null":
            args += ["--ro-bind", "/dev/null", m.path]
        elif m.kind == "dir-ro":
            args += ["--perms", "0555", "--dir", m.path]
    args += ["--chdir", chdir, "--", *command]
    script = _MAKE_DIRS.format(mkdir=_mkdir())
    if helper:
        log = shlex.quote(helper_log or "/dev/null")
        # $$: this shell's pid, which the exec makes bwrap's: the helper ends when it is gone.
        # After bwrap has made the sandbox, and at a lower priority: on a busy 2-core machine the
        # helper's interpreter start took the CPU bwrap needed (Refinery starts 35-105 ms instead
        # of ~17); its clients wait for its socket (broker.connect), the agent waits for nothing.
        script += (f"{{ {_sleep()} {HELPER_DELAY_S}; exec {_nice()} -n 10 {shlex.join(helper)} --parent $$; }}"
                   f" </dev/null >>{log} 2>&1 & ")  # fmt: skip
    return ["/bin/sh", "-c", script + 'exec "$@"', "gt-sandbox", *view.make_dirs, "--", *args]


@functools.lru_cache(maxsize=1)
def _sleep() -> str:
    return shutil.which("sleep", path="/usr/bin:/bin") or "/bin/sleep"


@functools.lru_cache(maxsize=1)
def _nice() -> str:
    return shutil.which("nice", path="/usr/bin:/bin") or "/usr/bin/nice"


@functools.lru_cache(maxsize=1)
def _mkdir() -> str:
    return shutil.which("mkdir", path="/usr/bin:/bin") or "/bin/mkdir"
