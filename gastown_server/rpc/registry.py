"""The method registry: one table of ``noun/verb`` -> handler, params and result types.

Handlers are a few lines each over domain functions.  A handler takes
``(call, params)``: ``call`` is the :class:`~gastown_server.rpc.app.Call`
(the session's actor, the ledger to use, progress reporting), ``params``
the decoded params Struct.  ``mode`` says how the server runs it:

- ``read``: on the event loop with the server's read connection (reads
  never block in WAL mode, and they are the hot path: no thread hop);
- ``write``: on the single writer thread with its own ledger connection,
  so a write waiting for SQLite's lock never stalls other clients;
- ``async``: a coroutine on the loop (long-running; may be cancelled with
  ``$/cancelRequest`` when ``cancellable``).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Mode = Literal["read", "write", "async"]


@dataclass(frozen=True)
class Method:
    name: str
    fn: Callable[..., Any]
    params: type
    result: Any
    mode: Mode
    needs_town: bool
    cancellable: bool
    summary: str
    doc: str


@dataclass(frozen=True)
class Notification:
    name: str
    params: type
    summary: str


METHODS: dict[str, Method] = {}

#: Method modules, imported once when the server starts (and by the docs).
MODULES = (
    "gastown_server.rpc.methods.session",
    "gastown_server.rpc.methods.beads",
    "gastown_server.rpc.methods.convoys",
    "gastown_server.rpc.methods.mail",
    "gastown_server.rpc.methods.feed",
    "gastown_server.rpc.methods.transcripts",
    "gastown_server.rpc.methods.town",
    "gastown_server.rpc.methods.agents",
    "gastown_server.rpc.methods.formulas",
    "gastown_server.rpc.methods.sling",
    "gastown_server.rpc.methods.costs",
    "gastown_server.rpc.methods.mq",
    "gastown_server.rpc.methods.ops",
)


def method(
    name: str,
    params: type,
    result: Any,
    *,
    mode: Mode = "read",
    needs_town: bool = True,
    cancellable: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in METHODS:
            raise ValueError(f"method {name} registered twice")
        doc = inspect.cleandoc(fn.__doc__ or "")
        METHODS[name] = Method(
            name, fn, params, result, mode, needs_town, cancellable, doc.split("\n", 1)[0], doc
        )
        return fn

    return deco


def load_all() -> dict[str, Method]:
    for module in MODULES:
        importlib.import_module(module)
    return METHODS


def notifications() -> dict[str, Notification]:
    from . import types as t

    table = [
        ("$/gastown/event", t.EventNotification),
        ("$/gastown/convoyChanged", t.ConvoyChangedNotification),
        ("$/gastown/mailArrived", t.MailArrivedNotification),
        ("$/gastown/agentChanged", t.AgentChangedNotification),
        ("$/gastown/transcript", t.TranscriptNotification),
        ("$/progress", t.ProgressNotification),
    ]
    return {
        name: Notification(name, cls, inspect.cleandoc(cls.__doc__ or "").split("\n", 1)[0].split(": ", 1)[-1])
        for name, cls in table
    }
