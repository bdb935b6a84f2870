"""What the daemon publishes for sandboxed Witnesses cannot be forged from inside a sandbox.

``.gastown/`` is read-write in every sandbox (the ledger); panes.json says
which agent is idle at its prompt, and a Witness nudges, then restarts, an
idle agent with work on its hook.  A real polecat (script runtime, real tmux,
real bwrap) tries to overwrite it with "idle" for a busy neighbour.
"""

from __future__ import annotations

import json

import pytest
from town_helpers import make_repo, wait_for

from gastown_server.patrol import panes
from gastown_server.town import rigs
from gastown_server.town.lifecycle import start_agent, stop_agent
from gastown_server.work import hooks

pytestmark = pytest.mark.slow


def test_a_polecat_cannot_forge_the_panes_the_daemon_publishes(town, tmp_path):
    rigs.add(town, "alpha", str(make_repo(tmp_path / "src")), prefix="al")
    panes.publish(town.root, [])  # the daemon's beat
    real = panes.path(town.root).read_text()
    forged = json.dumps({"at": 4e9, "panes": {"al-other": {"pid": 4242, "idle": True}}})
    target = panes.path(town.root)
    cmd = (f"(echo '{forged}' > {target}.x && mv -f {target}.x {target} || echo '{forged}' > {target}) 2>/dev/null;"
           f" echo done > forge.out")  # fmt: skip
    bead = town.ledger.create("forge panes.json", actor="overseer", metadata=json.dumps({"run": cmd}))
    hooks.hook(town.ledger, bead.id, "alpha/polecats/nux", actor="overseer")
    assert start_agent(town, "alpha/polecats/nux").status == "started"
    out = town.root / "alpha" / "polecats" / "nux" / "forge.out"
    wait_for(lambda: out.exists() and out.read_text().strip(), 60, what="the forger to finish")
    assert panes.path(town.root).read_text() == real
    assert panes.published(town.root, "al-other", 4242, max_age_s=1e12) is None
    stop_agent(town, "alpha/polecats/nux", grace_s=2)
    # The daemon still publishes there (outside every sandbox).
    panes.publish(town.root, [])
    assert json.loads(panes.path(town.root).read_text())["panes"] == {}
