"""The tmux gate: what a sandboxed Mayor, Deacon or Witness may ask of the town's tmux server.

A tmux client can make the server run any command (``run-shell``,
``new-window``, ``send-keys`` into a human's shell...), and the server runs
outside every sandbox: so no sandbox mounts the town's tmux socket.  The
roles that drive other sessions get this gate instead: a small process
outside their sandbox (started beside bwrap by the pane's shell, like the
Refinery's git broker, and ending with the session), serving one unix socket
that only that session's sandbox mounts (``/run/gastown-broker/tmux.sock``).

It performs only what gastown's own :class:`~gastown_server.runtime.tmux.TownTmux`
asks, checked command by command (:func:`check`):

* reads: ``list-sessions``/``list-panes``/``list-clients``/``has-session``,
  ``display-message -p`` and ``capture-pane -p`` of a gastown pane,
  ``show-options`` of ``@gt_*`` session options; no format may run a command
  (``#(...)``);
* nudges: ``send-keys`` of literal text, Enter, BSpace or ``-X cancel``, only
  to a session's gastown pane (``@gt_pane``: an agent in its own sandbox,
  never a pane a human opened);
* ``set-option`` of ``@gt_*`` options but ``@gt_pane``/``@gt_transcript`` (set only
  outside, at start/respawn), ``kill-pane`` of a gastown pane,
  ``kill-session``, the placeholder window of a respawn (``cat``), and
  ``stop`` of a session (its agent is signalled from here: a pane's pid means
  nothing inside a sandbox's PID namespace);
* ``start``/``respawn`` of a town session: the gate (outside) wraps the
  requested agent command in the *target session's* sandbox itself
  (``launch.apply``), with the runtime preset the town's settings name, the
  transcript at its town path, and the loader's variables dropped from the
  environment; a Witness may start only its own rig's sessions.

Everything else (``run-shell``, ``pipe-pane``, ``set-hook``, ``source-file``,
``kill-server``, a bare ``new-window``...) is refused with one line.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading

GATE_ENV = "GT_TMUX_GATE"
SOCKET_NAME = "tmux.sock"
MAX_REQUEST = 1024 * 1024
_PANE = re.compile(r"^%[0-9]+$")
_SESSION_T = re.compile(r"^=?[A-Za-z0-9][A-Za-z0-9_-]{0,99}:?$")
_OPTION = re.compile(r"^@gt_[a-z_]+$")
#: Variables that would choose code run *outside* (by the pane's shell, bwrap, the git broker).
_UNSAFE_ENV = re.compile(
    r"^(LD_|GCONV_PATH$|GETCONF_DIR$|HOSTALIASES$|LOCPATH$|MALLOC_|NLSPATH$|RESOLV_HOST_CONF$|RES_OPTIONS$"
    r"|GLIBC_TUNABLES$|BASH_ENV$|ENV$|BASH_FUNC_|SHELLOPTS$|PS4$|IFS$)"
)

#: command -> (flags taking a value, flags without, allowed positional count range).
_SCHEMA: dict[str, tuple[frozenset[str], frozenset[str], tuple[int, int]]] = {
    "list-sessions": (frozenset({"-F"}), frozenset(), (0, 0)),
    "list-panes": (frozenset({"-F", "-t"}), frozenset({"-a", "-s"}), (0, 0)),
    "list-clients": (frozenset({"-F", "-t"}), frozenset(), (0, 0)),
    "has-session": (frozenset({"-t"}), frozenset(), (0, 0)),
    "display-message": (frozenset({"-t"}), frozenset({"-p"}), (1, 1)),
    "capture-pane": (frozenset({"-t", "-S", "-E"}), frozenset({"-p", "-J"}), (0, 0)),
    "show-options": (frozenset({"-t"}), frozenset({"-v", "-q"}), (1, 1)),
    "send-keys": (frozenset({"-t", "-N"}), frozenset({"-l", "-X"}), (1, 1)),
    "set-option": (frozenset({"-t"}), frozenset(), (2, 2)),
    "new-window": (frozenset({"-t", "-F"}), frozenset({"-d", "-P"}), (1, 1)),
    "kill-pane": (frozenset({"-t"}), frozenset(), (0, 0)),
    "kill-session": (frozenset({"-t"}), frozenset(), (0, 0)),
}
#: Session options only a session's start/respawn (outside, in the gate) sets: which pane is the
#: agent's (:data:`_PANE_TARGET` trusts it) and where its output is written.
_OUTSIDE_OPTIONS = frozenset({"@gt_pane", "@gt_transcript"})
#: Commands whose target must be a gastown pane (an agent, in its own sandbox).
_PANE_TARGET = frozenset({"send-keys", "kill-pane", "capture-pane", "display-message"})



def _same_program(asked: str, expected: str) -> bool:
    """``asked`` is ``expected``, or another name for it in the same directory.

    python, python3 and python3.11 in one bin/ are one interpreter, and the gate's own name for
    it and the asking ``gt``'s can differ (pip writes a script's shebang by the name pip ran as).
    The directory must be the same: a link elsewhere (one an agent made) is not accepted.
    """
    if asked == expected:
        return True
    return os.path.dirname(asked) == os.path.dirname(expected) and os.path.realpath(asked) == os.path.realpath(expected)

class GateError(Exception):
    pass


def _parse(cmd: list[str]) -> tuple[dict[str, str], set[str], list[str]]:
    name, rest = cmd[0], cmd[1:]
    if name not in _SCHEMA:
        raise GateError(f"tmux {name} is not allowed from a sandbox")
    with_value, bare, (lo, hi) = _SCHEMA[name]
    opts: dict[str, str] = {}
    flags: set[str] = set()
    i = 0
    while i < len(rest) and rest[i].startswith("-") and rest[i] != "-":
        a = rest[i]
        if a == "--":
            i += 1
            break
        if a in with_value and i + 1 < len(rest):
            opts[a] = rest[i + 1]
            i += 2
        elif a in bare:
            flags.add(a)
            i += 1
        else:
            raise GateError(f"tmux {name}: option {a!r} is not allowed from a sandbox")
    pos = rest[i:]
    if not lo <= len(pos) <= hi:
        raise GateError(f"tmux {name}: unexpected arguments {pos!r}")
    return opts, flags, pos


def check(cmd: list[str], gastown_panes: set[str]) -> None:
    """Raise :class:`GateError` unless ``cmd`` (one tmux command, no separators) is allowed."""
    if not cmd:
        raise GateError("empty tmux command")
    name = cmd[0]
    opts, flags, pos = _parse(cmd)
    literal = name == "send-keys" and "-l" in flags
    for a in [*opts.values(), *([] if literal else pos)]:
        if "#(" in a:  # a format that runs a shell command, on the server
            raise GateError(f"tmux {name}: '#(' is not allowed from a sandbox")
    target = opts.get("-t", "")
    if name in _PANE_TARGET:
        if not _PANE.match(target) or target not in gastown_panes:
            raise GateError(f"tmux {name}: {target or 'no target'} is not an agent's pane")
    elif target and not _SESSION_T.match(target):
        raise GateError(f"tmux {name}: bad target {target!r}")
    if name == "display-message" and "-p" not in flags or name == "capture-pane" and "-p" not in flags:
        raise GateError(f"tmux {name}: only -p (print) is allowed from a sandbox")
    if name == "send-keys" and not literal:
        allowed = {"cancel"} if "-X" in flags else {"Enter", "BSpace"}
        if pos[0] not in allowed:
            raise GateError(f"tmux send-keys: key {pos[0]!r} is not allowed from a sandbox")
    if name == "send-keys" and "-N" in opts and not opts["-N"].isdigit():
        raise GateError("tmux send-keys: -N takes a count")
    if name in ("show-options", "set-option"):
        if not _OPTION.match(pos[0]) or not target:
            raise GateError(f"tmux {name}: only a session's @gt_* options")
    if name == "set-option" and pos[0] in _OUTSIDE_OPTIONS:
        # @gt_pane is what makes a pane "an agent's" for send-keys above: set on a human's
        # session it would let a sandbox type into that human's shell, outside every sandbox.
        raise GateError(f"tmux set-option: {pos[0]} is set only by gastown outside the sandbox")
    if name == "new-window" and pos != ["cat"]:
        raise GateError("tmux new-window: only gastown's placeholder (cat)")


def split(args: list[str]) -> list[list[str]]:
    """tmux's command sequence: ``;`` alone separates; an argument ending in an unescaped ``;``
    would end a command inside tmux, so it is refused (gastown's client escapes them)."""
    out: list[list[str]] = [[]]
    for a in args:
        if a == ";":
            out.append([])
        elif a.endswith(";") and not a.endswith("\\;"):
            raise GateError(f"tmux argument {a!r} ends in an unescaped ';'")
        else:
            out[-1].append(a)
    return [c for c in out if c]


class Gate:
    def __init__(self, *, town: str, session: str, tmux_socket: str, tmux: str) -> None:
        self.town_root, self.session, self.socket, self.tmux = town, session, tmux_socket, tmux
        self._town = None
        self._lock = threading.Lock()

    # -- tmux itself ------------------------------------------------------------

    def tmux_run(self, args: list[str]) -> dict:
        p = subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=30, env=_tmux_env())  # fmt: skip
        return {"rc": p.returncode, "stdout": p.stdout.splitlines(), "stderr": p.stderr.splitlines()}

    def gastown_panes(self) -> set[str]:
        got = self.tmux_run(["list-panes", "-a", "-F", "#{pane_id}\t#{@gt_pane}"])
        return {a for a, _, b in (row.partition("\t") for row in got["stdout"]) if a and a == b}

    def run(self, args: list[str]) -> dict:
        cmds = split([str(a) for a in args])
        if not cmds:
            raise GateError("empty tmux command")
        panes = self.gastown_panes() if any(c[0] in _PANE_TARGET for c in cmds if c) else set()
        rig_prefix = self._witness_prefix() if panes else None
        if rig_prefix is not None:
            # A Witness sees and drives its own rig's panes and the town's agents' (hq-*: it nudges
            # the Mayor), never another rig's: what another rig's agents show is that rig's.
            owners = self.pane_sessions()
            panes = {p for p in panes if owners.get(p, "").startswith((f"{rig_prefix}-", "hq-"))}
        for c in cmds:
            check(c, panes)
            if c[0] == "kill-session":
                self._may_stop(_parse(c)[0].get("-t", "").lstrip("=").rstrip(":"))
        return self.tmux_run(list(args))

    # -- sessions -----------------------------------------------------------------

    @property
    def town(self):
        if self._town is None:
            from ..town.core import Town

            self._town = Town(self.town_root)
        return self._town

    def lifecycle(self, req: dict) -> dict:
        """``start``/``respawn`` of a town session, wrapped in that session's sandbox here."""
        from pathlib import Path

        from ..runtime import transcripts
        from ..town import config
        from . import launch

        with self._lock:
            town = self.town
            town.reload_config()
            name = str(req["name"])
            env = {str(k): str(v) for k, v in dict(req["env"]).items() if not _UNSAFE_ENV.match(str(k))}
            address = env.get("GT_ROLE", "")
            ident = town.identity(address)
            if ident.session != name:
                raise GateError(f"session {name!r} is not {address!r}'s")
            me = town.identity(self._my_address())
            if me.role == "witness" and (ident.rig != me.rig or ident.role not in ("polecat", "refinery", "crew")):
                raise GateError(f"{me.address} may start only its rig's polecats, refinery and crew, not {address}")
            if not town.config.sandbox.enabled:
                # Turned off (by a Mayor writing the town's settings?) while sandboxed sessions run:
                # never start an unsandboxed agent on a sandboxed agent's request.
                raise GateError("agent sandboxes are off for this town: start sessions from outside (gt up)")
            preset = config.resolve_agent(town.config, env.get("GT_RUNTIME") or None, role=ident.role)
            from ..runtime import runtimes

            command = [str(c) for c in req["command"]]
            if not command or not _same_program(command[0], runtimes.base_command(preset)[0]):
                raise GateError(f"{name}: the command is not its runtime's ({preset.name})")
            transcript = transcripts.transcript_path(town.root, name)
            if req.get("transcript") not in (None, str(transcript)):
                raise GateError(f"{name}: the transcript must be {transcript}")
            cwd = Path(str(req["cwd"]))
            argv, env2, box = launch.apply(town, ident, preset, command, env, cwd)
            launch.record(town, name, box)
            kw = {k: str(req[k]) for k in ("empty_input", "busy", "dialogs") if req.get(k) is not None}
            for k in ("max_bytes", "keep"):
                if req.get(k) is not None:
                    kw[k] = int(req[k])
            if req["op"] == "start":
                town.tmux.start(name, argv, cwd=cwd, env=env2, transcript=transcript, **kw)
            else:
                town.tmux.respawn(name, argv, cwd=cwd, env=env2, transcript=transcript, **kw)
        return {"rc": 0, "stdout": [], "stderr": []}

    def stop(self, req: dict) -> dict:
        """SIGTERM a town session's agent, then its pane (``TownTmux.stop``): signalled from here,
        outside, where the pane's pid means that process."""
        from ..runtime.tmux import TownTmux

        name = str(req["name"])
        if not _SESSION_T.match(name) or name.startswith("="):
            raise GateError(f"bad session name {name!r}")
        if req.get("kill_user_panes"):  # (gastown never asks it from inside)
            raise GateError(f"{name}: a human's panes are not a sandbox's to kill")
        self._may_stop(name)
        grace = min(max(float(req.get("grace_s") or 0), 0.0), 60.0)
        TownTmux(self.socket).stop(name, grace_s=grace)
        return {"rc": 0, "stdout": [], "stderr": []}

    def pane_sessions(self) -> dict[str, str]:
        got = self.tmux_run(["list-panes", "-a", "-F", "#{pane_id}\t#{session_name}"])
        return {a: b for a, _, b in (row.partition("\t") for row in got["stdout"]) if a}

    def _witness_prefix(self) -> str | None:
        """The bead prefix of this gate's Witness's rig; None for the Mayor and the Deacon."""
        with self._lock:
            me = self.town.identity(self._my_address())
            return self.town.rig(me.rig).prefix if me.role == "witness" else None

    def _may_stop(self, name: str) -> None:
        """A Witness stops only its own rig's sessions (as it starts only those); Mayor and Deacon any."""
        with self._lock:
            me = self.town.identity(self._my_address())
            if me.role != "witness":
                return
            prefix = self.town.rig(me.rig).prefix
        if not name.startswith(f"{prefix}-"):
            raise GateError(f"{me.address} may stop only its rig's sessions, not {name or 'no target'}")

    def _my_address(self) -> str:
        for ident in self.town.agents():
            if ident.session == self.session:
                return ident.address
        raise GateError(f"no town agent has session {self.session}")

    def serve_one(self, conn: socket.socket) -> None:
        from ..errors import GastownError

        from . import broker

        with conn:
            try:
                req = json.loads(broker.recv_line(conn, MAX_REQUEST))
                op = req.get("op")
                if op == "run":
                    reply = self.run(list(req["args"]))
                elif op in ("start", "respawn"):
                    reply = self.lifecycle(req)
                elif op == "stop":
                    reply = self.stop(req)
                else:
                    raise GateError(f"unknown gate operation {op!r}")
            except GateError as exc:
                reply = {"rc": 1, "stdout": [], "stderr": [f"refused by the tmux gate: {exc}"], "refused": True}
            except GastownError as exc:
                reply = {"rc": 1, "stdout": [], "stderr": [str(exc)], "error": type(exc).__name__}
            except (ValueError, KeyError, TypeError, subprocess.TimeoutExpired) as exc:
                reply = {"rc": 1, "stdout": [], "stderr": [f"bad tmux gate request: {exc}"]}
            broker.send_reply(conn, reply)


