"""The README's main job: a ledger built from a real Beads export, queried with `bd`.

    python -m gastown_server.demo --ledger [--dir DIR]

Creates a ledger (in a temporary directory unless ``--dir`` is given),
imports the Beads JSONL sample shipped under ``tests/fixtures/beads/sample``,
then shows ready work, what is blocked, and the dependency tree of the 1.0
milestone, each through the real ``bd`` command as an agent would run it.
(The full demo town is gastown_server.demo.town.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "beads" / "sample" / "issues.jsonl"


def _bd(cwd: Path, *argv: str) -> None:
    print(f"\n$ bd {' '.join(argv)}", flush=True)
    env = {k: v for k, v in os.environ.items() if k not in ("GT_TOWN", "BEADS_DB")}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gastown_server.cli.bd", *argv], cwd=cwd, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"demo: 'bd {' '.join(argv)}' failed with exit {proc.returncode}")
    print(f"  ({(time.perf_counter() - start) * 1000:.0f} ms)", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", help="where to create the ledger (default: a temporary directory, removed after)")
    args = ap.parse_args(argv)
    if not SAMPLE.exists():
        print(f"demo: sample not found at {SAMPLE}", file=sys.stderr)
        return 1
    where = Path(args.dir).resolve() if args.dir else Path(tempfile.mkdtemp(prefix="gastown-demo-"))
    where.mkdir(parents=True, exist_ok=True)
    try:
        print(f"Gas Town ledger demo in {where}")
        _bd(where, "init", "--prefix", "wx")
        _bd(where, "import", "-i", str(SAMPLE))
        _bd(where, "stats")
        _bd(where, "ready")
        _bd(where, "blocked")
        _bd(where, "dep", "tree", "wx-v10")
        _bd(where, "dep", "tree", "wx-8k2", "--reverse")
        _bd(where, "show", "wx-8k2.3")
        print("\nNext: try 'bd close wx-8k2.3' and watch 'bd ready' change." if args.dir else "")
    finally:
        if not args.dir:
            shutil.rmtree(where, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
