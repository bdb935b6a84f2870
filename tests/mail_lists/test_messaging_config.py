"""settings/messaging.json: managed by `gt mail list|queue`, validated on load, written atomically."""

from __future__ import annotations

import json

from mail_lists_helpers import fingerprint, js, one_error_line

from gastown_server.work import mailing


def test_lists_and_queues_round_trip_through_the_file(gt, town, rig):
    cfg = town.root / "settings" / "messaging.json"
    assert not cfg.exists()
    assert gt("mail", "lists").stdout.startswith("no lists or queues")

    made = js(gt("mail", "list", "create", "oncall", "mayor/", "proj/witness", "--json"))
    assert made == {"name": "oncall", "address": "list:oncall", "members": ["mayor", "proj/witness"]}
    assert gt("mail", "list", "add", "oncall", "deacon", "mayor").stdout.strip() == \
        "list:oncall: mayor, proj/witness, deacon"  # fmt: skip
    assert js(gt("mail", "list", "remove", "oncall", "proj/witness", "--json"))["members"] == ["mayor", "deacon"]
    gt("mail", "list", "create", "leads", "proj/polecats/nux")
    queue = js(gt("mail", "queue", "create", "triage", "--worker", "proj/polecats/*", "--worker", "mayor/", "--json"))
    assert queue["workers"] == ["proj/polecats/*", "mayor"]
    assert queue["members"] == ["mayor", "proj/polecats/ace", "proj/polecats/nux", "proj/polecats/rust"]

    # the file is the documented shape, readable back with the domain's loader
    assert json.loads(cfg.read_text()) == {
        "lists": {"oncall": ["mayor", "deacon"], "leads": ["proj/polecats/nux"]},
        "queues": {"triage": {"workers": ["proj/polecats/*", "mayor"]}},
    }
    loaded = mailing.load(town.root)
    assert loaded.lists["oncall"] == ["mayor", "deacon"] and loaded.queues["triage"].workers[0] == "proj/polecats/*"
    assert not list(cfg.parent.glob(".messaging.json.*.tmp"))  # no temp file left behind

    view = js(gt("mail", "lists", "--json"))
    assert [(x["address"], x["members"]) for x in view["lists"]] == [
        ("list:leads", ["proj/polecats/nux"]), ("list:oncall", ["mayor", "deacon"])]
    assert [(q["address"], q["unclaimed"]) for q in view["queues"]] == [("queue:triage", 0)]
    text = gt("mail", "list").stdout  # no action: the same overview
    assert "list:oncall" in text and "queue:triage" in text and "proj/polecats/rust" in text

    gt("mail", "list", "delete", "leads")
    gt("mail", "queue", "delete", "triage")
    assert json.loads(cfg.read_text()) == {"lists": {"oncall": ["mayor", "deacon"]}}


def test_bad_edits_are_one_line_and_change_nothing(gt, town, rig):
    gt("mail", "list", "create", "oncall", "mayor")
    gt("mail", "queue", "create", "triage", "--worker", "proj/polecats/*")
    before = fingerprint(town.root)
    cases = [
        (("mail", "list", "create", "crew", "mayor", "proj/polecats/ghost"), ("unknown address 'proj/polecats/ghost'",)),
        (("mail", "list", "create", "Bad Name", "mayor"), ("bad list name 'Bad Name'",)),
        (("mail", "list", "create", "oncall", "deacon"), ("list:oncall already exists",)),
        (("mail", "list", "create", "empty"), ("needs at least one member",)),
        (("mail", "list", "create", "nest", "list:oncall"), ("not lists or queues",)),
        (("mail", "list", "add", "nope", "mayor"), ("no list 'nope'", "oncall")),
        (("mail", "list", "add", "oncall", "bad address!"), ("invalid address",)),
        (("mail", "list", "remove", "oncall", "deacon"), ("'deacon' is not on list:oncall",)),
        (("mail", "list", "delete", "nope"), ("no list 'nope'",)),
        (("mail", "list", "add"), ("needs a list name",)),
        (("mail", "queue", "create", "work", "--worker", "proj/*/x*"), ("bad worker pattern",)),
        (("mail", "queue", "create", "work", "--worker", "proj/polecats/ghost"), ("unknown address",)),
        (("mail", "queue", "create", "work"), ("needs at least one --worker",)),
        (("mail", "queue", "create", "triage", "--worker", "mayor"), ("queue:triage already exists",)),
        (("mail", "queue", "delete", "nope"), ("no queue 'nope'", "triage")),
    ]
    for argv, needles in cases:
        one_error_line(gt(*argv, check=False), *needles)
    assert fingerprint(town.root) == before