def _tmux_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("HOME", "USER", "LOGNAME", "LANG", "TMUX_TMPDIR")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    return env


def main(argv: list[str] | None = None) -> int:
    import argparse

    from . import broker

    p = argparse.ArgumentParser(prog="gastown-tmux-gate", description="Serve a sandboxed session's tmux requests.")
    p.add_argument("--socket", required=True)
    p.add_argument("--town", required=True)
    p.add_argument("--session", required=True)
    p.add_argument("--tmux-socket", required=True)
    p.add_argument("--tmux", default="tmux")
    p.add_argument("--parent", type=int, default=0)
    p.add_argument("--home", default="", help="the user's HOME (this process inherits the agent's)")
    args = p.parse_args(argv)
    done = broker.start_session_helper(args.parent)
    if done is None:
        return 0
    # What this process was started with is the sandboxed session's environment: none of it applies here.
    for k in [k for k in os.environ if k.startswith(("GT_", "BD_", "GIT_"))]:
        del os.environ[k]
    os.environ["GT_TMUX_SOCKET"] = args.tmux_socket
    if args.home:
        os.environ["HOME"] = args.home
    gate = Gate(town=args.town, session=args.session, tmux_socket=args.tmux_socket, tmux=args.tmux)
    broker.serve_session(args.socket, gate.serve_one, done, parent=args.parent)
    return 0


# -- the client (inside the sandbox) ---------------------------------------------


def gated() -> str:
    """The gate's socket when this process runs in a sandbox that has one ("" otherwise)."""
    return os.environ.get(GATE_ENV, "") if os.environ.get("GT_SANDBOX") else ""


def request(req: dict) -> dict:
    from . import broker

    path = gated()
    try:
        return broker.ask(path, req)
    except (OSError, ValueError) as exc:
        return {"rc": 1, "stdout": [], "stderr": [f"error connecting to the tmux gate at {path}: {exc}"]}


if __name__ == "__main__":
    sys.exit(main())
