"""Beads' gates (``bd gate ...``): a bead of type ``gate`` that work waits on.

A gate has ``await_type`` (what it waits for), ``await_id`` (which one) and
``timeout`` (a Go ``time.Duration``); the beads it holds back depend on it
with ``blocks``, so they become ready when it closes.  :func:`check`
resolves the gates that can be decided here:

* ``timer``: when ``created_at + timeout`` has passed;
* ``bead``: when the bead ``await_id`` is closed;
* ``human`` and ``mail``: only by ``bd gate resolve`` (someone decides);
* ``gh:run``/``gh:pr``: never here (no network): reported ``unchecked``.

Any open gate past its timeout is reported ``expired`` (it stays open: an
agent decides).  Waiters (addresses to tell when it resolves) are kept in the
gate's ``metadata.waiters`` and mailed by :func:`resolve`.

Not to be confused with the Refinery's merge gates (``work/gates.py``).
"""

from __future__ import annotations

import time

import msgspec

from ..errors import Conflict, InvalidInput
from . import clock

GATE_TYPE = "gate"
AWAIT_TYPES = ("timer", "bead", "human", "mail", "gh:run", "gh:pr")


class GateView(msgspec.Struct, omit_defaults=False):
    id: str
    title: str
    status: str
    await_type: str
    await_id: str
    timeout_s: float
    created_at: str
    waiters: list[str]
    #: The beads it holds back.
    blocks: list[str]
    close_reason: str = ""


class CheckResult(msgspec.Struct, omit_defaults=False):
    id: str
    #: ``resolved``, ``waiting``, ``expired`` or ``unchecked``.
    outcome: str
    detail: str = ""


def _timeout_field_is_int() -> bool:
    from .models import Bead

    return next(f for f in msgspec.structs.fields(Bead) if f.name == "timeout").type is int


def timeout_value(seconds: float):
    """The ``timeout`` column's value for ``seconds`` (Go writes a Duration as integer nanoseconds)."""
    ns = int(round(seconds * 1e9))
    return ns if _timeout_field_is_int() else (str(ns) if ns else "")


def timeout_seconds(value) -> float:
    if not value:
        return 0.0
    if isinstance(value, (int, float)):
        return value / 1e9
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text) / 1e9
    from ..work.signals import parse_duration

    return parse_duration(text, what="timeout")


def _meta(bead) -> dict:
    try:
        data = msgspec.json.decode(bead.metadata) if bead.metadata else {}
    except msgspec.DecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def view(ledger, gate_id: str) -> GateView:
    b = require(ledger, gate_id)
    blocks = [d.issue_id for d in ledger.dependents(gate_id, "blocks")]
    return GateView(id=b.id, title=b.title, status=b.status, await_type=b.await_type, await_id=b.await_id,
                    timeout_s=timeout_seconds(b.timeout), created_at=b.created_at,
                    waiters=list(_meta(b).get("waiters", [])), blocks=blocks, close_reason=b.close_reason)  # fmt: skip


def require(ledger, gate_id: str):
    b = ledger.get(gate_id)
    if b.issue_type != GATE_TYPE:
        raise InvalidInput(f"{gate_id} is a {b.issue_type}, not a gate")
    return b


