"""sling/candidates: real work first; molecule steps and patrol formulas only when asked.

Seen: both editors' sling pickers offered molecule step beads ("Submit with gt done")
and patrol formulas as work."""

from __future__ import annotations

import subprocess
import sys

from rpc_helpers import clean_env

BD = [sys.executable, "-m", "gastown_server.cli.bd"]


def test_sling_candidates_hide_molecule_steps_and_patrol_formulas(connect, town):
    c = connect()
    work = c.call("bead/create", {"title": "Fix the parser", "priority": 1})
    poured = subprocess.run([*BD, "mol", "pour", "mol-polecat-work", "--var", f"issue={work['id']}", "--json"],
                            capture_output=True, text=True, cwd=town, env=clean_env(GT_TOWN=str(town)), timeout=60)
    assert poured.returncode == 0, poured.stderr
    ready_ids = [b["id"] for b in c.call("bead/ready", {"limit": 100})["beads"]]
    # A convoy is ready too (open, unblocked) but tracks work rather than being it.
    convoy = c.call("convoy/create", {"title": "Parser convoy", "tracked": [work["id"]]})["id"]
    steps = [i for i in ready_ids if "." in i]
    assert steps, "the poured molecule has a ready step (what the pickers used to offer)"

    offered = c.call("sling/candidates")["candidates"]
    beads = [x["id"] for x in offered if x["kind"] == "bead"]
    formulas = [x["id"] for x in offered if x["kind"] == "formula"]
    assert beads == [work["id"]], "only the real work, no molecule step"
    assert "mol-polecat-work" in formulas and "code-review" in formulas
    assert not any(f.endswith("-patrol") for f in formulas) and "mol-boot-triage" in [
        x["id"] for x in c.call("sling/candidates", {"include_internal": True})["candidates"]]
    assert [x["kind"] for x in offered] == sorted((x["kind"] for x in offered), key=["bead", "formula"].index)
    assert not any(x.get("internal") for x in offered)

    everything = c.call("sling/candidates", {"include_internal": True})["candidates"]
    internal = [x for x in everything if x.get("internal")]
    assert everything[: len(offered)] == offered, "real work still comes first"
    assert {x["id"] for x in internal if x["kind"] == "bead"} == set(steps) | {convoy}
    assert all(x["why"].startswith("molecule step of ") for x in internal if x["kind"] == "bead" and x["id"] != convoy)
    assert [x["why"] for x in internal if x["id"] == convoy] == ["convoy (sling its beads)"]
    assert {x["id"] for x in internal if x["kind"] == "formula"} >= {"mol-witness-patrol", "mol-deacon-patrol"}
    assert all(x["why"] == "patrol formula" for x in internal if x["kind"] == "formula")


def test_sling_candidates_bad_params_are_coded_errors(connect):
    import pytest

    from gastown_server.rpc.errors import RpcError

    c = connect()
    with pytest.raises(RpcError) as err:
        c.call("sling/candidates", {"limit": -1})
    assert err.value.code == -32602
