"""``initialize`` and ``shutdown``: the session itself."""

from __future__ import annotations

from pathlib import Path

from ... import __version__
from ...work.mail import normalize_address
from .. import types as t
from ..registry import METHODS, method, notifications


@method("initialize", t.InitializeParams, t.InitializeResult, needs_town=False)
def initialize(call, p: t.InitializeParams) -> t.InitializeResult:
    """Start a session: check the token, pick the actor, open the town; returns the server's capabilities.

    Required first when the server has a token (every other call is refused
    until it succeeds); otherwise optional, and ``overseer`` is the actor.
    """
    call.conn.authenticate(p.token)
    if p.town:
        call.app.open_town(Path(p.town))
    if p.actor:
        call.conn.actor = normalize_address(p.actor)
    call.conn.initialized = True
    root = call.app.town_root
    return t.InitializeResult(
        server_info=t.ServerInfo("gastown-server", __version__),
        town=t.TownInfo(call.app.town_name(), str(root)) if root else None,
        capabilities=sorted(METHODS),
        notifications=sorted(notifications()),
        actor=call.conn.actor,
    )


@method("shutdown", t.NoParams, t.ShutdownResult, needs_town=False)
def shutdown(call, p: t.NoParams) -> t.ShutdownResult:
    """End this session's subscriptions; the connection stays open until the ``exit`` notification or EOF."""
    call.app.feed.drop_connection(call.conn)
    call.app.transcripts.drop_connection(call.conn)
    return t.ShutdownResult()
