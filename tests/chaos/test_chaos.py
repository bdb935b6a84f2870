"""Chaos, short setting: kill -9 the daemon, the RPC server, the Refinery, polecats (and one more
at random) during a 5-bead convoy through the sample rig's real pytest gate; it lands with no human
action, each change merged exactly once, no worktree or branch removed before its merge.

The harness is benchmarks/chaos.py (the long setting and the recorded figure: docs/benchmarks.md).
Seeded: the kinds and their order are fixed by the seed; the moments depend on the machine.
"""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("bench_chaos", Path(__file__).resolve().parents[2] / "benchmarks" / "chaos.py")
chaos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chaos)

pytestmark = pytest.mark.slow


def test_convoy_lands_through_kill_9_of_daemon_rpc_refinery_and_polecats(tmp_path):
    res = chaos.run(tmp_path / "chaos", beads=5, kills=5, seed=7, timeout_s=300, min_gap_s=0.4, max_gap_s=1.0)
    summary = {k: res[k] for k in ("landed", "land_s", "kills", "lost", "duplicated", "extra_commits",
                                   "merged_per_mr", "violations", "integrity", "rpc", "daemon_revivals")}  # fmt: skip
    assert res["landed"], summary
    kinds = {k["kind"] for k in res["kills"]}
    assert set(chaos.MUST) <= kinds, summary  # each of daemon, RPC server, Refinery, a polecat was killed
    # The fifth (random-kind) kill may not come: the convoy can land before its moment.
    assert len(chaos.MUST) <= res["kill_count"] <= 5, summary
    assert res["lost"] == [] and res["duplicated"] == [] and res["extra_commits"] == 0, summary
    assert all(v == 1 for v in res["on_main"].values()), summary
    assert res["mrs"] == 5 and all(n == 1 for n in res["merged_per_mr"].values()), summary
    assert res["violations"] == [], summary
    assert res["integrity"] == "ok", summary
    # (The editor thread's call counts are reported, not asserted: on a quiet machine it was seen
    # stuck after its first server restart, a harness problem not yet understood.)
    assert res["daemon_revivals"], summary  # somebody (a patrol, an agent's gt) brought the daemon back
    assert chaos.ok(res)
