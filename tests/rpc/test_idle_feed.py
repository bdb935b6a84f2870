"""An idle server sleeps: the feed watcher polls only while someone subscribes (review finding 17).

Real server process, real ledger, real ``bd`` in another process; the
server's main thread (the event loop) is measured through /proc.
"""

from __future__ import annotations

import time
from pathlib import Path

from rpc_helpers import run_bd


def _loop_switches(pid: int) -> int:
    # /proc/<pid>/status counts the thread-group leader: the event loop's thread.
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches in /proc status")


def _switches_over(pid: int, seconds: float) -> int:
    before = _loop_switches(pid)
    time.sleep(seconds)
    return _loop_switches(pid) - before


def test_idle_server_does_not_poll_and_wakes_for_a_subscriber(socket_server, town):
    c = socket_server.client()
    try:
        pid = socket_server.proc.pid
        time.sleep(0.3)  # start-up settles
        idle = _switches_over(pid, 1.0)
        assert idle < 20, f"idle server woke {idle} times in a second"

        # A write by another process while nobody listens: town/status still sees it.
        run_bd(town, "create", "idle-time bead")
        status = c.call("town/status")
        assert status["cursor"] >= 1 and status["ledger"]["total"] == 1, status

        sub = c.call("feed/subscribe", {"cursor": None})
        assert sub["cursor"] == status["cursor"]
        busy = _switches_over(pid, 1.0)
        assert busy > 50, f"with a subscriber the watcher woke only {busy} times in a second"

        bead = c.call("bead/list", {})["beads"][0]["id"]
        run_bd(town, "close", bead)
        t0 = time.monotonic()
        kinds = []
        while "closed" not in kinds:
            note = c.next_notification(timeout=5, method="$/gastown/event")
            assert note is not None, f"no closed event pushed (got {kinds})"
            kinds.append(note["params"]["event"]["kind"])
        assert time.monotonic() - t0 < 1.0

        c.call("feed/unsubscribe", {"subscription": sub["subscription"]})
        time.sleep(0.1)
        again = _switches_over(pid, 1.0)
        assert again < 20, f"after the last unsubscribe the server woke {again} times in a second"
    finally:
        c.close()
