"""The RPC error model: every failure becomes one JSON-RPC error object.

Codes are stable (clients may switch on them):

- JSON-RPC 2.0: -32700 parse error, -32600 invalid request, -32601 method
  not found, -32602 invalid params (the message names the bad field),
  -32603 internal error (a bug: the message names the exception, never a
  traceback).
- Transport/session (-32000..-32099, "server errors"): -32001 unauthorized,
  -32002 not initialized; and LSP's -32800 request cancelled.
- Domain (:mod:`gastown_server.errors`): -33001 not found, -33002 invalid
  input, -33003 conflict, -33004 no town, -33005 unavailable.

``error.data`` is an object with ``kind`` (a short stable name) and, for
invalid params, ``field`` (a JSON path like ``$.limit``).
"""

from __future__ import annotations

import re

import msgspec

from ..errors import GastownError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
UNAUTHORIZED = -32001
NOT_INITIALIZED = -32002
REQUEST_CANCELLED = -32800

#: Every code a client can receive, with its ``data.kind``.
CODES: dict[int, str] = {
    PARSE_ERROR: "parse_error",
    INVALID_REQUEST: "invalid_request",
    METHOD_NOT_FOUND: "method_not_found",
    INVALID_PARAMS: "invalid_params",
    INTERNAL_ERROR: "internal_error",
    UNAUTHORIZED: "unauthorized",
    NOT_INITIALIZED: "not_initialized",
    REQUEST_CANCELLED: "cancelled",
    -33000: "error",
    -33001: "not_found",
    -33002: "invalid_input",
    -33003: "conflict",
    -33004: "no_town",
    -33005: "unavailable",
}

_PATH_RE = re.compile(r" - at `(\$[^`]*)`$")
_MISSING_RE = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN_RE = re.compile(r"unknown field `([^`]+)`")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    """Escape control characters: a message is one line even when it quotes
    client input (a field named ``"\\n"`` must not break a log or a minibuffer)."""
    return _CONTROL_RE.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


class RpcError(Exception):
    """An error with its wire code; raised by handlers and the transport."""

    def __init__(self, code: int, message: str, *, data: dict | None = None) -> None:
        message = one_line(message)
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = {"kind": CODES.get(code, "error"), **(data or {})}

    def to_wire(self) -> dict:
        return {"code": self.code, "message": self.message, "data": self.data}


def invalid_params(method: str, exc: msgspec.ValidationError | str) -> RpcError:
    """Name the bad field: msgspec's messages end in `` - at `$.path` ``."""
    text = str(exc)
    data: dict = {}
    m = _PATH_RE.search(text)
    if m:
        data["field"] = m.group(1)
    else:
        m = _MISSING_RE.search(text) or _UNKNOWN_RE.search(text)
        if m:
            data["field"] = "$." + m.group(1)
    return RpcError(INVALID_PARAMS, f"invalid params for {method}: {text}", data=data)


def from_exception(exc: BaseException, method: str = "", *, ledger=None) -> RpcError:
    """Map anything a handler raised to a wire error (never a traceback).

    ``ledger`` (the town's ledger path) lets a storage failure (a full disk, a
    ledger the server may not write) be said as such instead of as a bug.
    """
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, OSError) or type(exc).__module__ == "sqlite3":
        from ..beads.failures import explain

        exc = explain(exc, ledger) or exc
    if isinstance(exc, GastownError):
        return RpcError(exc.code, exc.message, data={"kind": exc.kind, **exc.data})
    if isinstance(exc, msgspec.ValidationError):
        return invalid_params(method, exc)
    where = f" in {method}" if method else ""
    return RpcError(INTERNAL_ERROR, f"internal error{where}: {type(exc).__name__}: {exc}")
