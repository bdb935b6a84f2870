"""Demo town benchmark: run the demo (with --down) N times, print the land time p50/max.

    python benchmarks/demo.py [-n 5]

"Land time" is from filing the three beads to the convoy landing (file +
sling + three polecats implementing, testing and `gt done` + the Refinery
merging through the pytest gate, one of them after a conflict rework).
Target: < 60 s.  Real tmux, git, ledger; script runtime.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gastown_server.demo.town import run_demo  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5, help="runs (default 5)")
    args = ap.parse_args()
    for k in [k for k in os.environ if k.startswith(("GT_", "BD_", "BEADS_"))]:
        del os.environ[k]
    lands, totals, reworks = [], [], 0
    for i in range(args.n):
        where = Path(tempfile.mkdtemp(prefix="gastown-demo-bench-"))
        try:
            t0 = time.monotonic()
            result = run_demo(where, down=True, timeout_s=120, verbose=False)
            t = result["timings"]
            lands.append(t["land"])
            totals.append(time.monotonic() - t0)
            from gastown_server.beads.store import Ledger
            from gastown_server.work import merge_requests as mrs

            ledger = Ledger(where / "town" / ".gastown" / "ledger.db")
            rw = sum(any(j.event == "rework_requested" for j in mr.meta.journal)
                     for mr in mrs.queue(ledger, "textkit", include_closed=True))  # fmt: skip
            ledger.disconnect()
            reworks += rw
            print(f"run {i + 1}: land {t['land']:.1f}s (build {t['build']:.1f}s, up {t['up']:.1f}s), "
                  f"{rw} rework(s), total {totals[-1]:.1f}s", flush=True)  # fmt: skip
        finally:
            shutil.rmtree(where, ignore_errors=True)
    print(f"\nland time over {args.n} runs: p50 {statistics.median(lands):.1f}s, max {max(lands):.1f}s "
          f"(target < 60 s); total p50 {statistics.median(totals):.1f}s; reworks {reworks}")  # fmt: skip
    try:
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
