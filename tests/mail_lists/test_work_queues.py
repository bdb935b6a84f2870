"""queue:<name>: one message, unclaimed until exactly one worker claims it (real gt processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mail_lists_helpers import as_, fingerprint, js, one_error_line

from gastown_server.work import mailing

NUX, RUST, ACE = "proj/polecats/nux", "proj/polecats/rust", "proj/polecats/ace"


def test_queue_send_inbox_claim_release(gt, town, rig):
    gt("mail", "queue", "create", "triage", "--worker", "proj/polecats/*", "--worker", "mayor")
    sent = js(gt("mail", "send", "queue:triage", "-s", "Flaky test", "-m", "see CI run 42", "--json"))
    assert (sent["to"], sent["queue"], sent["claimed_from"]) == ("queue:triage", "triage", "")
    assert gt("mail", "send", "queue:triage", "-s", "Second", "-m", "x").stdout.startswith("queued ")

    # workers see the unclaimed work, clearly marked; nobody else does
    for worker in (NUX, "proj/nux", RUST, "mayor"):
        box = js(gt("mail", "inbox", worker, "--json"))
        assert [(m["subject"], m["queue"]) for m in box["messages"]] == [("Flaky test", "triage"), ("Second", "triage")]
        assert box["queued"] == 2 and box["unread"] == 0
    for outsider in ("deacon", "proj/witness", "overseer"):
        assert js(gt("mail", "inbox", outsider, "--json"))["messages"] == []
    line = gt("mail", "inbox", env=as_(NUX)).stdout.splitlines()[0]
    assert "queued" in line and "[queue:triage: gt mail claim triage]" in line
    assert [m["subject"] for m in js(gt("mail", "inbox", "queue:triage", "--json"))["messages"]] == ["Flaky test", "Second"]

    # reading unclaimed work marks nothing; acking it is refused until claimed
    assert not js(gt("mail", "read", sent["id"], "--json", env=as_(NUX)))["read"]
    before = fingerprint(town.root)
    one_error_line(gt("mail", "ack", sent["id"], check=False, env=as_(NUX)), "unclaimed work in queue:triage",
                   "gt mail claim triage")  # fmt: skip
    one_error_line(gt("mail", "claim", "triage", check=False, env=as_("deacon")), "deacon is not a worker of queue:triage")
    one_error_line(gt("mail", "claim", "nope", check=False, env=as_(NUX)), "no queue 'nope'", "triage")
    one_error_line(gt("mail", "send", "queue:nope", "-s", "x", "-m", "y", check=False), "no queue 'nope'")
    one_error_line(gt("mail", "release", sent["id"], check=False, env=as_(NUX)), "is not claimed")
    assert fingerprint(town.root) == before

    # claim: oldest first, the claimer owns it, the others stop seeing it
    got = js(gt("mail", "claim", "triage", "--json", env=as_(NUX)))
    assert (got["id"], got["to"], got["queue"], got["claimed_from"]) == (sent["id"], NUX, "", "triage")
    assert [m["subject"] for m in js(gt("mail", "inbox", "--json", env=as_(RUST)))["messages"]] == ["Second"]
    mine = js(gt("mail", "inbox", "--json", env=as_(NUX)))
    assert [(m["subject"], m["queue"], m["to"]) for m in mine["messages"]] == [
        ("Flaky test", "", NUX), ("Second", "triage", "queue:triage")]
    assert mine["unread"] == 1 and "[claimed from queue:triage]" in gt("mail", "inbox", env=as_(NUX)).stdout
    assert gt("mail", "claim", "queue:triage", env=as_("mayor")).stdout.startswith("claimed ")
    assert js(gt("mail", "claim", "triage", "--json", env=as_(RUST))) is None
    assert gt("mail", "claim", "triage", env=as_(RUST)).stdout.strip() == "queue:triage: nothing to claim"

    # release: only the claimer (or the Overseer); it goes back unclaimed and unread
    gt("mail", "read", sent["id"], env=as_(NUX))
    one_error_line(gt("mail", "release", sent["id"], check=False, env=as_(RUST)), f"claimed by {NUX}")
    assert gt("mail", "release", sent["id"], env=as_(NUX)).stdout.strip() == f"released {sent['id']} back to queue:triage"
    back = js(gt("mail", "read", sent["id"], "--json", env=as_(ACE)))
    assert (back["to"], back["queue"], back["read"]) == ("queue:triage", "triage", False)
    again = js(gt("mail", "claim", "triage", "--json", env=as_(ACE)))
    assert again["id"] == sent["id"] and again["to"] == ACE
    assert js(gt("mail", "release", sent["id"], "--json", env=as_("overseer")))["queue"] == "triage"

    # replies to queue work go to its sender
    r = js(gt("mail", "reply", sent["id"], "-m", "fixed", "--json", env=as_("mayor")))
    assert r["to"] == "overseer" and r["replies_to"] == sent["id"]
    one_error_line(gt("mail", "release", r["id"], check=False, env=as_("overseer")), "did not come from a queue")


_CLAIMER = r"""
import json, subprocess, sys
gt, out = [sys.executable, "-m", "gastown_server.cli.gt"], []
while True:
    p = subprocess.run([*gt, "--json", "mail", "claim", "triage"], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("claim failed: " + p.stderr)
    msg = json.loads(p.stdout)
    if msg is None:
        break
    out.append(msg["id"])
print(json.dumps(out))
"""


def test_concurrent_claimers_each_get_distinct_messages(gt, town, rig):
    gt("mail", "queue", "create", "triage", "--worker", "proj/polecats/*", "--worker", "mayor")
    sent = {mailing.send(town.ledger, town.root, "queue:triage", f"job {i}", actor="overseer").messages[0].id
            for i in range(24)}  # fmt: skip
    workers = (NUX, RUST, ACE, "mayor")
    procs = {
        w: subprocess.Popen([sys.executable, "-c", _CLAIMER], env={**os.environ, "BD_ACTOR": w}, cwd=town.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        for w in workers
    }
    claimed: dict[str, list[str]] = {}
    for w, p in procs.items():
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        claimed[w] = json.loads(out)
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == len(set(every)) == len(sent) and set(every) == sent  # each exactly once
    assert sum(1 for ids in claimed.values() if ids) >= 2, claimed  # they really competed
    for w, ids in claimed.items():
        assert {b.assignee for b in town.ledger.get_many(ids).values()} <= {w}
    assert mailing.unclaimed(town.ledger, "triage") == []
