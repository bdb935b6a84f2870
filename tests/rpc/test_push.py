"""Push: changes written by any process reach every subscriber, once, in order; nobody polls."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from rpc_helpers import BD, clean_env, run_bd

from gastown_server.rpc.client import Client


def _writers(town, n_procs: int, per_proc: int) -> list[subprocess.Popen]:
    """Real `bd` processes creating and closing beads concurrently (as agents in panes do)."""
    script = (
        "import subprocess, sys\n"
        f"bd = {BD!r}\n"
        "for i in range(int(sys.argv[1])):\n"
        "    out = subprocess.run(bd + ['create', f'w{sys.argv[2]}-{i}', '--silent'], capture_output=True, text=True, check=True)\n"
        "    subprocess.run(bd + ['close', out.stdout.strip()], capture_output=True, check=True)\n"
    )
    return [
        subprocess.Popen([sys.executable, "-c", script, str(per_proc), str(k)], cwd=town,
                         env=clean_env(GT_TOWN=str(town), BD_ACTOR=f"proj/polecats/p{k}"))
        for k in range(n_procs)
    ]


def test_twenty_clients_each_get_every_event_once_in_order(socket_server, town):
    clients = [socket_server.client() for _ in range(20)]
    subs = [c.call("feed/subscribe", {}) for c in clients]
    start = subs[0]["cursor"]
    procs = _writers(town, n_procs=4, per_proc=5)
    for p in procs:
        assert p.wait(120) == 0
    with Client.connect_socket(socket_server.path) as probe:
        last = probe.call("town/status")["cursor"]
    expected = None
    for c, sub in zip(clients, subs):
        got = []
        while not got or got[-1] < last:
            note = c.next_notification(10, method="$/gastown/event")
            assert note is not None, f"stalled at {got[-1:]} (want {last})"
            assert note["params"]["subscription"] == sub["subscription"]
            got.append(note["params"]["event"]["id"])
        assert got == sorted(set(got)), "out of order or duplicated"
        assert got[0] == start + 1 and got[-1] == last and len(got) == last - start  # no gap
        expected = expected or got
        assert got == expected
        assert c.next_notification(0.05, method="$/gastown/event") is None
    assert len(expected) == 40  # 20 creates + 20 closes
    for c in clients:
        c.close()


def test_resume_from_cursor_after_reconnect_misses_nothing(socket_server, town):
    c = socket_server.client()
    sub = c.call("feed/subscribe", {})
    run_bd(town, "create", "seen live")
    seen = c.next_notification(5, method="$/gastown/event")["params"]["event"]["id"]
    c.close()
    # while the client is away, others write
    for i in range(5):
        run_bd(town, "create", f"while away {i}")
    c2 = socket_server.client()
    sub2 = c2.call("feed/subscribe", {"cursor": seen})
    run_bd(town, "create", "after reconnect")  # live events continue right after the backlog
    ids = []
    while len(ids) < 6:
        note = c2.next_notification(10, method="$/gastown/event")
        assert note is not None, ids
        ids.append(note["params"]["event"]["id"])
    assert ids == list(range(seen + 1, seen + 7))
    assert sub2["cursor"] == seen + 5 and sub["subscription"] != sub2["subscription"]


def test_backlog_replay_interleaved_with_live_writes_has_no_gap_or_duplicate(socket_server, town):
    with socket_server.client() as writer:
        for i in range(300):
            writer.call("bead/create", {"title": f"backlog {i}"})
        stop = threading.Event()

        def keep_writing():
            with socket_server.client() as w2:
                while not stop.is_set():
                    w2.call("bead/create", {"title": "live"})

        t = threading.Thread(target=keep_writing)
        t.start()
        try:
            c = socket_server.client()
            c.call("feed/subscribe", {"cursor": 0})
            time.sleep(0.5)
        finally:
            stop.set()
            t.join()
        last = writer.call("town/status")["cursor"]
    ids = []
    while not ids or ids[-1] < last:
        note = c.next_notification(10, method="$/gastown/event")
        assert note is not None
        ids.append(note["params"]["event"]["id"])
    assert ids == list(range(1, last + 1))
    c.close()


def test_derived_notifications_convoy_mail_agent(socket_server, town):
    c = socket_server.client()
    c.call("feed/subscribe", {})
    a = c.call("bead/create", {"title": "tracked"})
    cv = c.call("convoy/create", {"title": "C", "tracked": [a["id"]]})
    run_bd(town, "close", a["id"], actor="proj/polecats/nux")  # another process closes a tracked bead
    changed = c.next_notification(10, method="$/gastown/convoyChanged")
    while changed["params"]["bead_id"] != a["id"]:
        changed = c.next_notification(10, method="$/gastown/convoyChanged")
    assert changed["params"] == {**changed["params"], "convoy": cv["id"], "kind": "closed"}
    other = socket_server.client(actor="mayor")
    msg = other.call("mail/send", {"to": "overseer", "subject": "Landed", "body": "C landed"})
    mail = c.next_notification(10, method="$/gastown/mailArrived")["params"]
    assert mail == {**mail, "id": msg["id"], "to": "overseer", "sender": "mayor", "subject": "Landed"}
    agent = c.call("bead/create", {"title": "an agent", "type": "agent"})
    run_bd(town, "update", agent["id"], "--status", "in_progress")
    changes = [n["params"] for n in c.notifications(2, method="$/gastown/agentChanged")]
    assert [p["agent"] for p in changes] == [agent["id"], agent["id"]]
    work = c.call("bead/create", {"title": "hook me"})
    hook_in_another_process = (
        "import sys; from gastown_server.beads.store import Ledger; from gastown_server.work import hooks; "
        "led = Ledger(sys.argv[1]); hooks.hook(led, sys.argv[2], 'proj/polecats/nux', actor='mayor'); "
        "hooks.unhook(led, sys.argv[2], actor='proj/polecats/nux')"
    )
    subprocess.run([sys.executable, "-c", hook_in_another_process, str(town / ".gastown" / "ledger.db"), work["id"]], check=True)
    hook_changes = [n["params"] for n in c.notifications(2, method="$/gastown/agentChanged")]
    assert [(p["agent"], p["kind"]) for p in hook_changes] == [("proj/polecats/nux", "hooked"), ("proj/polecats/nux", "unhooked")]
    other.close()
    c.close()


def test_mail_sent_inside_a_landing_is_pushed(socket_server, town):
    """A landing closes the convoy and mails the Overseer and the Mayor in one transaction (one event):
    each message still reaches subscribers as mailArrived."""
    c = socket_server.client()
    c.call("feed/subscribe", {})
    a = c.call("bead/create", {"title": "the last bead"})
    cv = c.call("convoy/create", {"title": "Fuel run", "tracked": [a["id"]]})
    run_bd(town, "close", a["id"])
    land_in_another_process = (
        "import sys; from gastown_server.beads.store import Ledger; from gastown_server.work import convoys; "
        "print(convoys.land_finished(Ledger(sys.argv[1]), actor='deacon'))"
    )
    out = subprocess.run([sys.executable, "-c", land_in_another_process, str(town / ".gastown" / "ledger.db")],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    assert cv["id"] in out
    arrived = [n["params"] for n in c.notifications(2, method="$/gastown/mailArrived")]
    assert sorted(m["to"] for m in arrived) == ["mayor", "overseer"]
    assert all(m["subject"].startswith(f"CONVOY_LANDED {cv['id']}") and m["sender"] == "deacon" for m in arrived)
    c.close()


def test_stdio_client_gets_pushes_from_other_processes(town):
    with Client.spawn(town=town, env=clean_env(), stderr=subprocess.DEVNULL) as c:
        c.initialize()
        c.call("feed/subscribe", {})
        out = run_bd(town, "create", "from a pane", "--silent", actor="proj/witness").stdout.strip()
        note = c.next_notification(10, method="$/gastown/event")
        assert note["params"]["event"]["bead_id"] == out and note["params"]["event"]["actor"] == "proj/witness"


def test_async_client_concurrent_calls_and_filtered_notifications(socket_server, town):
    import asyncio

    from gastown_server.rpc.client import AsyncClient

    async def scenario():
        c = await AsyncClient.connect_socket(socket_server.path)
        try:
            await c.initialize(actor="mayor")
            await c.call("feed/subscribe", {})
            made = await asyncio.gather(*(c.call("bead/create", {"title": f"a{i}"}) for i in range(10)))
            cv = await c.call("convoy/create", {"title": "C", "tracked": [b["id"] for b in made]})
            changed = await c.next_notification(5, method="$/gastown/convoyChanged")
            events = [await c.next_notification(5, method="$/gastown/event") for _ in range(11)]
            return made, cv, changed, events
        finally:
            await c.close()

    made, cv, changed, events = asyncio.run(scenario())
    assert len({b["id"] for b in made}) == 10 and changed["params"]["convoy"] == cv["id"]
    ids = [e["params"]["event"]["id"] for e in events]
    assert ids == sorted(ids) and events[-1]["params"]["event"]["bead_id"] == cv["id"]  # none dropped by the filter
