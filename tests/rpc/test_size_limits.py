"""Every text the ledger takes is bounded; past a limit: a coded error naming the field, nothing written.

Seen before: eight 10 MiB titles over RPC were all accepted (the ledger grew to 338 MB)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rpc_helpers import clean_env

from gastown_server.beads import limits
from gastown_server.beads.store import Ledger
from gastown_server.errors import InvalidInput
from gastown_server.paths import ledger_path
from gastown_server.rpc.errors import RpcError

BD = [sys.executable, "-m", "gastown_server.cli.bd"]


def _count(town) -> int:
    led = Ledger(ledger_path(town))
    try:
        return led.conn.execute("SELECT count(*) FROM issues").fetchone()[0]
    finally:
        led.disconnect()


@pytest.mark.parametrize(
    "method, params, field",
    [
        ("bead/create", {"title": "x" * (limits.TITLE_MAX + 1)}, "title"),
        ("bead/create", {"title": "é" * (limits.TITLE_MAX // 2 + 1)}, "title"),  # bytes, not characters
        ("bead/create", {"title": "ok", "description": "d" * (limits.TEXT_MAX + 1)}, "description"),
        ("bead/create", {"title": "ok", "assignee": "a" * (limits.SHORT_MAX + 1)}, "assignee"),
        ("bead/create", {"title": "ok", "labels": ["l" * (limits.SHORT_MAX + 1)]}, "label"),
        ("mail/send", {"to": "mayor", "subject": "s" * (limits.TITLE_MAX + 1)}, "title"),
        ("mail/send", {"to": "mayor", "subject": "hi", "body": "b" * (limits.TEXT_MAX + 1)}, "description"),
    ],
)
def test_rpc_refuses_oversized_text_naming_the_field(connect, town, method, params, field):
    c = connect()
    before = _count(town)
    with pytest.raises(RpcError) as err:
        c.call(method, params)
    assert err.value.code == -33002, err.value
    assert f"{field} is " in err.value.message and "the limit is" in err.value.message
    assert err.value.data.get("field") == field
    assert _count(town) == before, "nothing may be written"


def test_rpc_update_is_bounded_and_limits_are_inclusive(connect, town):
    c = connect()
    bead = c.call("bead/create", {"title": "t" * limits.TITLE_MAX, "description": "d" * limits.TEXT_MAX})
    for params, field in [({"id": bead["id"], "title": "t" * (limits.TITLE_MAX + 1)}, "title"),
                          ({"id": bead["id"], "notes": "n" * (limits.TEXT_MAX + 1)}, "notes")]:
        with pytest.raises(RpcError) as err:
            c.call("bead/update", params)
        assert err.value.code == -33002 and err.value.data.get("field") == field
    shown = c.call("bead/show", {"id": bead["id"]})
    shown = shown.get("bead", shown)
    assert shown["title"] == "t" * limits.TITLE_MAX and "notes" not in shown


def test_a_frame_over_the_limit_is_refused_and_the_server_lives(connect):
    c = connect()
    with pytest.raises(RpcError) as err:
        c.call("bead/create", {"title": "big", "description": "x" * (9 * 1024 * 1024)})
    assert err.value.code == -32600 and "exceeds the limit" in err.value.message
    assert c.call("bead/list") == {"beads": []}


def test_bd_refuses_an_oversized_title_in_one_line(town):
    proc = subprocess.run([*BD, "create", "x" * 600], capture_output=True, text=True,
                          env=clean_env(GT_TOWN=str(town)), cwd=town, timeout=60)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines == ["bd: error: title is 600 bytes; the limit is 500 bytes"], proc.stderr
    assert _count(town) == 0
    led = Ledger(ledger_path(town))
    try:
        bead = led.create("fine", actor="overseer")
        with pytest.raises(InvalidInput, match="text is 1048577 bytes; the limit is 1048576 bytes"):
            led.add_comment(bead.id, "c" * (limits.TEXT_MAX + 1), actor="overseer")
        assert led.comments(bead.id) == []
    finally:
        led.disconnect()
