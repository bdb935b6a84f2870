"""Fixtures: a real ledger town, a real gastown-server process, real clients.

Every test talks to the server as editors do: over its stdio (a spawned
process) or over its unix socket (a long-running process).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from rpc_helpers import SocketServer, clean_env, make_town

from gastown_server.rpc.client import Client


@pytest.fixture
def town(tmp_path) -> Path:
    return make_town(tmp_path / "town")


@pytest.fixture
def socket_server(town):
    srv = SocketServer(town)
    yield srv
    err = srv.stop()
    assert "Traceback" not in err, err


@pytest.fixture(params=["stdio", "socket"])
def transport(request):
    return request.param


@pytest.fixture
def connect(transport, town):
    """``connect(actor=...)`` -> an initialized client over the chosen transport."""
    servers: list[SocketServer] = []
    clients: list[Client] = []

    def make(*, actor: str | None = None, initialize: bool = True) -> Client:
        if transport == "stdio":
            c = Client.spawn(town=town, env=clean_env(), stderr=subprocess.PIPE)
        else:
            if not servers:
                servers.append(SocketServer(town))
            c = Client.connect_socket(servers[0].path)
        clients.append(c)
        if initialize:
            c.initialize(actor=actor)
        return c

    make.transport = transport
    yield make
    for c in clients:
        c.close()
        if c.process is not None:
            err = c.process.stderr.read().decode()
            c.process.stderr.close()
            assert "Traceback" not in err, err
    for s in servers:
        err = s.stop()
        assert "Traceback" not in err, err


