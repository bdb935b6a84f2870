"""A full disk or a ledger we may not write: one line saying what is wrong and what to do, exit 1.

Before: ``bd: internal error: OperationalError: database or disk is full`` (or PermissionError), exit 2.
Root ignores file modes, so the permission cases drop CAP_DAC_OVERRIDE with setpriv; the full
disk is a 400 KiB tmpfs mounted in a private mount namespace (unshare -m)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

BD = [sys.executable, "-m", "gastown_server.cli.bd"]
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def _env(town: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BD_ACTOR", "BEADS_DB", "GT_TOWN")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def _bd(town: Path, *args: str, prefix: list[str] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, *BD, *args], capture_output=True, text=True, cwd=town, env=_env(town),
                          timeout=60)


def _one_line(proc, needle: str) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bd: error: ") and needle in lines[0], proc.stderr
    assert "internal error" not in lines[0] and "Traceback" not in proc.stderr
    return lines[0]


def _titles(town: Path) -> list[str]:
    proc = _bd(town, "list", "--json")
    assert proc.returncode == 0, proc.stderr
    return sorted(b["title"] for b in json.loads(proc.stdout))


def test_a_ledger_the_user_may_not_write_is_one_line_and_nothing_changes(tmp_path):
    town = tmp_path / "town"
    town.mkdir()
    assert _bd(town, "init").returncode == 0
    assert _bd(town, "create", "kept").returncode == 0
    gastown = town / ".gastown"
    try:
        os.chmod(gastown, 0o500)
        os.chmod(gastown / "ledger.db", 0o400)
        line = _one_line(_bd(town, "create", "refused", prefix=NO_DAC), "permission denied")
        assert str(gastown) in line and "nothing was written" in line
        os.chmod(gastown, 0o000)
        _one_line(_bd(town, "list", prefix=NO_DAC), "permission denied")
    finally:
        os.chmod(gastown, 0o700)
        os.chmod(gastown / "ledger.db", 0o600)
    assert _titles(town) == ["kept"]


def test_a_full_disk_is_one_line_and_the_ledger_is_intact_after(tmp_path):
    town = tmp_path / "full"
    town.mkdir()
    bd = " ".join(shlex.quote(a) for a in BD)
    script = f"""
set -u
mount -t tmpfs -o size=400k tmpfs {town} || exit 99
cd {town}
{bd} init >/dev/null && {bd} create kept >/dev/null || exit 98
dd if=/dev/zero of=filler bs=4k 2>/dev/null
{bd} create big -d "$(head -c 100000 /dev/zero | tr '\\0' y)"
echo "rc=$?" >&2
rm filler
{bd} list --json
"""
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True,
                          text=True, env=_env(town), timeout=120)
    assert "rc=1" in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("bd: ")]
    assert len(errors) == 1 and "is full: free some space there and retry" in errors[0], proc.stderr
    assert "internal error" not in proc.stderr
    assert [b["title"] for b in json.loads(proc.stdout)] == ["kept"], "a refused write leaves nothing behind"


def test_the_rpc_server_says_the_same(tmp_path):
    from gastown_server.rpc.client import server_command
    from gastown_server.rpc.errors import from_exception

    town = tmp_path / "town"
    town.mkdir()
    assert _bd(town, "init").returncode == 0
    gastown = town / ".gastown"
    os.chmod(gastown, 0o500)
    os.chmod(gastown / "ledger.db", 0o400)
    try:
        proc = subprocess.run([*NO_DAC, *server_command("--stdio", "--town", str(town))], input="", text=True,
                              capture_output=True, env=_env(town), timeout=60)
    finally:
        os.chmod(gastown, 0o700)
        os.chmod(gastown / "ledger.db", 0o600)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gastown-server: error: ") and "permission denied" in lines[0]
    # A write that fails on a full disk while serving: a coded error, not internal_error.
    import sqlite3

    err = from_exception(sqlite3.OperationalError("database or disk is full"), "bead/create",
                         ledger=gastown / "ledger.db")
    assert err.code == -33005 and "is full" in err.message and str(gastown) in err.message
