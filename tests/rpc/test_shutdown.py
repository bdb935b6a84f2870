"""A socket server exits promptly on SIGTERM and removes its socket, whoever is connected.

Seen: a server with connected editors still ran minutes after SIGTERM (on Python 3.12+
``Server.wait_closed()`` waits for every connection to end)."""

from __future__ import annotations

import signal
import time

from rpc_helpers import SocketServer


def test_sigterm_with_connected_and_subscribed_clients_exits_within_a_second(town):
    srv = SocketServer(town)
    subscribed = srv.client()
    subscribed.call("feed/subscribe", {"cursor": None})
    idle = srv.client()
    silent = srv.client(initialize=False)  # connected, never sent a frame
    assert srv.path.exists()
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    rc = srv.proc.wait(15)
    elapsed = time.monotonic() - t0
    err = srv.proc.stderr.read()
    assert rc == 0 and elapsed < 3.0, (rc, elapsed, err)
    assert "Traceback" not in err, err
    assert not srv.path.exists(), "the socket file is left behind"
    for c in (subscribed, idle, silent):
        c.close()
