"""Mail to a list or a queue nudges running recipients like direct mail (real tmux, throwaway socket)."""

from __future__ import annotations

from mail_lists_helpers import js
from town_helpers import transcript, wait_for

from gastown_server.town.lifecycle import start_agent


def test_list_and_queue_mail_nudge_running_recipients(gt, town, rig, socket_name):
    gt("mail", "list", "create", "oncall", "mayor", "deacon")
    gt("mail", "queue", "create", "triage", "--worker", "mayor", "--worker", "proj/polecats/*")
    start_agent(town, "mayor")
    wait_for(lambda: "ready for input" in transcript(town.root, "hq-mayor"), what="mayor up")

    copies = js(gt("mail", "send", "list:oncall", "-s", "Outage", "-m", "db down", "--json"))
    expected = f"You have mail from overseer: Outage — gt mail read {copies[0]['id']}"
    wait_for(lambda: f"[mayor] got: {expected}" in transcript(town.root, "hq-mayor"), timeout=20, what="list nudge")

    proc = gt("mail", "send", "queue:triage", "-s", "Flaky", "-m", "run 42")
    assert proc.stderr == ""  # no polecat is running: nobody else to nudge, no complaint
    line = "new work in queue:triage from overseer: Flaky — gt mail claim triage"
    wait_for(lambda: f"[mayor] got: {line}" in transcript(town.root, "hq-mayor"), timeout=20, what="queue nudge")
    # the deacon (a list member without a session) got its copy and no nudge attempt failed
    assert [m["subject"] for m in js(gt("mail", "inbox", "deacon", "--json"))["messages"]] == ["Outage"]
    assert transcript(town.root, "hq-mayor").count(f"[mayor] got: {line}") == 1  # one nudge per worker
