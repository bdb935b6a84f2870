"""bead/close over RPC completes a Gas Town parallel formula step with its last child."""

from __future__ import annotations

import json
import subprocess
import sys

from rpc_helpers import clean_env

BD = [sys.executable, "-m", "gastown_server.cli.bd"]

PARALLEL = """
[[steps]]
id = "checks"
type = "parallel"
[[steps.steps]]
id = "lint"
[[steps.steps]]
id = "unit"
[[steps]]
id = "ship"
needs = ["checks"]
"""


def test_bead_close_of_the_last_child_closes_the_parallel_step(connect, town):
    (town / "formulas").mkdir(exist_ok=True)
    (town / "formulas" / "par.formula.toml").write_text(PARALLEL)
    p = subprocess.run([*BD, "--json", "mol", "pour", "par"], cwd=town, env=clean_env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    mol = json.loads(p.stdout)["id"]
    c = connect(actor="mayor")
    assert c.call("bead/close", {"id": f"{mol}.1.1"})["status"] == "closed"
    assert c.call("bead/show", {"id": f"{mol}.1"})["status"] == "open"
    c.call("bead/close", {"id": f"{mol}.1.2", "reason": "green"})
    container = c.call("bead/show", {"id": f"{mol}.1"})
    assert container["status"] == "closed" and container["close_reason"] == "parallel: all children closed"
    assert [s["id"] for s in c.call("mol/status", {"molecule": mol})["current"]] == [f"{mol}.2"]
