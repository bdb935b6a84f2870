"""One tmux server per town, driven through libtmux (DESIGN contract 5).

Only this module talks to tmux.  Everything goes through libtmux's
``Server.cmd`` except the one call that may *start* the server: a tmux
server copies the environment of the client that starts it into its global
environment (which every later pane inherits), and libtmux cannot pass an
environment to its subprocess.  So :meth:`TownTmux.start` runs that
``new-session`` itself with a scrubbed environment (:data:`SERVER_ENV_KEEP`
only), sets ``update-environment`` to nothing (so attaching clients do not
leak ``SSH_AUTH_SOCK`` & co. into sessions), and runs the agent through
``env -i K=V ... cmd``: the agent process sees exactly the ``env`` it was
given plus tmux's own ``TMUX``/``TMUX_PANE``/``TERM``.

The gastown pane.  A session may gain windows and panes a human adds; the
pane gastown created is recorded in the session option ``@gt_pane`` (and its
transcript in ``@gt_transcript``).  :meth:`respawn` replaces the process in
that pane only (``respawn-pane -k``), or opens a new window if the human
closed it; :meth:`stop` ends that pane and leaves the human's panes alone
unless asked.  :class:`SessionInfo` ``alive`` says whether the gastown pane
is running: ``has(name) and not alive`` means "respawn", ``not has(name)``
means "start".

Contract additions (stable names): ``SessionInfo.pane_id``;
``start(..., max_bytes=, keep=, empty_input=)`` for transcript rotation and
the nudge's empty-input check (recorded as ``@gt_empty_input``);
``respawn(..., transcript=None)`` (defaults to the one recorded at start);
``stop(..., kill_user_panes=False)``; ``parse_sessions``/``PANE_FIELDS`` (shared
with ``snapshot.py``, the libtmux-free listing ``gt status`` uses); nudge primitives ``clients``,
``gastown_pane``, ``pane_state``, ``input_line``, ``send_literal``,
``send_enter``, ``send_backspaces`` used by :mod:`.nudge`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import msgspec

from ..errors import Conflict, InvalidInput, NotFound, Unavailable
from . import transcripts

#: Variables the tmux *server* keeps from its starter (harmless ones, so
#: windows a human opens in a town session have a usable shell).  Agent panes
#: never see even these: they get exactly their explicit environment.
SERVER_ENV_KEEP = ("HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TMUX_TMPDIR")
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
#: How the agent command is launched inside the pane: a clean environment,
#: keeping only what tmux itself sets for the pane.  ``$@`` is
#: ``K=V ... cmd args``; explicit values come after and win.
_LAUNCH = 'exec env -i TMUX="$TMUX" TMUX_PANE="$TMUX_PANE" TERM="${TERM:-tmux-256color}" "$@"'
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: ``list-panes -a -F`` format parsed by :func:`parse_sessions` (``snapshot.py``
#: runs the same call without libtmux for ``gt status``).
PANE_FIELDS = (
    "#{session_name}\t#{session_created}\t#{session_attached}\t#{session_activity}\t"
    "#{@gt_pane}\t#{pane_id}\t#{pane_pid}\t#{pane_dead}"
)
_PANE_STATE_FMT = (
    "#{pane_id}\t#{pane_in_mode}\t#{pane_dead}\t#{cursor_x}\t#{cursor_y}\t#{pane_width}\t#{pane_height}"
    "\t#{history_size}"
)
_NOT_RUNNING = ("no server running", "error connecting", "No such file or directory", "server exited")


class SessionInfo(msgspec.Struct):
    name: str
    created: int
    attached: int
    #: Last activity in the session (epoch seconds).
    activity: int
    #: Pid of the process in the gastown pane (0 if that pane is gone).
    pane_pid: int
    #: The gastown pane exists and its process runs.
    alive: bool
    pane_id: str = ""


class ClientInfo(msgspec.Struct):
    name: str
    #: Last key/mouse activity of the client (epoch seconds; tmux has no finer resolution).
    activity: int
    readonly: bool = False


class PaneState(msgspec.Struct):
    pane_id: str
    in_mode: bool
    dead: bool
    cursor_x: int
    cursor_y: int
    width: int
    height: int
    #: Lines scrolled into history: ``history_size + cursor_y`` is the cursor's
    #: absolute row (until the history limit is reached).
    history_size: int = 0


def _pane_state(row: str, pane: str) -> PaneState | None:
    p = row.split("\t")
    if len(p) != 8 or p[0] != pane:
        return None
    return PaneState(p[0], p[1] == "1", p[2] == "1", _int(p[3]), _int(p[4]), _int(p[5]), _int(p[6]), _int(p[7]))


def parse_sessions(rows: list[str]) -> list[SessionInfo]:
    """Sessions from ``list-panes -a -F PANE_FIELDS`` output rows."""
    found: dict[str, SessionInfo] = {}
    for row in rows:
        parts = row.split("\t")
        if len(parts) != 8:
            continue
        name, created, attached, activity, gt_pane, pane_id, pid, dead = parts
        info = found.get(name)
        if info is None:
            info = found[name] = SessionInfo(
                name=name, created=_int(created), attached=_int(attached), activity=_int(activity),
                pane_pid=0, alive=False,
            )  # fmt: skip
        if pane_id == gt_pane:
            info.pane_id = pane_id
            info.alive = dead != "1"
            info.pane_pid = _int(pid) if info.alive else 0
    return sorted(found.values(), key=lambda s: s.name)


def socket_name(town_root: Path) -> str:
    """``<basename>-<first 6 hex of sha256(realpath)>``, or ``$GT_TMUX_SOCKET``."""
    override = os.environ.get("GT_TMUX_SOCKET")
    if override:
        return override
    real = os.path.realpath(town_root)
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.basename(real.rstrip("/")) or "town")
    return f"{base}-{hashlib.sha256(real.encode()).hexdigest()[:6]}"


def sandbox_has_tmux() -> bool:
    """False inside an agent sandbox without the town's socket (``GT_SANDBOX_TMUX=0``).

    tmux would otherwise start a second, private server inside the sandbox.
    """
    return os.environ.get("GT_SANDBOX_TMUX") != "0"


def tmux_binary() -> str:
    found = shutil.which("tmux")
    if not found:
        raise Unavailable("tmux not found on PATH: install tmux (3.2 or newer) to run agents")
    return found


def _validate_name(name: str) -> None:
    if not _NAME_RE.match(name or ""):
        raise InvalidInput(f"bad session name {name!r}: use letters, digits, '-' and '_'")


def _launch_argv(command: list[str], env: dict[str, str]) -> list[str]:
    if not command or not command[0] or "=" in command[0]:
        raise InvalidInput(f"bad session command {command!r}")
    assigns = []
    for key, value in env.items():
        if not _ENV_KEY_RE.match(key):
            raise InvalidInput(f"bad environment variable name {key!r}")
        assigns.append(f"{key}={value}")
    return ["/bin/sh", "-c", _LAUNCH, "gt-agent", *assigns, *[str(c) for c in command]]


class _Sep:
    """Separates commands of one tmux invocation (a literal ``;`` argument)."""


SEP = _Sep()


def _tmux_args(args) -> list[str]:
    """tmux ends a command at any argument ending in ``;``; escape those, keep separators."""
    out = []
    for a in args:
        if a is SEP:
            out.append(";")
        else:
            a = str(a)
            out.append(a[:-1] + "\\;" if a.endswith(";") else a)
    return out


def _server_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in SERVER_ENV_KEEP if os.environ.get(k)}
    env["PATH"] = SYSTEM_PATH
    return env


class TownTmux:
    """The tmux server of one town (``tmux -L <socket>``)."""

    def __init__(
        self,
        socket: str,
        *,
        config_file: str | None = None,
        history_limit: int = 20000,
        width: int = 200,
        height: int = 50,
    ) -> None:
        if not socket or "/" in socket:
            raise InvalidInput(f"bad tmux socket name {socket!r}")
        self.socket = socket
        #: ``/dev/null``: town servers do not read the user's ~/.tmux.conf, so
        #: sessions behave the same everywhere (pass a file to change that).
        self.config_file = config_file or "/dev/null"
        self.history_limit = history_limit
        self.width = width
        self.height = height
        self._server = None
        self._bin: str | None = None

    # -- plumbing -------------------------------------------------------------

    @property
    def server(self):
        if self._server is None:
            import libtmux

            self._bin = tmux_binary()
            self._server = libtmux.Server(
                socket_name=self.socket, config_file=self.config_file, tmux_bin=self._bin
            )
        return self._server

    def _run(self, *args: str | _Sep) -> tuple[int, list[str], list[str]]:
        import libtmux.exc

        if not sandbox_has_tmux():
            return 1, [], ["no server running (this agent sandbox has no access to the town's tmux server)"]
        if _gated():
            reply = _gate({"op": "run", "args": _tmux_args(args)})
            return reply["rc"], reply["stdout"], reply["stderr"]

        try:
            res = self.server.cmd(*_tmux_args(args))
        except libtmux.exc.TmuxCommandNotFound:
            raise Unavailable("tmux not found on PATH: install tmux (3.2 or newer) to run agents") from None
        return res.returncode, res.stdout, res.stderr

    def _cmd(self, *args: str | _Sep) -> list[str]:
        code, out, err = self._run(*args)
        if code != 0:
            raise Unavailable(f"tmux {args[0]} failed on socket {self.socket}: {' '.join(err) or code}")
        return out

    def _query(self, *args: str) -> list[str] | None:
        """A read command; None when the server is not running or the target is gone."""
        code, out, _ = self._run(*args)
        return out if code == 0 else None

    # -- queries --------------------------------------------------------------

    def running(self) -> bool:
        return self._query("list-sessions", "-F", "#{session_name}") is not None

    def sessions(self) -> list[SessionInfo]:
        return parse_sessions(self._query("list-panes", "-a", "-F", PANE_FIELDS) or [])

    def has(self, name: str) -> bool:
        code, _, _ = self._run("has-session", "-t", f"={name}")
        return code == 0

    def gastown_pane(self, name: str) -> str | None:
        """The id (``%N``) of the pane gastown created in ``name``, if it still exists."""
        return self.gastown_pane_info(name)[0]

    def gastown_pane_info(self, name: str) -> tuple[str | None, str]:
        """(the gastown pane id or None, the empty-input pattern recorded at start), one call."""
        pane, empty, _busy = self.input_patterns(name)
        return pane, empty

    def input_patterns(self, name: str) -> tuple[str | None, str, str]:
        """(gastown pane or None, empty-input pattern, busy-screen pattern) recorded at start, one call."""
        out = self._query("list-panes", "-s", "-t", f"={name}", "-F",
                          "#{@gt_pane}\t#{pane_id}\t#{@gt_empty_input}\t#{@gt_busy}")  # fmt: skip
        for row in out or []:
            parts = row.split("\t", 3)
            if len(parts) >= 3 and parts[0] == parts[1]:
                return parts[1], parts[2], parts[3] if len(parts) == 4 else ""
        return None, "", ""

    def _pane(self, name: str) -> str:
        pane = self.gastown_pane(name)
        if pane is None:
            if not self.has(name):
                raise NotFound(f"no tmux session {name!r} on socket {self.socket}")
            raise NotFound(f"session {name!r} has no gastown pane (it exited); respawn it")
        return pane

    def clients(self, name: str) -> list[ClientInfo]:
        out = self._query("list-clients", "-t", f"={name}", "-F", "#{client_name}\t#{client_activity}\t#{client_readonly}")
        clients = []
        for row in out or []:
            parts = row.split("\t")
            if len(parts) == 3:
                clients.append(ClientInfo(parts[0], _int(parts[1]), parts[2] == "1"))
        return clients

    def pane_state(self, pane: str) -> PaneState | None:
        out = self._query("display-message", "-p", "-t", pane, _PANE_STATE_FMT)
        return _pane_state(out[0], pane) if out else None

    def screen(self, pane: str) -> tuple[PaneState, list[str]] | None:
        """The pane's state and its visible rows, in ONE tmux call (nudge polls this)."""
        out = self._query(
            "display-message", "-p", "-t", pane, _PANE_STATE_FMT, SEP,
            "capture-pane", "-p", "-t", pane,
        )  # fmt: skip
        if not out:
            return None
        state = _pane_state(out[0], pane)
        if state is None:
            return None
        rows = out[1:]
        rows += [""] * (state.height - len(rows))  # tmux output loses trailing blank rows
        return state, rows

    def input_line(self, pane: str, *, above: int = 0) -> str | None:
        """The cursor's row, preceded by ``above`` rows (rows are not re-joined)."""
        got = self.screen(pane)
        if got is None:
            return None
        state, rows = got
        cy = min(state.cursor_y, len(rows) - 1)
        return "\n".join(rows[max(0, cy - above) : cy + 1])

    def capture(self, name: str, lines: int = 50) -> str:
        if lines <= 0:
            raise InvalidInput("lines must be positive")
        pane = self._pane(name)
        out = self._query("capture-pane", "-p", "-J", "-t", pane, "-S", f"-{lines}") or []
        while out and not out[-1].strip():
            out.pop()
        return "\n".join(out[-lines:])

    def attach_command(self, name: str) -> list[str]:
        return ["tmux", "-L", self.socket, "attach", "-t", name]

    # -- keys (nudge) ---------------------------------------------------------

    def send_literal(self, pane: str, text: str) -> None:
        """Type ``text`` literally (``send-keys -l``): no key names are interpreted."""
        self._cmd("send-keys", "-t", pane, "-l", "--", text)

    def send_enter(self, pane: str) -> None:
        self._cmd("send-keys", "-t", pane, "Enter")

    def cancel_mode(self, pane: str) -> None:
        """Leave copy mode (a tmux mode; nothing reaches the agent)."""
        self._run("send-keys", "-t", pane, "-X", "cancel")

    def send_backspaces(self, pane: str, count: int) -> None:
        if count > 0:
            self._cmd("send-keys", "-t", pane, "-N", str(count), "BSpace")

    # -- lifecycle --------------------------------------------------------------

    def start(
        self,
        name: str,
        command: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        transcript: Path,
        max_bytes: int = transcripts.MAX_BYTES,
        keep: int = transcripts.KEEP,
        empty_input: str = "",
        busy: str = "",
        dialogs: str = "",
    ) -> None:
        """Start ``command`` in a new session (see the module doc).

        ``empty_input``: the runtime preset's empty-input-line regex, recorded
        on the session (``@gt_empty_input``) for every later nudge.
        """
        _validate_name(name)
        if not sandbox_has_tmux():
            raise Unavailable(f"cannot start {name}: this agent sandbox has no access to the town's tmux server")
        if _gated():
            return _gate_lifecycle("start", name, command, cwd=cwd, env=env, transcript=transcript, max_bytes=max_bytes,
                                   keep=keep, empty_input=empty_input, busy=busy, dialogs=dialogs)  # fmt: skip
        cwd = Path(cwd)
        if not cwd.is_dir():
            raise InvalidInput(f"session directory {cwd} does not exist")
        argv = _launch_argv(command, env)
        self.server  # resolves the tmux binary or raises Unavailable
        tmux = self._bin
        assert tmux is not None
        if self.has(name):
            raise Conflict(f"tmux session {name!r} already exists on socket {self.socket}")
        transcript = Path(transcript).resolve()
        transcript.parent.mkdir(parents=True, exist_ok=True)
        # One command sequence: the server (if this starts it) gets a scrubbed
        # environment, and the pipe is attached before the pane's first output
        # is read, so the transcript misses nothing.
        seq = _tmux_args([
            "-L", self.socket, "-f", self.config_file,
            "start-server", SEP,
            "set-option", "-g", "update-environment", "", SEP,
            "set-option", "-g", "history-limit", str(self.history_limit), SEP,
            "new-session", "-d", "-s", name, "-x", str(self.width), "-y", str(self.height),
            "-c", str(cwd), "-P", "-F", "#{pane_id}", "--", *argv, SEP,
            # Explicit targets: without them tmux picks the "best" (most recently
            # active) session, which can be another agent's when this runs while
            # the town is busy (its transcript then got our pane's pipe).
            "set-option", "-t", f"={name}:", "-F", "@gt_pane", "#{pane_id}", SEP,
            "set-option", "-t", f"={name}:", "@gt_transcript", str(transcript), SEP,
            "set-option", "-t", f"={name}:", "@gt_empty_input", empty_input, SEP,
            "set-option", "-t", f"={name}:", "@gt_busy", busy, SEP,
            "set-option", "-t", f"={name}:", "@gt_dialogs", dialogs, SEP,
            "pipe-pane", "-t", f"={name}:", transcripts.writer_command(transcript, max_bytes=max_bytes, keep=keep),
        ])  # fmt: skip
        proc = subprocess.run([tmux, *seq], env=_server_env(), capture_output=True, text=True, cwd=str(cwd))
        if proc.returncode != 0:
            err = proc.stderr.strip()
            if "duplicate session" in err:
                raise Conflict(f"tmux session {name!r} already exists on socket {self.socket}")
            # A half-made session must not survive a failed start.
            if self.has(name):
                self._run("kill-session", "-t", f"={name}")
            raise Unavailable(f"could not start tmux session {name!r}: {err or proc.returncode}")

    def respawn(
        self,
        name: str,
        command: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        transcript: Path | None = None,
        max_bytes: int = transcripts.MAX_BYTES,
        keep: int = transcripts.KEEP,
        empty_input: str | None = None,
        busy: str | None = None,
        dialogs: str | None = None,
    ) -> None:
        """Replace the agent process in the gastown pane, touching nothing else.

        ``empty_input`` None keeps the pattern recorded at start (the runtime
        may change on respawn: pass the new preset's).
        """
        _validate_name(name)
        if _gated():
            return _gate_lifecycle("respawn", name, command, cwd=cwd, env=env, transcript=transcript, max_bytes=max_bytes,
                                   keep=keep, empty_input=empty_input, busy=busy, dialogs=dialogs)  # fmt: skip
        if not Path(cwd).is_dir():
            raise InvalidInput(f"session directory {cwd} does not exist")
        argv = _launch_argv(command, env)
        if not self.has(name):
            raise NotFound(f"no tmux session {name!r} on socket {self.socket}; start it instead")
        if transcript is None:
            recorded = self._query("show-options", "-v", "-q", "-t", f"={name}:", "@gt_transcript")
            if not recorded or not recorded[0]:
                raise InvalidInput(f"session {name!r} has no recorded transcript; pass one")
            transcript = Path(recorded[0])
        pipe = transcripts.writer_command(Path(transcript), max_bytes=max_bytes, keep=keep)
        pane = self.gastown_pane(name)
        if pane is None:
            # The human closed our pane but kept the session for their own
            # panes: ours comes back in a window of its own, first holding a
            # silent placeholder so the pipe is attached before the agent runs.
            out = self._cmd("new-window", "-d", "-t", f"={name}:", "-P", "-F", "#{pane_id}", "--", "cat")
            pane = out[0].strip()
            self._cmd("set-option", "-t", f"={name}:", "@gt_pane", pane)
        # One invocation: the new pipe (which replaces the old one) is in
        # place before tmux reads the new process's first output.
        self._cmd(
            "respawn-pane", "-k", "-t", pane, "-c", str(cwd), "--", *argv, SEP,
            "pipe-pane", "-t", pane, pipe, SEP,
            "set-option", "-t", f"={name}:", "@gt_transcript", str(transcript),
            *([SEP, "set-option", "-t", f"={name}:", "@gt_empty_input", empty_input] if empty_input is not None else []),
            *([SEP, "set-option", "-t", f"={name}:", "@gt_busy", busy] if busy is not None else []),
            *([SEP, "set-option", "-t", f"={name}:", "@gt_dialogs", dialogs] if dialogs is not None else []),
        )  # fmt: skip

    def stop(self, name: str, *, grace_s: float = 5.0, kill_user_panes: bool = False) -> None:
        """SIGTERM the gastown pane's process, then kill that pane after ``grace_s``.

        The session ends with its last pane; panes a human added stay unless
        ``kill_user_panes``.  Stopping a session that does not exist is a no-op.
        """
        if _gated():
            # The pane's pid is a host pid: inside a sandbox (its own PID namespace) it names nothing,
            # or another process; the tmux gate signals it from outside.
            _validate_name(name)
            reply = _gate({"op": "stop", "name": name, "grace_s": grace_s, "kill_user_panes": kill_user_panes})
            if reply["rc"] != 0:
                raise Unavailable(" ".join(reply["stderr"]) or f"tmux gate: stop {name} failed")
            return
        if not self.has(name):
            return
        pane = self.gastown_pane(name)
        if pane is not None:
            pid = self._query("display-message", "-p", "-t", pane, "#{pane_pid}")
            pid_n = _int(pid[0]) if pid else 0
            if pid_n > 0:
                # The whole process group: a sandboxed agent runs under bwrap
                # (the pane's process), which does not pass signals on.
                try:
                    os.killpg(pid_n, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    try:
                        os.kill(pid_n, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline:
                state = self.pane_state(pane)
                if state is None or state.dead:
                    break
                time.sleep(0.05)
            if self.pane_state(pane) is not None:
                self._run("kill-pane", "-t", pane)
        if kill_user_panes and self.has(name):
            self._run("kill-session", "-t", f"={name}")

    def kill_session(self, name: str) -> None:
        """Destroy a session and every pane in it (explicit user request only)."""
        self._run("kill-session", "-t", f"={name}")

    def kill_server(self) -> None:
        self._run("kill-server")


def _gated() -> str:
    """Inside a Mayor/Deacon/Witness sandbox: the tmux gate's socket (``sandbox/tmux_gate.py``)."""
    if not os.environ.get("GT_SANDBOX"):
        return ""
    return os.environ.get("GT_TMUX_GATE", "")


def _gate(req: dict) -> dict:
    from ..sandbox import tmux_gate

    return tmux_gate.request(req)


def _gate_lifecycle(op: str, name: str, command: list[str], **kw) -> None:
    """start/respawn through the gate: it wraps ``command`` in the session's sandbox, outside."""
    req = {"op": op, "name": name, "command": [str(c) for c in command], "cwd": str(kw.pop("cwd")),
           "env": dict(kw.pop("env")), **{k: (str(v) if isinstance(v, Path) else v) for k, v in kw.items()}}  # fmt: skip
    reply = _gate(req)
    if reply["rc"] != 0:
        msg = " ".join(reply["stderr"]) or f"tmux gate: {op} {name} failed"
        raise {"Conflict": Conflict, "NotFound": NotFound, "InvalidInput": InvalidInput}.get(reply.get("error", ""), Unavailable)(msg)


def _int(text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0
