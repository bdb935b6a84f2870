"""``sling`` over both transports where no town can take work.

The full behaviour (a polecat spawned in real tmux, agent targets, every bad
input leaving the ledger unchanged) is tested against a real town in
tests/lifecycle/test_sling.py (test_rpc_sling_as_the_editors_call_it).
"""

from __future__ import annotations

import pytest
from rpc_helpers import run_bd

from gastown_server.rpc.errors import RpcError


def test_sling_needs_a_town_and_well_formed_params(connect, town):
    c = connect()
    bead = run_bd(town, "create", "Work", "--silent").stdout.strip()
    with pytest.raises(RpcError) as err:
        c.call("sling", {"bead": bead, "target": "proj"})
    assert err.value.code == -33004 and "gt install" in err.value.message  # a ledger-only town (bd init)
    with pytest.raises(RpcError) as err:
        c.call("sling", {"bead": bead, "formula": "mol-polecat-work"})
    assert err.value.code == -33002 and "exactly one of bead and formula" in err.value.message
    with pytest.raises(RpcError) as err:
        c.call("sling", {"bead": bead, "nonsense": 1})
    assert err.value.code == -32602
