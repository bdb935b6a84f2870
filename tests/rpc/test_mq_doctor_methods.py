"""``mq/list``, ``mq/retry``, ``mq/reject`` and ``doctor/run`` over both transports, against a real ledger."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rpc_helpers import clean_env

from gastown_server.beads.store import Ledger
from gastown_server.rpc.errors import RpcError
from gastown_server.paths import ledger_path
from gastown_server.work import mail
from gastown_server.work import merge_requests as mrs


@pytest.fixture
def town(tmp_path):
    """A town made by ``gt install`` (doctor needs one; the merge queue works in it too)."""
    root = tmp_path / "town"
    p = subprocess.run([sys.executable, "-m", "gastown_server.cli.gt", "install", str(root), "--name", "T"],
                       cwd=tmp_path, env=clean_env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return root


def _queue(town):
    """Two MRs: one waiting, one whose gate failed (with the Refinery's MERGE_FAILED report)."""
    led = Ledger(ledger_path(town))
    try:
        waiting, _ = mrs.submit(led, rig="proj", prefix="hq", branch="polecat/a", base="main", head="a" * 40,
                                polecat="proj/polecats/a", actor="test")
        failed, _ = mrs.submit(led, rig="proj", prefix="hq", branch="polecat/b", base="main", head="b" * 40,
                               polecat="proj/polecats/b", actor="test")
        mrs.record(led, failed, "gate_failed", "tests", actor="proj/refinery", status=mrs.GATE_FAILED)
        mail.send(led, "proj/polecats/b", f"MERGE_FAILED {failed.id}",
                  f"Branch: polecat/b\nMR: {failed.id}\nError: FAILED tests/test_x.py::test_y", actor="proj/refinery")
        return waiting.id, failed.id
    finally:
        led.disconnect()


def test_mq_list_retry_reject(connect, town):
    waiting, failed = _queue(town)
    c = connect()
    items = {i["mr"]["id"]: i for i in c.call("mq/list", {"rig": "proj"})["items"]}
    assert set(items) == {waiting, failed}
    assert items[failed]["mr"]["status"] == "blocked"
    assert items[failed]["gate_output"] == "FAILED tests/test_x.py::test_y"
    assert items[waiting]["gate_output"] == ""
    assert c.call("mq/list", {"rig": "other"})["items"] == []

    # Only a failed MR can be retried: the refusal is one line, nothing changes.
    with pytest.raises(RpcError) as err:
        c.call("mq/retry", {"id": waiting})
    assert "only a failed merge request can be retried" in err.value.message
    assert c.call("mq/retry", {"id": failed})["status"] == "open"

    with pytest.raises(RpcError) as err:
        c.call("mq/reject", {"id": waiting, "reason": "  "})
    assert "say why" in err.value.message
    out = c.call("mq/reject", {"id": waiting, "reason": "wrong approach"})
    assert out["mr"]["status"] == "closed" and out["mr"]["close_reason"] == "abandoned: rejected: wrong approach"
    assert out["mail"]
    pending = [i["mr"]["id"] for i in c.call("mq/list")["items"]]
    assert pending == [failed]
    assert {i["mr"]["id"] for i in c.call("mq/list", {"all": True})["items"]} == {waiting, failed}


def test_doctor_run(connect, town):
    c = connect()
    report = c.call("doctor/run", {"only": ["ledger"]})
    assert [f["check"] for f in report["findings"]] and all(f["check"].startswith("ledger") for f in report["findings"])
    assert {"severity", "message", "fix"} <= set(report["findings"][0])
    with pytest.raises(RpcError) as err:
        c.call("doctor/run", {"only": ["no-such-check"]})
    assert "unknown doctor check" in err.value.message
