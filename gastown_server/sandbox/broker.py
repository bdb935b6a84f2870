"""The Refinery's git broker: ``fetch``/``push`` run outside its sandbox, with the rig's secrets.

A sandboxed Refinery's pane shell starts ``python -I -S .../sandbox/broker.py
--socket S --repo R --town T --rig N`` in the background (stdlib only), then
execs bwrap (``bwrap.py``): the agent's start does not wait for this
interpreter; :func:`connect` waits for the socket instead.  The broker stays
outside the sandbox, in the pane's process group (``TownTmux.stop``'s SIGTERM
ends it with the agent; it also exits when its parent, the session's bwrap,
is gone), and serves one unix socket that only the Refinery's sandbox mounts.  The Refinery's git calls to its
remote (:func:`remote_git`) go through it; the credential never enters the
sandbox: git here asks the town's credential helper
(``secrets.credential_main``), which reads the 0600 store.

What the broker runs is narrow: ``git fetch`` or ``git push`` in the rig's
clone, plain flags and refspecs only, to a remote whose URL is the rig's
recorded URL (given at start, not read from the clone's config, which the
Refinery can write), with hooks, ``core.sshCommand``/``gitProxy``/``fsmonitor``,
``uploadpack``/``receivepack`` and unusual transports (``ext::``) disabled:
a Refinery cannot make it run a command of its choice outside.

Without a sandbox (town setting off, or a Refinery run by hand), the same
:func:`remote_git` runs git directly with the credential helper.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable

BROKER_ENV = "GT_GIT_BROKER"
#: Where a Refinery's sandbox sees its broker directory (short: AF_UNIX paths are limited).
INSIDE_DIR = "/run/gastown-broker"
_OPS = ("fetch", "push")
_FLAGS = frozenset({"-q", "--quiet", "--prune", "--no-tags", "--tags", "--atomic", "--porcelain", "--force", "-f"})
_REFSPEC = re.compile(r"^\+?[A-Za-z0-9_./@{}^~-]*(:[A-Za-z0-9_./-]*)?$")
_REMOTE = re.compile(r"^[A-Za-z0-9_.-]+$")
MAX_REQUEST = 64 * 1024
#: The git binary (``--git``; "git" when this module is imported by a Refinery run without a sandbox).
GIT = "git"


class BrokerError(Exception):
    pass


def _safe_config(town: str, rig: str, url: str = "") -> list[str]:
    # --url: the helper answers only for the rig's recorded origin; the clone's config (the
    # Refinery's to write) may rewrite the URL (url.<x>.insteadOf) to a host of its choice.
    helper = f"!{sys.executable} -I -m gastown_server.sandbox.secrets --town {_sh(town)} --rig {_sh(rig)}"
    if url:
        helper += f" --url {_sh(url)}"
    return [
        "-c", "credential.helper=", "-c", f"credential.helper={helper}",
        "-c", "core.hooksPath=/dev/null", "-c", "core.sshCommand=ssh", "-c", "core.gitProxy=",
        "-c", "core.fsmonitor=false", "-c", "protocol.allow=never",
        *(x for proto in ("https", "http", "ssh", "git", "file") for x in ("-c", f"protocol.{proto}.allow=always")),
    ]  # fmt: skip


def _sh(text: str) -> str:
    import shlex

    return shlex.quote(text)


def git_argv(args: list[str], *, url: str, configured_url: str, town: str, rig: str) -> list[str]:
    """Validate a request and build the git command that serves it (raises :class:`BrokerError`)."""
    if not args or args[0] not in _OPS:
        raise BrokerError(f"the git broker runs only {' and '.join(_OPS)}, not {args[:1]}")
    op, rest = args[0], args[1:]
    flags = [a for a in rest if a.startswith("-")]
    positional = [a for a in rest if not a.startswith("-")]
    bad = [f for f in flags if f not in _FLAGS]
    if bad:
        raise BrokerError(f"git {op}: option {bad[0]!r} is not allowed through the broker")
    if not positional or not _REMOTE.match(positional[0]):
        raise BrokerError(f"git {op}: give a remote name first")
    if not _same_url(configured_url, url):
        raise BrokerError(
            f"remote {positional[0]!r} points at {configured_url or 'nothing'}, not the rig's recorded URL {url}"
        )
    for spec in positional[1:]:
        if not _REFSPEC.match(spec):
            raise BrokerError(f"git {op}: bad refspec {spec!r}")
    extra = []
    rname = positional[0]
    extra += ["-c", f"remote.{rname}.uploadpack=git-upload-pack", "-c", f"remote.{rname}.receivepack=git-receive-pack"]
    return [GIT, *_safe_config(town, rig, url), *extra, op, *flags, url, *positional[1:]]


#: What the clone's own config (the Refinery's to write) may set for the broker to run git in it.
#: Anything else could choose a program git runs outside (core.askPass, gpg.program with
#: push.gpgSign, submodule fetches) or where it connects and whom it trusts (url.*.insteadOf,
#: http.proxy, http.sslVerify, include.path...); -c cannot reset URL-specific http.* entries.
_CLONE_CONFIG_OK = re.compile(
    r"^(core\.(repositoryformatversion|filemode|bare|logallrefupdates|ignorecase|precomposeunicode|symlinks"
    r"|autocrlf|eol|safecrlf|quotepath|abbrev)"
    r"|remote\.[^=]+\.(url|fetch|tagopt|prune|mirror|skipdefaultupdate)"
    r"|branch\.[^=]+\.(remote|merge|rebase|description)"
    r"|(user|merge|gc|extensions|init|pull|rerere|advice|color|log|status|index|commit|rebase|diff|format|checkout"
    r"|feature|i18n|column|help)\.[^=]+)=",
    re.I,
)


def _clone_config_refusal(repo: str) -> str:
    """The first key of the clone's local/worktree config the broker will not run git with ("" if none)."""
    p = subprocess.run([GIT, "-C", repo, "config", "--list", "--show-scope", "--includes"], capture_output=True,
                       text=True, env=_git_env())  # fmt: skip
    for line in p.stdout.splitlines():
        scope, _, entry = line.partition("\t")
        if scope in ("local", "worktree") and not _CLONE_CONFIG_OK.match(entry):
            return entry.split("=", 1)[0]
    return ""


