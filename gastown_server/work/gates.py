"""A rig's merge gates: the commands the Refinery runs before merging.

Stored in the ledger's config table (the town configuration has no per-rig
section), per rig:

``rig.<name>.gates``
    JSON list; each item a shell command string (a *tests* gate) or an
    object ``{"run": "make", "kind": "build"|"tests", "timeout": 600}``.
``rig.<name>.require_gates``
    ``true``: refuse to merge while no gate is configured.  Default
    ``false``: merge with a warning, recorded on the MR and in the mail.
``rig.<name>.push_remote``
    Remote the Refinery publishes the base branch to (default ``origin``
    when the canonical clone has one; ``""`` to keep merges local).
``rig.<name>.max_interruptions``
    How many times an MR's merge may be interrupted (the Refinery killed
    while merging it) before it goes back to its polecat as
    ``MERGE_FAILED`` instead of being requeued (default 3): a "poison" MR
    must not block the rig's queue forever.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import msgspec

from ..beads.store import Ledger
from ..errors import InvalidInput

DEFAULT_TIMEOUT_S = 600.0
DEFAULT_MAX_INTERRUPTIONS = 3
#: Set in every gate's environment (inherited by its children): tells a leftover gate apart from an
#: unrelated process group that happens to have the recorded id now.
TOKEN_ENV = "GT_GATE_TOKEN"
KINDS = ("tests", "build")
TAIL_LINES = 20
#: How long a killed gate's output is still read.
DRAIN_S = 5.0


class Gate(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    run: str
    kind: str = "tests"
    timeout: float = DEFAULT_TIMEOUT_S


class GateSettings(msgspec.Struct, omit_defaults=True):
    gates: list[Gate] = msgspec.field(default_factory=list)
    require_gates: bool = False
    #: None: "origin" if the clone has it.
    push_remote: str | None = None
    max_interruptions: int = DEFAULT_MAX_INTERRUPTIONS


class GateResult(msgspec.Struct):
    gate: Gate
    ok: bool
    returncode: int
    seconds: float
    output_tail: str
    timed_out: bool = False


def _key(rig: str, name: str) -> str:
    return f"rig.{rig}.{name}"


def parse_gates(text: str, *, where: str = "gates") -> list[Gate]:
    try:
        raw = msgspec.json.decode(text or "[]")
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(raw, list):
        raise InvalidInput(f"{where} must be a JSON list of commands")
    gates = []
    for item in raw:
        if isinstance(item, str):
            item = {"run": item}
        try:
            gate = msgspec.convert(item, type=Gate)
        except msgspec.ValidationError as exc:
            raise InvalidInput(f"bad gate in {where}: {exc}") from None
        if not gate.run.strip():
            raise InvalidInput(f"bad gate in {where}: empty command")
        if gate.kind not in KINDS:
            raise InvalidInput(f"bad gate kind {gate.kind!r} in {where} (one of {', '.join(KINDS)})")
        if gate.timeout <= 0:
            raise InvalidInput(f"bad gate timeout {gate.timeout} in {where}: must be positive")
        gates.append(gate)
    return gates


def load(ledger: Ledger, rig: str) -> GateSettings:
    gates = parse_gates(ledger.config_get(_key(rig, "gates")) or "[]", where=_key(rig, "gates"))
    require = (ledger.config_get(_key(rig, "require_gates")) or "false").strip().lower() in ("1", "true", "yes")
    remote = ledger.config_get(_key(rig, "push_remote"))
    limit = _max_interruptions(ledger.config_get(_key(rig, "max_interruptions")), where=_key(rig, "max_interruptions"))
    return GateSettings(gates=gates, require_gates=require, push_remote=remote, max_interruptions=limit)


def _max_interruptions(value: str | int | None, *, where: str) -> int:
    if value is None or value == "":
        return DEFAULT_MAX_INTERRUPTIONS
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise InvalidInput(f"bad {where} {value!r}: must be a whole number of at least 1")
    return limit


def save(
    ledger: Ledger,
    rig: str,
    *,
    actor: str,
    gates: list[str | dict] | None = None,
    require_gates: bool | None = None,
    push_remote: str | None = None,
    max_interruptions: int | None = None,
) -> GateSettings:
    """Change a rig's settings (validated first: bad input changes nothing)."""
    encoded = None
    if gates is not None:
        encoded = msgspec.json.encode(gates).decode()
        parse_gates(encoded)
    if max_interruptions is not None:
        _max_interruptions(max_interruptions, where="max_interruptions")
    with ledger.atomic():
        if encoded is not None:
            ledger.config_set(_key(rig, "gates"), encoded, actor=actor)
        if require_gates is not None:
            ledger.config_set(_key(rig, "require_gates"), "true" if require_gates else "false", actor=actor)
        if push_remote is not None:
            ledger.config_set(_key(rig, "push_remote"), push_remote, actor=actor)
        if max_interruptions is not None:
            ledger.config_set(_key(rig, "max_interruptions"), str(max_interruptions), actor=actor)
    return load(ledger, rig)


class GateRecord(msgspec.Struct):
    """The running gate, written where a restarted Refinery finds it (before the gate starts:
    a gate may kill its Refinery at once)."""

    token: str
    #: 0 until the gate has started.
    pgid: int = 0


