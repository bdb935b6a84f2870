"""gt mail / gt broadcast as real processes in a real town (tmux on a throwaway socket)."""

from __future__ import annotations

import subprocess

from mail_helpers import fingerprint, js, one_error_line
from town_helpers import GT, transcript, wait_for

from gastown_server.town.lifecycle import start_agent

MAYOR = {"BD_ACTOR": "mayor"}
OVERSEER = {"BD_ACTOR": "overseer"}


def test_mail_round_trip_with_threads(gt, bd, town):
    sent = js(gt("mail", "send", "mayor/", "-s", "Status?", "-m", "How is it going?", "--json", env=OVERSEER))
    assert (sent["to"], sent["sender"], sent["subject"]) == ("mayor", "overseer", "Status?")
    inbox = js(gt("mail", "inbox", "--json", env=MAYOR))
    assert inbox["address"] == "mayor" and inbox["unread"] == 1
    assert [m["id"] for m in inbox["messages"]] == [sent["id"]]

    read = js(gt("mail", "read", sent["id"], "--json", env=MAYOR))
    assert read["read"] and read["body"] == "How is it going?"
    assert js(gt("mail", "inbox", "--unread", "--json", env=MAYOR))["messages"] == []

    r1 = js(gt("mail", "reply", sent["id"], "-m", "Fine, two beads left.", "--json", env=MAYOR))
    assert (r1["to"], r1["subject"], r1["replies_to"]) == ("overseer", "Re: Status?", sent["id"])
    r2 = js(gt("mail", "reply", r1["id"], "-m", "Ping me when landed.", "--json", env=OVERSEER))
    assert (r2["to"], r2["subject"], r2["replies_to"]) == ("mayor", "Re: Status?", r1["id"])
    for any_id in (sent["id"], r1["id"], r2["id"]):
        thread = js(gt("mail", "thread", any_id, "--json"))
        assert [m["id"] for m in thread] == [sent["id"], r1["id"], r2["id"]]
        assert [m["sender"] for m in thread] == ["overseer", "mayor", "overseer"]
    text = gt("mail", "thread", r2["id"]).stdout.splitlines()
    assert text[0].startswith(sent["id"]) and text[2].startswith(f"  {r1['id']}") and text[4].startswith(f"    {r2['id']}")

    # the Overseer's inbox holds the reply, unread
    theirs = js(gt("mail", "inbox", "overseer", "--json"))
    assert [m["id"] for m in theirs["messages"]] == [r1["id"]] and theirs["unread"] == 1

    # ack and archive take messages out of the inbox; --all still lists them
    assert gt("mail", "ack", sent["id"], env=MAYOR).stdout.strip() == f"acked {sent['id']}"
    assert gt("mail", "archive", r2["id"], env=MAYOR).stdout.strip() == f"archived {r2['id']}"
    assert js(gt("mail", "inbox", "--json", env=MAYOR))["messages"] == []
    every = js(gt("mail", "inbox", "--all", "--json", env=MAYOR))["messages"]
    assert [(m["id"], m["status"]) for m in every] == [(sent["id"], "closed"), (r2["id"], "closed")]
    reasons = [js(bd("show", i, "--json"))[0]["close_reason"] for i in (sent["id"], r2["id"])]
    assert reasons == ["acked", "archived"]


def test_unread_is_one_rule_for_inbox_and_prime(gt, town):
    ids = [js(gt("mail", "send", "deacon", "-s", f"n{i}", "-m", "x", "--json"))["id"] for i in range(4)]
    gt("mail", "read", ids[0], env={"BD_ACTOR": "deacon"})
    gt("mail", "ack", ids[1], env={"BD_ACTOR": "deacon"})
    gt("mail", "archive", ids[2], env={"BD_ACTOR": "deacon"})
    unread = [m["id"] for m in js(gt("mail", "inbox", "deacon", "--unread", "--json"))["messages"]]
    primed = [m["id"] for m in js(gt("prime", "--actor", "deacon", "--json"))["mail"]]
    assert unread == primed == [ids[3]]
    assert js(gt("mail", "inbox", "deacon", "--json"))["unread"] == 1


