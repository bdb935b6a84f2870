"""The loopback model as a town service: run in the foreground, or in the background recorded in the town.

A town's model proxy is recorded in ``<town>/.gastown/model-proxy.json``
(``{pid, port, url, mode, log}``); sessions whose runtime preset declares
``model_env`` get that URL (and a placeholder key) in their environment
(:func:`session_model_env`).  ``gt up`` starts a forward proxy by itself when
it finds ``ANTHROPIC_API_KEY``/``ANTHROPIC_AUTH_TOKEN`` in its environment
(:func:`ensure_forward_from_env`); the key goes to that one child process.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from ..errors import InvalidInput, Unavailable

STATE_FILE = "model-proxy.json"
KEY_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


class ProxyStatus(msgspec.Struct, omit_defaults=False):
    running: bool
    pid: int = 0
    port: int = 0
    url: str = ""
    mode: str = ""
    log: str = ""
    upstream: str = ""


def state_path(root: Path) -> Path:
    return Path(root) / ".gastown" / STATE_FILE


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def status(root: Path) -> ProxyStatus:
    try:
        data = json.loads(state_path(root).read_text())
        st = msgspec.convert({**data, "running": False}, ProxyStatus)
    except (OSError, ValueError, msgspec.ValidationError):
        return ProxyStatus(running=False)
    st.running = bool(st.pid) and _alive(st.pid)
    return st


def make_server(port: int = 0, *, log_path: Path | None = None, forward: bool = False, upstream: str = "",
                fault: str = "", env: dict | None = None):  # fmt: skip
    """A bound :class:`~.server.StubServer` (``Unavailable`` when the port is taken)."""
    from .server import StubServer, take_key_from_env

    if port < 0 or port > 65535:
        raise InvalidInput(f"bad port {port}: 0 (any free port) .. 65535")
    key = token = ""
    if forward:
        env = os.environ if env is None else env
        upstream = upstream or env.pop("ANTHROPIC_BASE_URL", "") or "https://api.anthropic.com"
        key, token = take_key_from_env(env)
        if not (key or token):
            raise InvalidInput("forward mode needs ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN in the environment")
        if not upstream.startswith(("http://", "https://")):
            raise InvalidInput(f"bad upstream URL {upstream!r} (http:// or https://)")
    try:
        return StubServer(port, log_path=log_path, upstream=upstream if forward else "", key=key, auth_token=token,
                          fault=fault)  # fmt: skip
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise Unavailable(f"port {port} on 127.0.0.1 is in use: pick another with --port, or 0 for any free one") from None
        raise Unavailable(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None


def serve_forever(server, *, root: Path | None = None, ready_file: Path | None = None) -> int:
    """Serve until SIGTERM/SIGINT; record the server in the town (``root``) while it runs."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    st = ProxyStatus(running=True, pid=os.getpid(), port=server.port, url=server.url, mode=server.mode,
                     log=str(server.log_path or ""), upstream=server.upstream)  # fmt: skip
    if root is not None:
        _write_state(root, st)
    if ready_file is not None:
        ready_file.write_text(json.dumps(msgspec.to_builtins(st)))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if root is not None and status(root).pid == os.getpid():
            state_path(root).unlink(missing_ok=True)
    return 0


def _write_state(root: Path, st: ProxyStatus) -> None:
    path = state_path(root)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(msgspec.json.encode(st))
    os.replace(tmp, path)


def start_background(root: Path, *, port: int = 0, forward: bool = False, upstream: str = "", log_path: Path | None = None,
                     fault: str = "", env: dict | None = None, wait_s: float = 10.0) -> ProxyStatus:  # fmt: skip
    """Start ``gt model-stub`` detached for the town (idempotent: a live one is returned as it is)."""
    current = status(root)
    if current.running:
        return current
    state_path(root).unlink(missing_ok=True)
    log_path = Path(log_path) if log_path else Path(root) / ".gastown" / "model-stub.jsonl"
    argv = [sys.executable, "-m", "gastown_server.cli.gt", "model-stub", "--port", str(port), "--log", str(log_path),
            "--town-service"]  # fmt: skip
    if forward:
        argv.append("--forward")
    if upstream:
        argv += ["--upstream", upstream]
    if fault:
        argv += ["--fault", fault]
    child_env = dict(os.environ if env is None else env)
    child_env["GT_TOWN"] = str(root)
    errors = Path(root) / ".gastown" / "model-stub.err"
    with open(errors, "wb") as err:
        proc = subprocess.Popen(argv, cwd=root, env=child_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True, close_fds=True)  # fmt: skip
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        st = status(root)
        if st.running and st.pid == proc.pid:
            return st
        if proc.poll() is not None:
            line = (errors.read_text(errors="replace").strip().splitlines() or ["exited"])[-1]
            raise Unavailable(f"the model proxy did not start: {line.removeprefix('gt: error: ')}")
        time.sleep(0.05)
    proc.terminate()
    raise Unavailable(f"the model proxy did not start within {wait_s:g}s (see {errors})")


def stop(root: Path, *, grace_s: float = 3.0) -> bool:
    st = status(root)
    if not st.running:
        state_path(root).unlink(missing_ok=True)
        return False
    os.kill(st.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _alive(st.pid):
        time.sleep(0.05)
    if _alive(st.pid):
        os.kill(st.pid, signal.SIGKILL)
    state_path(root).unlink(missing_ok=True)
    return True


def ensure_forward_from_env(root: Path, env: dict | None = None) -> ProxyStatus | None:
    """``gt up``/``gt daemon``: a key in our environment -> a forward proxy for the agents (else None).

    The key is handed to the proxy child only; this process drops it from its
    own environment so nothing started later (sessions, the daemon) inherits it.
    """
    env = os.environ if env is None else env
    if not any(env.get(k) for k in KEY_VARS):
        return None
    current = status(root)
    if current.running:
        for k in KEY_VARS:
            env.pop(k, None)
        return current
    child = {k: v for k, v in env.items()}
    for k in KEY_VARS + ("ANTHROPIC_BASE_URL",):
        env.pop(k, None)
    return start_background(root, forward=True, env=child)


def session_model_env(root: Path, preset) -> dict[str, str]:
    """The variables a session of ``preset`` gets for the town's model proxy ({} when none runs)."""
    wanted = getattr(preset, "model_env", None) or {}
    if not wanted:
        return {}
    st = status(root)
    if not st.running:
        return {}
    from .server import PLACEHOLDER_KEY

    values = {"{model_url}": st.url, "{placeholder_key}": PLACEHOLDER_KEY}
    out = {}
    for key, template in wanted.items():
        for token, value in values.items():
            template = template.replace(token, value)
        out[key] = template
    return out