def run_gate(
    gate: Gate, cwd: Path, env: dict[str, str], *, record: Path | None = None, tail_lines: int = TAIL_LINES
) -> GateResult:
    """Run one gate in ``cwd``, in its own process group, which never outlives the call.

    The group is killed whole on timeout, when the gate is done (background
    children it left), and when the caller is stopped: an exception (the
    script agent's ``Terminated``) or SIGTERM/SIGHUP left at their default
    (the process still dies of the signal, after the gate).  A SIGKILL cannot
    be caught: ``record`` (a file) names the group until the gate is over,
    and :func:`kill_leftover` ends it on the next run.
    """
    started = time.monotonic()
    token = os.urandom(8).hex()
    if record is not None:
        _write_record(record, GateRecord(token=token))
    with _signals_raise():
        proc = subprocess.Popen(
            ["/bin/sh", "-c", gate.run], cwd=cwd, env={**env, TOKEN_ENV: token}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            if record is not None:
                _write_record(record, GateRecord(token=token, pgid=proc.pid))
            try:
                out, _ = proc.communicate(timeout=gate.timeout)
                code = proc.returncode
                note = ""
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                # A child that left the group (setsid) may still hold stdout: it carries the token.
                _kill_token_carriers(token)
                out = _drain(proc)
                code = -9
                note = f"\n(gate timed out after {gate.timeout:g}s)"
        finally:
            _end_group(proc, token)
            _kill_token_carriers(token)  # children that left the gate's group (setsid)
            if record is not None:
                record.unlink(missing_ok=True)
    text = out.decode(errors="replace") + note
    tail = "\n".join(text.rstrip().splitlines()[-tail_lines:])
    return GateResult(gate=gate, ok=code == 0, returncode=code, seconds=time.monotonic() - started, output_tail=tail,
                      timed_out=bool(note))  # fmt: skip


def _drain(proc: subprocess.Popen) -> bytes:
    """The rest of a killed gate's output, waiting at most ``DRAIN_S``: a process that scrubbed the
    token from its environment may still hold the pipe, and must not turn the timeout into no bound."""
    try:
        out, _ = proc.communicate(timeout=DRAIN_S)
        return out or b""
    except subprocess.TimeoutExpired:
        if proc.stdout is not None:
            proc.stdout.close()
        return b"(output cut: a process the gate started still held it)"


# -- keeping gates from outliving their Refinery -------------------------------------


class _Stopped(BaseException):
    """SIGTERM/SIGHUP while a gate runs (re-delivered once the gate is ended)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum, frame) -> None:
    raise _Stopped(signum)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """Turn default-handled SIGTERM/SIGHUP into an exception for the duration, so ``finally`` runs."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; an exception there still ends the gate
        return
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:  # a handler someone installed is theirs to honour
            previous[signum] = signal.signal(signum, _raise_stopped)
    try:
        yield
    except _Stopped as stopped:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.kill(os.getpid(), stopped.signum)  # die of it, as without us
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _end_group(proc: subprocess.Popen, token: str) -> None:
    if proc.returncode is None:
        # The leader is not reaped yet, so its id cannot name anyone else's group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    else:
        _kill_tagged_group(proc.pid, token)  # background children the gate left running


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes whose process group is ``pgid``."""
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            out.append(int(entry))
    return out


def _carries(pid: int, token: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return f"{TOKEN_ENV}={token}".encode() in fh.read().split(b"\0")
    except OSError:
        return False


def _kill_tagged_group(pgid: int, token: str, wait_s: float = 5.0) -> bool:
    """SIGKILL group ``pgid`` if one of its processes carries our gate ``token``; True if it did."""
    members = _group_members(pgid)
    if not any(_carries(pid, token) for pid in members):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + wait_s
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return True


def _token_carriers(token: str) -> dict[int, int]:
    """pid -> process group of every live process whose environment carries ``token``."""
    out = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit() and _carries(int(entry), token):
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] != b"Z":
                out[int(entry)] = int(fields[2])
    return out


def _kill_token_carriers(token: str, wait_s: float = 5.0) -> bool:
    """SIGKILL the process groups of every process carrying ``token``; True if there were any."""
    carriers = _token_carriers(token)
    for pgid in set(carriers.values()):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + wait_s
    while carriers and _token_carriers(token) and time.monotonic() < deadline:
        time.sleep(0.02)
    return bool(carriers)


def _write_record(path: Path, record: GateRecord) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(msgspec.json.encode(record))
    os.replace(tmp, path)


def kill_leftover(path: Path) -> bool:
    """End the gate a killed Refinery left running (per its ``record`` file); True if there was one.

    The gate is found by the token in its processes' environment, not by
    the recorded group id alone: that id may belong to an unrelated
    process by now, and the record may have been written just before the
    gate started (killed before its id was known).
    """
    try:
        record = msgspec.json.decode(path.read_bytes(), type=GateRecord)
    except FileNotFoundError:
        return False
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        record = None  # a torn write: no gate can be identified by it
    killed = record is not None and _kill_token_carriers(record.token)
    path.unlink(missing_ok=True)
    return killed
