"""The two example scripts in docs/examples run against a real town."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rpc_helpers import clean_env, run_bd

from gastown_server.rpc.client import Client

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def test_convoy_watch_prints_progress_until_landed(town):
    a = run_bd(town, "create", "A", "--silent").stdout.strip()
    b = run_bd(town, "create", "B", "--silent").stdout.strip()
    with Client.spawn(town=town, env=clean_env()) as c:
        cv = c.call("convoy/create", {"title": "Ship", "tracked": [a, b]})["id"]
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / "convoy_watch.py"), "--town", str(town), "--seconds", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    first = proc.stdout.readline()
    assert first.startswith(cv) and "0/2" in first
    time.sleep(0.3)  # subscribed by now (it printed after listing)
    run_bd(town, "close", a)
    run_bd(town, "close", b)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "1/2" in out and out.strip().splitlines()[-1].endswith("LANDED")


def test_triage_inbox_files_escalations_and_acks(town):
    with Client.spawn(town=town, env=clean_env()) as c:
        c.initialize(actor="proj/witness")
        esc = c.call("mail/send", {"to": "overseer", "subject": "ESCALATION: refinery stuck", "body": "gates fail"})
        c.call("mail/send", {"to": "overseer", "subject": "FYI", "body": "all good"})
    proc = subprocess.run([sys.executable, str(EXAMPLES / "triage_inbox.py"), "--town", str(town)],
                          capture_output=True, text=True, env=clean_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "escalation from proj/witness" in proc.stdout
    with Client.spawn(town=town, env=clean_env()) as c:
        assert c.call("mail/inbox", {"address": "overseer"})["messages"] == []
        filed = c.call("bead/list", {"label": "escalation"})["beads"]
        assert [b["title"] for b in filed] == ["refinery stuck"] and esc["id"] in filed[0]["description"]
        reply = c.call("mail/inbox", {"address": "proj/witness"})["messages"][0]
        assert reply["subject"] == "Re: ESCALATION: refinery stuck" and "Filed as" in reply["body"]