def _same_url(a: str, b: str) -> bool:
    if a == b:
        return bool(a)
    local = [x[7:] if x.startswith("file://") else x for x in (a, b)]
    return all(os.path.isabs(x) or x.startswith(".") for x in local) and len({os.path.realpath(x) for x in local}) == 1


def _configured_url(repo: str, remote: str) -> str:
    p = subprocess.run([GIT, "-C", repo, "config", "--get", f"remote.{remote}.url"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else ""


def _redact(text: str, town: str) -> str:
    """Blank any secret value out of git's output (the store read directly: this file runs with ``-S``)."""
    try:
        with open(os.path.join(town, ".gastown", "secrets", "secrets.json"), "rb") as f:
            store = json.loads(f.read() or b"{}")
    except (OSError, ValueError):
        return text
    for names in store.values():
        for entry in names.values():
            value = entry.get("value", "")
            if len(value) >= 6:
                text = text.replace(value, "[secret]")
    return text


def serve_one(conn: socket.socket, *, repo: str, url: str, town: str, rig: str, env: dict[str, str]) -> None:
    with conn:
        try:
            req = json.loads(recv_line(conn, MAX_REQUEST))
            args = [str(a) for a in req["args"]]
            remote = next((a for a in args[1:] if not a.startswith("-")), "")
            argv = git_argv(args, url=url, configured_url=_configured_url(repo, remote), town=town, rig=rig)
            key = _clone_config_refusal(repo)
            if key:
                raise BrokerError(f"the clone's config sets {key}, which the broker does not run git with "
                                  f"(remove it: git -C {repo} config --unset-all {key})")
            proc = subprocess.run(argv, cwd=repo, capture_output=True, text=True, env=env, timeout=float(req.get("timeout") or 600))
            reply = {"rc": proc.returncode, "stdout": _redact(proc.stdout, town), "stderr": _redact(proc.stderr, town)}
        except BrokerError as exc:
            reply = {"rc": 128, "stdout": "", "stderr": f"fatal: {exc}\n"}
        except subprocess.TimeoutExpired:
            reply = {"rc": 128, "stdout": "", "stderr": "fatal: git timed out in the broker\n"}
        except (ValueError, KeyError, TypeError) as exc:
            reply = {"rc": 128, "stdout": "", "stderr": f"fatal: bad broker request: {exc}\n"}
        send_reply(conn, reply)


#: Variables the broker's own environment (the session's) may not pass to git: git's own
#: (``GIT_SSH_COMMAND``, ``GIT_EXEC_PATH``, ``GIT_ASKPASS``... run programs) and the loader's.
_UNSAFE_ENV = re.compile(r"^(GIT_|LD_|SSH_|GCONV_PATH$|BASH_ENV$|ENV$|PYTHON|PATH$)")


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not _UNSAFE_ENV.match(k)}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["HOME"] = "/nonexistent"  # not the agent's HOME: its .gitconfig is the agent's to write
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="gastown-git-broker", description="Serve a sandboxed Refinery's git remote calls.")
    p.add_argument("--socket", required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--town", required=True)
    p.add_argument("--rig", required=True)
    p.add_argument("--url", default=None, help="the rig's remote URL (default: the clone's origin at start)")
    p.add_argument("--git", default="git", help="the git binary (resolved by the starter: PATH here is the system's)")
    p.add_argument("--parent", type=int, default=0, help="the session's pid (bwrap's): end when it is gone")
    args = p.parse_args(argv)
    done = start_session_helper(args.parent)
    if done is None:
        return 0
    global GIT
    GIT = args.git
    url = args.url if args.url is not None else _configured_url(args.repo, "origin")
    env = _git_env()

    def handle(conn: socket.socket) -> None:
        serve_one(conn, repo=args.repo, url=url, town=args.town, rig=args.rig, env=env)

    serve_session(args.socket, handle, done, parent=args.parent)
    return 0


# -- what the session helpers (this broker, the tmux gate) share --------------------------


def start_session_helper(parent: int) -> _Ended | None:
    """A helper's first step: the end-of-session handlers (:func:`_on_session_end`); ``None``
    when the session, ``parent``, ended before this started (it starts after the agent:
    bwrap.py), and the helper should exit at once."""
    done = _on_session_end()
    if parent and os.getppid() != parent:
        return None
    return done


def serve_session(path: str, handle: Callable[[socket.socket], None], done: _Ended, *, parent: int = 0) -> None:
    """Listen at ``path`` and hand each connection to ``handle`` in a thread of its own, until
    the session ends (:func:`serve_until_session_ends`)."""
    srv, ident = bind(path)

    def accept() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    serve_until_session_ends(srv, path, ident, done, parent=parent)


def recv_line(conn: socket.socket, limit: int | None = None) -> bytes:
    """What the peer sends up to a newline (a request or a reply is one JSON line), its close,
    or ``limit`` bytes, whichever comes first."""
    data = b""
    while not data.endswith(b"\n") and (limit is None or len(data) < limit):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def send_reply(conn: socket.socket, reply: dict) -> None:
    try:
        conn.sendall(json.dumps(reply).encode() + b"\n")
    except OSError:
        pass  # the client is gone: nobody to tell


def ask(path: str, req: dict) -> dict:
    """One request to the session helper at ``path``, and its reply; raises ``OSError`` or
    ``ValueError`` when it does not answer (each caller words that failure its own way)."""
    with connect(path) as s:
        s.sendall(json.dumps(req).encode() + b"\n")
        data = recv_line(s)
    return json.loads(data)


def bind(path: str) -> tuple[socket.socket, tuple[int, int]]:
    """Listen on ``path`` (mode 0600 in a 0700 directory); returns the socket and its (dev, ino)."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old, here = os.umask(0o077), os.getcwd()
    try:
        # Relative: a town's path can make the socket's longer than AF_UNIX's 107 bytes
        # (the sandbox mounts the directory at a short path, INSIDE_DIR).
        os.chdir(os.path.dirname(path))
        srv.bind(os.path.basename(path))
    finally:
        os.chdir(here)
        os.umask(old)
    srv.listen(16)
    st = os.stat(path)
    return srv, (st.st_dev, st.st_ino)


class _Ended:
    """Set by SIGTERM/SIGHUP/SIGINT.  A plain flag: a handler that called ``Event.set`` while the
    main thread waited on that Event deadlocked on its lock (a helper outlived its session)."""

    def __init__(self) -> None:
        self.flag = False

    def is_set(self) -> bool:
        return self.flag


def _on_session_end() -> _Ended:
    """Installed first thing: a stop right after the start must still clean up."""
    done = _Ended()

    def handler(_s, _f) -> None:
        done.flag = True

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, handler)
    return done


def serve_until_session_ends(srv: socket.socket, path: str, ident: tuple[int, int], done: _Ended, *,
                             parent: int = 0) -> None:
    """Block until the session ends: a signal (the pane's group is sent SIGTERM or SIGHUP) or
    ``parent`` (the session's bwrap, which the pane's shell became: ``$$``) gone, even by SIGKILL.
    It may be gone before this started (then we are already the init's child)."""
    import time

    parent = parent or os.getppid()
    while os.getppid() == parent and not done.is_set():
        time.sleep(0.2)
    srv.close()
    try:
        st = os.stat(path)
        # A respawned session's broker may already listen at the same path: not ours to remove.
        if (st.st_dev, st.st_ino) == ident:
            os.unlink(path)
    except OSError:
        pass


def connect(path: str, *, wait_s: float = 30.0) -> socket.socket:
    """Connect to a session helper's socket, waiting while it starts (it is started beside the
    agent, not before it: see ``bwrap.py``)."""
    import time

    deadline = time.monotonic() + wait_s
    delay = 0.005
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        except OSError:
            s.close()
            raise


def remote_git(repo, args: list[str], *, town: str, rig: str):
    """``git fetch|push ...`` for the Refinery: through the broker inside a sandbox, else directly.

    Returns a ``subprocess.CompletedProcess``-like result (``returncode``, ``stdout``, ``stderr``).
    """
    sock = os.environ.get(BROKER_ENV)
    if not sock:
        return repo.run(*_safe_config(town, rig), *args, check=False)
    try:
        reply = ask(sock, {"args": args})
    except (OSError, ValueError) as exc:
        reply = {"rc": 128, "stdout": "", "stderr": f"fatal: the sandbox's git broker at {sock} did not answer: {exc}\n"}
    return subprocess.CompletedProcess(["git", *args], reply["rc"], reply["stdout"], reply["stderr"])


if __name__ == "__main__":
    sys.exit(main())