def create(ledger, *, actor: str, await_type: str, await_id: str = "", timeout_s: float = 0.0, title: str = "",
           blocks: list[str] = (), waiters: list[str] = ()) -> GateView:  # fmt: skip
    if await_type not in AWAIT_TYPES:
        raise InvalidInput(f"unknown await type {await_type!r} (one of {', '.join(AWAIT_TYPES)})")
    if await_type == "timer" and timeout_s <= 0:
        raise InvalidInput("a timer gate needs --timeout (e.g. 30m)")
    if await_type in ("bead", "gh:run", "gh:pr") and not await_id:
        raise InvalidInput(f"a {await_type} gate needs --await-id")
    if timeout_s < 0:
        raise InvalidInput("--timeout must not be negative")
    meta = {"waiters": list(dict.fromkeys(waiters))} if waiters else {}
    with ledger.mutation("gate_created", actor, "", {"await_type": await_type, "await_id": await_id}) as rec:
        if await_type == "bead":
            ledger.get(await_id)
        gate = ledger.create(
            title or f"gate: {await_type}" + (f" {await_id}" if await_id else ""), actor=actor, issue_type=GATE_TYPE,
            await_type=await_type, await_id=await_id, timeout=timeout_value(timeout_s),
            metadata=msgspec.json.encode(meta).decode() if meta else "",
        )  # fmt: skip
        rec.bead_id = gate.id
        for b in blocks:
            ledger.add_dependency(b, gate.id, dep_type="blocks", actor=actor)
    return view(ledger, gate.id)


def list_gates(ledger, *, include_closed: bool = False) -> list[GateView]:
    return [view(ledger, b.id) for b in ledger.list(issue_type=GATE_TYPE, include_closed=include_closed)]


def add_waiter(ledger, gate_id: str, waiter: str, *, actor: str) -> GateView:
    if not waiter.strip():
        raise InvalidInput("the waiter is empty (an address, e.g. gastown/polecats/ace)")
    with ledger.mutation("gate_waiter_added", actor, gate_id, {"waiter": waiter}):
        b = require(ledger, gate_id)
        if b.status == "closed":
            raise Conflict(f"gate {gate_id} is already resolved ({b.close_reason})")
        meta = _meta(b)
        waiters = list(meta.get("waiters", []))
        if waiter not in waiters:
            waiters.append(waiter)
        meta["waiters"] = waiters
        ledger.update(gate_id, actor=actor, metadata=msgspec.json.encode(meta).decode())
    return view(ledger, gate_id)


def resolve(ledger, gate_id: str, *, actor: str, reason: str = "resolved") -> tuple[GateView, list[str]]:
    """Close the gate (its blocked beads become ready) and mail each waiter; ``(view, mail ids)``."""
    from ..work import mail

    with ledger.mutation("gate_resolved", actor, gate_id, {"reason": reason}):
        b = require(ledger, gate_id)
        if b.status == "closed":
            raise Conflict(f"gate {gate_id} is already resolved ({b.close_reason})")
        ledger.close(gate_id, actor=actor, reason=reason)
        sent = []
        for w in _meta(b).get("waiters", []):
            try:
                sent.append(mail.send(ledger, w, f"GATE_RESOLVED {gate_id}", f"Gate: {gate_id} ({b.title})\nReason: {reason}",
                                      actor=actor).id)  # fmt: skip
            except InvalidInput:
                continue  # a waiter that is no address: nothing to tell
    return view(ledger, gate_id), sent


def check(ledger, *, actor: str, dry_run: bool = False) -> list[CheckResult]:
    now = time.time()
    out = []
    for b in ledger.list(issue_type=GATE_TYPE):
        if b.status == "closed":
            continue
        age = now - clock.parse(b.created_at).timestamp()
        limit = timeout_seconds(b.timeout)
        decided = ""
        if b.await_type == "timer" and limit and age >= limit:
            decided = f"timer elapsed ({limit:g}s)"
        elif b.await_type == "bead" and b.await_id and ledger.exists(b.await_id) and ledger.get(b.await_id).status == "closed":
            decided = f"{b.await_id} closed"
        if decided:
            if not dry_run:
                resolve(ledger, b.id, actor=actor, reason=decided)
            out.append(CheckResult(b.id, "resolved", decided))
        elif limit and age >= limit:
            out.append(CheckResult(b.id, "expired", f"open {age:.0f}s, timeout {limit:g}s: resolve it or escalate"))
        elif b.await_type.startswith("gh:"):
            out.append(CheckResult(b.id, "unchecked", f"{b.await_type} gates need GitHub: bd gate resolve {b.id} when it is done"))
        else:
            out.append(CheckResult(b.id, "waiting", b.await_type))
    return out
