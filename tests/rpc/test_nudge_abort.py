"""A nudge stops waiting when its client goes away or cancels: the message is queued, the thread freed.

Real server, real installed town, script agents in real tmux; the Mayor's
nudge lock is held (as by another nudge waiting on a busy human).
"""

from __future__ import annotations

import time

from rpc_helpers import SocketServer, wait_for
from test_wait_pool import busy_town  # noqa: F401 - the fixture

from gastown_server.rpc import errors as E
from gastown_server.rpc.client import Client
from gastown_server.rpc.errors import RpcError
from gastown_server.runtime.nudge import pending_nudges, read_log


def _queued(root) -> list[str]:
    return [q.message for q in pending_nudges(root / ".gastown", "hq-mayor")]


def test_disconnect_and_cancel_end_a_waiting_nudge_with_it_queued(busy_town):  # noqa: F811
    srv = SocketServer(busy_town)
    try:
        c = Client.connect_socket(srv.path)
        c.initialize()
        c.request("nudge", {"agent": "mayor", "message": "left behind", "timeout_s": 30})
        time.sleep(0.3)  # waiting for the lock now
        assert _queued(busy_town) == []
        c.close()
        t0 = time.monotonic()
        assert wait_for(lambda: _queued(busy_town) == ["left behind"], timeout=3)
        assert time.monotonic() - t0 < 1.0
        aborted = [r for r in read_log(busy_town / ".gastown") if r.message == "left behind"]
        assert [(r.status, r.reason) for r in aborted] == [("queued", "aborted")]

        with Client.connect_socket(srv.path) as other:
            other.initialize()
            msg_id = other.request("nudge", {"agent": "mayor", "message": "never mind", "timeout_s": 30})
            time.sleep(0.3)
            t0 = time.monotonic()
            other.cancel(msg_id)
            try:
                other.wait(msg_id, timeout=5)
            except RpcError as exc:
                assert exc.code == E.REQUEST_CANCELLED, exc
            else:
                raise AssertionError("a cancelled nudge answered with a result")
            assert wait_for(lambda: _queued(busy_town) == ["left behind", "never mind"], timeout=3)
            assert time.monotonic() - t0 < 1.0
            assert other.call("town/status", timeout=10)["server"]["clients"] == 1
    finally:
        err = srv.stop()
    assert "Traceback" not in err, err
