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

import os
import signal
import subprocess
import time
from pathlib import Path

import msgspec

from ..beads.store import Ledger
from ..errors import InvalidInput

DEFAULT_TIMEOUT_S = 600.0
DEFAULT_MAX_INTERRUPTIONS = 3
KINDS = ("tests", "build")
TAIL_LINES = 20


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


def run_gate(gate: Gate, cwd: Path, env: dict[str, str]) -> GateResult:
    """Run one gate in ``cwd`` (its own process group, killed whole on timeout)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        ["/bin/sh", "-c", gate.run], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=gate.timeout)
        code = proc.returncode
        note = ""
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = -9
        note = f"\n(gate timed out after {gate.timeout:g}s)"
    text = out.decode(errors="replace") + note
    tail = "\n".join(text.rstrip().splitlines()[-TAIL_LINES:])
    return GateResult(gate=gate, ok=code == 0, returncode=code, seconds=time.monotonic() - started, output_tail=tail)
