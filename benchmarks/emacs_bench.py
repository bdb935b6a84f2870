"""What the Emacs benchmarks (emacs_beadlist.py, emacs_convoys.py) share: the town's ledger,
the process that closes beads while Emacs watches, and the `emacs --batch` run itself.

Imported as a plain module (the benchmarks run as scripts from this directory).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def new_ledger(root: Path):
    """A fresh town ledger at ``root`` (`bd init`, prefix gt), open."""
    from gastown_server.beads.store import Ledger

    subprocess.run([shutil.which("bd") or "bd", "init", "--prefix", "gt", "--path", str(root)],
                   check=True, capture_output=True)
    return Ledger(root / ".gastown" / "ledger.db")


def closer(db: str, ids: list[str], delay: float) -> None:
    """Close IDS one at a time (its own process), printing each commit time."""
    from gastown_server.beads.store import Ledger

    ledger = Ledger(db)
    sys.stdin.readline()  # wait until Emacs has drawn the buffer
    for bid in ids:
        ledger.close(bid, actor="gastown/polecats/p0", reason="done")
        print(f"closed {bid} {time.time():.6f}", flush=True)
        time.sleep(delay)
    ledger.disconnect()


def find_emacs(bench: str) -> str | None:
    emacs = os.environ.get("EMACS") or shutil.which("emacs")
    if not emacs:
        print(f"{bench}: error: emacs not found", file=sys.stderr)
    return emacs


def closer_command(script: str, town: Path, delay: float, ids: list[str]) -> str:
    """The command line Emacs runs to start ``script``'s closer on ``ids`` (its --closer mode)."""
    return " ".join([sys.executable, str(Path(script).resolve()), "--delay", str(delay), "--closer",
                     str(town / ".gastown" / "ledger.db"), *ids])


def bench_env(town: Path, **values: str) -> dict[str, str]:
    """The environment of the Emacs run: the town, the benchmark's values, this Python's bin first."""
    return dict(os.environ, GASTOWN_BENCH_TOWN=str(town), **values,
                PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def run_emacs(emacs: str, el: str, function: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`emacs --batch` with the compiled client loaded, then ``benchmarks/<el>``'s ``function``."""
    return subprocess.run(
        [emacs, "--batch", "-Q", "-l", str(ROOT / "clients/emacs/test/gastown-batch.el"),
         "-f", "gastown-batch-load-compiled",
         "-l", str(ROOT / "benchmarks" / el), "-f", function],
        env=env, text=True, capture_output=True, timeout=600)