def test_body_from_stdin_and_default_sender(gt, town_root):
    proc = subprocess.run([*GT, "mail", "send", "mayor", "-s", "Piped", "--json"], cwd=town_root,
                          input="line one\nline two\n", capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    msg = js(proc)
    assert msg["body"] == "line one\nline two\n" and msg["sender"] == "overseer"
    msg = js(gt("mail", "send", "mayor", "-s", "From role", "-m", "x", "--json", env={"GT_ROLE": "deacon"}))
    assert msg["sender"] == "deacon"


def test_broadcast_one_message_per_agent(gt, town, rig):
    agents = sorted(a["address"] for a in js(gt("agents", "--json")))
    out = js(gt("broadcast", "-s", "All hands", "-m", "freeze main at 5pm", "--json", env=OVERSEER))
    assert sorted(m["to"] for m in out) == agents and len(out) == len(agents)
    assert all(m["subject"] == "All hands" and m["sender"] == "overseer" for m in out)
    assert js(gt("mail", "inbox", "overseer", "--json"))["messages"] == []  # never to the Overseer

    rig_only = js(gt("broadcast", "-s", "Rig news", "-m", "x", "--rig", "proj", "--json"))
    assert sorted(m["to"] for m in rig_only) == ["proj/refinery", "proj/witness"]
    witnesses = js(gt("broadcast", "-s", "Witnesses", "-m", "x", "--role", "witness", "--json"))
    assert [m["to"] for m in witnesses] == ["proj/witness"]
    # the sender does not mail itself
    from_mayor = js(gt("broadcast", "-s", "From mayor", "-m", "x", "--json", env=MAYOR))
    assert "mayor" not in [m["to"] for m in from_mayor] and len(from_mayor) == len(agents) - 1


def test_mail_bad_input_is_one_line_and_changes_nothing(gt, bd, town, rig):
    sent = js(gt("mail", "send", "proj/witness", "-s", "Hi", "-m", "x", "--json"))
    acked = js(gt("mail", "send", "mayor", "-s", "Old", "-m", "x", "--json"))
    gt("mail", "ack", acked["id"], env=MAYOR)
    bead = js(bd("create", "Not mail", "--json"))["id"]
    before = fingerprint(bd, town.root)

    one_error_line(gt("mail", "send", "not an address!", "-s", "x", "-m", "y", check=False),
                   "invalid address 'not an address!'")  # fmt: skip
    one_error_line(gt("mail", "send", "proj/polecats/ghost", "-s", "x", "-m", "y", check=False),
                   "unknown address 'proj/polecats/ghost'")  # fmt: skip
    one_error_line(gt("mail", "send", "nowhere/witness", "-s", "x", "-m", "y", check=False), "nowhere/witness")
    one_error_line(gt("mail", "send", "mayor", "-s", "  ", "-m", "y", check=False), "needs a subject")
    one_error_line(gt("mail", "send", "mayor", "-s", "x", "-m", "y", "--reply-to", "hq-nope", check=False), "hq-nope")
    one_error_line(gt("mail", "inbox", "bad addr!", check=False), "invalid address")
    for verb in ("read", "reply", "ack", "archive", "thread"):
        argv = ["mail", verb, "hq-nope"] + (["-m", "x"] if verb == "reply" else [])
        one_error_line(gt(*argv, check=False), "no message 'hq-nope'")
    one_error_line(gt("mail", "read", bead, check=False), f"{bead} is not a message")
    one_error_line(gt("mail", "ack", acked["id"], check=False), "already acknowledged")
    one_error_line(gt("mail", "archive", acked["id"], check=False), "already closed")
    one_error_line(gt("mail", "read", sent["id"], "--actor", "bad actor!", check=False), "invalid address")
    one_error_line(gt("broadcast", "-s", "x", "-m", "y", "--rig", "nope", check=False), "no rig 'nope'")
    one_error_line(gt("broadcast", "-s", "x", "-m", "y", "--role", "pilot", check=False), "unknown role 'pilot'")
    assert fingerprint(bd, town.root) == before


def test_mail_to_a_running_agent_nudges_it(gt, town, socket_name):
    start_agent(town, "mayor")
    wait_for(lambda: "ready for input" in transcript(town.root, "hq-mayor"), what="mayor up")
    msg = js(gt("mail", "send", "mayor", "-s", "Convoy plan", "-m", "see body", "--json", env=OVERSEER))
    expected = f"You have mail from overseer: Convoy plan — gt mail read {msg['id']}"
    wait_for(lambda: f"[mayor] got: {expected}" in transcript(town.root, "hq-mayor"), timeout=20, what="mail nudge")
    # an agent that is not running: the mail is delivered, nobody is nudged, no complaint
    proc = gt("mail", "send", "deacon", "-s", "Later", "-m", "x")
    assert proc.stderr == "" and proc.stdout.startswith("sent ")
    assert [m["subject"] for m in js(gt("mail", "inbox", "deacon", "--json"))["messages"]] == ["Later"]
