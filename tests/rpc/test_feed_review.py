"""feed/subscribe with a cursor from another ledger, and a write whose feed pump fails: real server."""

from __future__ import annotations

import sqlite3
import subprocess

import pytest
from rpc_helpers import clean_env, run_bd

from gastown_server.paths import ledger_path
from gastown_server.rpc.client import Client
from gastown_server.rpc.errors import RpcError


def test_cursor_past_the_newest_event_is_an_error(connect, town):
    run_bd(town, "create", "one")
    c = connect()
    newest = c.call("feed/subscribe", {"cursor": None})["cursor"]
    with pytest.raises(RpcError) as err:
        c.call("feed/subscribe", {"cursor": newest + 100})
    assert err.value.code == -33002 and "past the newest event" in err.value.message
    assert c.call("feed/subscribe", {"cursor": newest})["cursor"] == newest  # the newest itself is fine


def test_a_committed_write_is_answered_even_when_the_feed_pump_fails(town):
    run_bd(town, "create", "one")
    with Client.spawn(town=town, env=clean_env(), stderr=subprocess.DEVNULL) as c:
        c.initialize()
        # Another process leaves an event the feed cannot decode: every pump now fails.
        with sqlite3.connect(ledger_path(town)) as db:
            db.execute("INSERT INTO events(at, actor, kind, bead_id, payload) VALUES ('2026-11-22T00:00:00Z', 'x', 'note', '', 'not json')")
        bead = c.call("bead/create", {"title": "kept"})
        assert c.call("bead/show", {"id": bead["id"]})["title"] == "kept"