def test_a_queue_holding_work_cannot_be_deleted(gt, town, rig):
    gt("mail", "queue", "create", "triage", "--worker", "mayor")
    gt("mail", "send", "queue:triage", "-s", "look at this", "-m", "x")
    before = fingerprint(town.root)
    one_error_line(gt("mail", "queue", "delete", "triage", check=False), "1 unclaimed message", "gt mail claim triage")
    assert fingerprint(town.root) == before
    claimed = js(gt("mail", "claim", "triage", "--json", "--actor", "mayor"))
    gt("mail", "archive", claimed["id"], "--actor", "mayor")
    gt("mail", "queue", "delete", "triage")
    assert mailing.load(town.root).queues == {}


def test_a_malformed_messaging_json_is_one_clear_line(gt, town, rig):
    cfg = town.root / "settings" / "messaging.json"
    bad = {
        b"{not json": "is not valid JSON",
        b'{"lists": {"oncall": "mayor"}}': "lists.oncall: Expected `array`, got `str`",
        b'{"lists": {}, "queus": {}}': "queus",
        b'{"queues": {"triage": {"workers": "mayor"}}}': "queues.triage: Expected `array`, got `str` - at `$.workers`",
        b'{"lists": {"oncall": ["not an address!"]}}': "invalid address",
        b'{"lists": {"On Call": ["mayor"]}}': "bad list name",
        b'{"queues": {"t": {"workers": ["a*b*"]}}}': "bad worker pattern",
        b"[]": "Expected `object`",
    }
    for content, needle in bad.items():
        cfg.write_bytes(content)
        before = fingerprint(town.root)
        for argv in (("mail", "lists"), ("mail", "send", "list:oncall", "-s", "x", "-m", "y"),
                     ("mail", "list", "add", "oncall", "mayor"), ("mail", "inbox", "queue:triage")):  # fmt: skip
            line = one_error_line(gt(*argv, check=False), needle)
            assert str(cfg) in line, line
        # direct mail does not depend on the file: the inbox works, with one warning line naming the problem
        inbox = gt("mail", "inbox", "mayor")
        assert inbox.stderr.count("\n") == 1 and inbox.stderr.startswith("gt: warning: queue work not shown: ")
        assert needle in inbox.stderr and str(cfg) in inbox.stderr
        assert fingerprint(town.root) == before, content  # nothing sent, the file untouched


def test_concurrent_edits_lose_nothing(gt, town, rig):
    import os
    import subprocess
    import sys

    gt("mail", "list", "create", "all", "overseer")
    others = ["mayor", "deacon", "boot", "proj/witness", "proj/refinery", "proj/polecats/nux", "proj/polecats/rust"]
    procs = [subprocess.Popen([sys.executable, "-m", "gastown_server.cli.gt", "mail", "list", "add", "all", a],
                              cwd=town.root, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for a in others]  # fmt: skip
    for p in procs:
        assert p.wait(timeout=60) == 0, p.stderr.read()
    assert sorted(mailing.load(town.root).lists["all"]) == sorted(["overseer", *others])
    assert not list((town.root / "settings").glob(".messaging.json.*"))  # no temp or lock file beside the config
