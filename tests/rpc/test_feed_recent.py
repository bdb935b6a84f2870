"""feed/recent: what a feed view shows when it opens, patrol noise left out by default.

Seen: patrol wisps (wisp_poured, molecule_burned, the closes of a wisp's steps) buried what a
person cares about in both editors' feeds (issue 15)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rpc_helpers import clean_env

from gastown_server.rpc.errors import RpcError

BD = [sys.executable, "-m", "gastown_server.cli.bd"]


def _bd(town, *argv):
    out = subprocess.run([*BD, *argv], capture_output=True, text=True, cwd=town,
                         env=clean_env(GT_TOWN=str(town), BD_ACTOR="deacon"), timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_feed_recent_hides_patrol_noise_unless_asked(connect, town):
    c = connect()
    work = c.call("bead/create", {"title": "Fix the parser"})
    wisp = json.loads(_bd(town, "mol", "wisp", "mol-deacon-patrol", "--json"))["id"]
    _bd(town, "mol", "burn", wisp)
    c.call("bead/close", {"id": work["id"], "reason": "done"})

    news = c.call("feed/recent", {"limit": 50})
    kinds = [e["kind"] for e in news["events"]]
    ids = [e["id"] for e in news["events"]]
    assert ids == sorted(ids), "oldest first, as pushed events follow"
    assert news["cursor"] >= ids[-1]
    assert {e.get("bead_id") for e in news["events"]} - {None} == {work["id"]}, kinds
    assert "wisp_poured" not in kinds and "molecule_burned" not in kinds
    assert kinds[-1] == "closed"

    everything = c.call("feed/recent", {"limit": 500, "noise": True})
    all_kinds = {e["kind"] for e in everything["events"]}
    # (burning a wisp leaves one molecule_burned summary in place of its own events)
    assert "molecule_burned" in all_kinds, all_kinds
    assert any("-wisp-" in (e.get("bead_id") or "") for e in everything["events"])

    closed = c.call("feed/recent", {"kind": "closed"})["events"]
    assert [e.get("bead_id") for e in closed] == [work["id"]]
    assert len(c.call("feed/recent", {"limit": 1, "noise": True})["events"]) == 1

    # A subscription from the cursor it returned gets the next event and nothing before it.
    sub = c.call("feed/subscribe", {"cursor": news["cursor"]})
    later = c.call("bead/create", {"title": "Then this"})
    got = c.next_notification(10, method="$/gastown/event")
    assert got["params"]["subscription"] == sub["subscription"]
    assert got["params"]["event"]["bead_id"] == later["id"]


def test_feed_recent_bad_params_are_coded_errors(connect):
    c = connect()
    with pytest.raises(RpcError) as err:
        c.call("feed/recent", {"limit": 0})
    assert err.value.code == -32602
    with pytest.raises(RpcError) as err:
        c.call("feed/recent", {"rig": "nosuchrig"})
    # (this ledger-only town has no rigs at all: the one line says what the filter needs)
    assert "\n" not in err.value.message and "gt install" in err.value.message
