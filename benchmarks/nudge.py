"""Nudge delivery latency to an idle pane (target: p50 < 300 ms).

Starts a throwaway tmux server with the offline script agent, sends N nudges
one after another through the real ``runtime.nudge.nudge`` (per-session lock,
idle check incl. the preset's empty-input-line check, send-keys -l + Enter, echo and submit confirmation) and prints
p50/p95/max of the time each call took to return ``delivered``, plus the
time until the agent's reaction line reached the transcript file.

    python benchmarks/nudge.py [-n 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from gastown_server.runtime import transcripts
from gastown_server.runtime.nudge import nudge
from gastown_server.runtime.runtimes import PRESETS, start_command
from gastown_server.runtime.tmux import TownTmux


EMPTY = PRESETS["script"].empty_input


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--concurrent", type=int, default=20, help="then this many nudges at once (threads)")
    args = ap.parse_args()
    tmux = TownTmux(f"gt-bench-{uuid.uuid4().hex[:8]}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = transcripts.transcript_path(root, "hq-mayor")
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": tmp, "BD_ACTOR": "mayor", "GT_TOWN": tmp}
        try:
            tmux.start("hq-mayor", start_command(PRESETS["script"], cwd=root, prompt=""), cwd=root, env=env, transcript=log)
            deadline = time.monotonic() + 10
            while not (log.exists() and "ready for input" in log.read_text(errors="replace")):
                if time.monotonic() > deadline:
                    raise SystemExit("agent did not start")
                time.sleep(0.02)
            calls, arrivals, statuses = [], [], {}
            for i in range(args.n):
                msg = f"bench nudge {i:04d} please ack"
                t0 = time.perf_counter()
                res = nudge(tmux, "hq-mayor", msg, state_dir=root / "state", idle_s=1.0, empty_input=EMPTY)
                t1 = time.perf_counter()
                statuses[res.status] = statuses.get(res.status, 0) + 1
                needle = f"got: {msg}"
                while needle not in log.read_text(errors="replace"):
                    if time.perf_counter() - t0 > 5:
                        break
                    time.sleep(0.002)
                calls.append((t1 - t0) * 1000)
                arrivals.append((time.perf_counter() - t0) * 1000)
            burst: list[float] = []

            def one(i: int) -> None:
                t0 = time.perf_counter()
                res = nudge(
                    tmux, "hq-mayor", f"burst {i:03d}", state_dir=root / "state", idle_s=1.0, timeout_s=120,
                    empty_input=EMPTY,
                )
                statuses["burst " + res.status] = statuses.get("burst " + res.status, 0) + 1
                burst.append((time.perf_counter() - t0) * 1000)

            t_burst = time.perf_counter()
            threads = [threading.Thread(target=one, args=(i,)) for i in range(args.concurrent)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            burst_total = (time.perf_counter() - t_burst) * 1000
        finally:
            tmux.kill_server()
    print(f"nudges: {args.n}  outcomes: {statuses}")
    for label, vals in (("nudge() returned delivered", calls), ("reaction in transcript", arrivals)):
        print(
            f"{label:28s} p50 {statistics.median(vals):6.1f} ms   p95 {pct(vals, 95):6.1f} ms   max {max(vals):6.1f} ms"
        )
    if args.concurrent:
        print(
            f"{args.concurrent} concurrent nudges: all done in {burst_total:.0f} ms "
            f"({burst_total / args.concurrent:.1f} ms each, serialized); slowest caller waited {max(burst):.0f} ms"
        )
    ok = statuses.get("delivered") == args.n and statuses.get("burst delivered", 0) == args.concurrent
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
