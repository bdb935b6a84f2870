"""The RPC socket from inside an agent sandbox: refused, in one line.

``.gastown/`` is bound read-write into every sandbox (the ledger), so the
server's default socket ``.gastown/rpc.sock`` is reachable from a polecat;
through it agent/nuke, nudge, agent/transcript (masked from polecats) would
run outside the sandbox as whatever actor ``initialize`` claims.  A real
polecat session (script runtime, real tmux, real bwrap) tries; the operator,
outside, is still served.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from town_helpers import make_repo, wait_for

from gastown_server.rpc.client import Client, server_command
from gastown_server.town import rigs
from gastown_server.town.lifecycle import start_agent, stop_agent
from gastown_server.work import hooks

pytestmark = pytest.mark.slow

PROBE = textwrap.dedent("""\
    import json, sys
    from gastown_server.rpc.client import Client
    out = {}
    c = Client.connect_socket(sys.argv[1])
    for name, method, params in (("init", "initialize", {"actor": "overseer"}), ("list", "agent/list", {})):
        try:
            c.call(method, params, timeout=20)
            out[name] = "SERVED"
        except Exception as exc:
            out[name] = str(exc)
    print(json.dumps(out))
""")


def test_a_polecat_cannot_use_the_rpc_socket_but_the_operator_can(town, tmp_path):
    rigs.add(town, "alpha", str(make_repo(tmp_path / "src")), prefix="al")
    sock = town.root / ".gastown" / "rpc.sock"
    server = subprocess.Popen(server_command("--town", str(town.root), "--socket"), stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: sock.exists(), 20, what="the server's socket")
        worktree = town.root / "alpha" / "polecats" / "nux"
        cmd = f"{sys.executable} -c '{PROBE}' {sock} > rpc.out 2>&1"
        bead = town.ledger.create("probe the rpc socket", actor="overseer", metadata=json.dumps({"run": cmd}))
        hooks.hook(town.ledger, bead.id, "alpha/polecats/nux", actor="overseer")
        assert start_agent(town, "alpha/polecats/nux").status == "started"
        out = wait_for(lambda: (worktree / "rpc.out").exists() and (worktree / "rpc.out").read_text().strip(),
                       60, what="the probe's report")  # fmt: skip
        got = json.loads(out.strip().splitlines()[-1])
        assert got["init"] != "SERVED" and got["list"] != "SERVED", got
        assert "refused: this client runs inside an agent sandbox" in got["list"] and "\n" not in got["list"], got
        stop_agent(town, "alpha/polecats/nux", grace_s=2)
        # The operator (same uid, outside every sandbox) is served as before.
        c = Client.connect_socket(sock)
        c.initialize()
        assert any(a["address"] == "alpha/polecats/nux" for a in c.call("agent/list", {})["agents"])
        c.close()
    finally:
        server.terminate()
        server.wait(10)
