"""list:<name>: one copy per member, one conversation for every reply (real gt processes, real ledger)."""

from __future__ import annotations

from mail_lists_helpers import as_, fingerprint, js, one_error_line


def test_list_fans_out_and_replies_thread(gt, town, rig):
    gt("mail", "list", "create", "oncall", "mayor", "proj/witness", "overseer")
    copies = js(gt("mail", "send", "list:oncall", "-s", "Outage", "-m", "db is down", "--json", env=as_("overseer")))
    # the sender is a member but gets no copy of their own mail
    assert [c["to"] for c in copies] == ["mayor", "proj/witness"]
    thread_id = copies[0]["id"]
    assert {(c["mailing_list"], c["thread_id"], c["subject"], c["body"]) for c in copies} == {
        ("oncall", thread_id, "Outage", "db is down")}
    for who, copy in zip(("mayor", "proj/witness"), copies):
        box = js(gt("mail", "inbox", who, "--json"))
        assert [m["id"] for m in box["messages"]] == [copy["id"]] and box["unread"] == 1
    text = gt("mail", "inbox", "mayor").stdout
    assert "[list:oncall]" in text and "Outage" in text

    # replies from both members go to the sender and stay in one thread
    r_mayor = js(gt("mail", "reply", copies[0]["id"], "-m", "on it", "--json", env=as_("mayor")))
    r_witness = js(gt("mail", "reply", copies[1]["id"], "-m", "polecats paused", "--json", env=as_("proj/witness")))
    assert (r_mayor["to"], r_mayor["thread_id"]) == ("overseer", thread_id)
    assert (r_witness["to"], r_witness["thread_id"]) == ("overseer", thread_id)
    r_back = js(gt("mail", "reply", r_witness["id"], "-m", "thanks", "--json", env=as_("overseer")))
    assert r_back["to"] == "proj/witness" and r_back["thread_id"] == thread_id

    for any_id, own_copy in ((r_mayor["id"], copies[0]["id"]), (r_back["id"], copies[1]["id"]),
                             (copies[1]["id"], copies[1]["id"])):  # fmt: skip
        thread = js(gt("mail", "thread", any_id, "--json"))
        # the asker's own copy stands for the list message; every reply under any copy is in
        assert [m["id"] for m in thread] == [own_copy, r_mayor["id"], r_witness["id"], r_back["id"]]
    lines = gt("mail", "thread", r_back["id"]).stdout.splitlines()
    assert lines[0].startswith(copies[1]["id"]) and any(line.startswith(f"    {r_back['id']}") for line in lines)

    # the Overseer's inbox has the two replies; plain text names each recipient of the send
    assert [m["id"] for m in js(gt("mail", "inbox", "overseer", "--json"))["messages"]] == [r_mayor["id"], r_witness["id"]]
    out = gt("mail", "send", "list:oncall", "-s", "All clear", "-m", "ok", env=as_("mayor")).stdout.splitlines()
    assert [line.split()[3].rstrip(":") for line in out[:-1]] == ["proj/witness", "overseer"]
    assert out[-1].startswith("list:oncall: 2 recipient(s), thread ")


def test_unknown_or_empty_list_sends_nothing(gt, town, rig):
    gt("mail", "list", "create", "solo", "mayor")
    gt("mail", "list", "create", "pair", "mayor", "deacon")
    gt("mail", "list", "remove", "pair", "mayor", "deacon")
    before = fingerprint(town.root)
    one_error_line(gt("mail", "send", "list:nope", "-s", "x", "-m", "y", check=False), "no list 'nope'", "pair, solo")
    one_error_line(gt("mail", "send", "list:solo", "-s", "x", "-m", "y", check=False, env=as_("mayor")),
                   "list:solo has nobody to send to")  # fmt: skip
    one_error_line(gt("mail", "send", "list:pair", "-s", "x", "-m", "y", check=False), "list:pair has nobody")
    one_error_line(gt("mail", "send", "list:Bad!", "-s", "x", "-m", "y", check=False), "bad list name")
    one_error_line(gt("mail", "send", "list:solo", "-s", " ", "-m", "y", check=False), "needs a subject")
    one_error_line(gt("mail", "inbox", "list:solo", check=False), "has no inbox")
    assert fingerprint(town.root) == before


def test_a_list_send_is_one_ledger_event_naming_every_copy(gt, town, rig):
    import sqlite3

    gt("mail", "list", "create", "oncall", "mayor", "deacon", "proj/refinery")
    ids = [m["id"] for m in js(gt("mail", "send", "list:oncall", "-s", "x", "-m", "y", "--json"))]
    with sqlite3.connect(town.root / ".gastown" / "ledger.db") as conn:
        kind, payload = conn.execute("SELECT kind, payload FROM events ORDER BY id DESC LIMIT 1").fetchone()
    import json

    payload = json.loads(payload)
    assert kind == "mail_list" and payload["list"] == "oncall" and payload["mail"] == ids
    assert payload["to"] == ["mayor", "deacon", "proj/refinery"]
