"""30 writer processes at once on one ledger, with maintenance running.

Same code as benchmarks/writers.py, smaller numbers: no caller may see an
error ("database is locked"), no acknowledged write may be missing, the
database must pass integrity_check and the WAL must be back under a bound.
"""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "bench_writers", Path(__file__).resolve().parents[2] / "benchmarks" / "writers.py"
)
writers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(writers)


@pytest.mark.slow
def test_thirty_concurrent_writer_processes(tmp_path):
    result = writers.run(procs=30, writes=40, workdir=tmp_path)
    assert result["errors"] == []
    assert result["lost"] == []
    assert result["integrity"] == "ok"
    assert result["worker_exit_codes"] == [0]
    assert result["acknowledged"] >= 30 * 30  # most ops are acknowledged writes
    assert result["maintenance_rounds"] >= 1  # vacuum + export ran during the writes
    assert result["wal_bytes"] <= writers.WAL_BOUND


def test_bd_processes_never_see_locked(tmp_path):
    """Real `bd` processes racing: every one exits 0."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("GT_TOWN", "BEADS_DB")}
    bd = [sys.executable, "-m", "gastown_server.cli.bd"]
    subprocess.run([*bd, "init", "--prefix", "race"], cwd=tmp_path, env=env, check=True, capture_output=True)
    procs = [
        subprocess.Popen([*bd, "create", f"bead {i}", "--silent"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(30)
    ]
    outs = [p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0] * 30, [e for _, e in outs if e]
    created = {o.strip() for o, _ in outs}
    listed = subprocess.run([*bd, "list", "--limit", "0", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    import json

    assert {b["id"] for b in json.loads(listed.stdout)} == created and len(created) == 30
