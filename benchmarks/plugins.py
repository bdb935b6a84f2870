"""Town plugins: the Deacon's plugins step when nothing is due, gt plugin list, and
dispatch-to-result latency on a live script dog.

A fresh town with N cooldown plugins (1 h), each with K closed run records
(what a long-running town keeps), then:

- ``dispatch_due`` in-process (the patrol step's cost every Deacon cycle);
- ``gt plugin list`` and ``gt deacon plugins`` as whole processes;
- R forced runs of a ``run = "true"`` plugin on a live dog (tmux, throwaway
  socket): from dispatch to the run bead closed with its result.

    python benchmarks/plugins.py [--plugins 30] [--records 20] [--runs 10]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _ms(values):
    values = sorted(values)
    return f"median {statistics.median(values):7.1f} ms  p90 {values[max(0, int(len(values) * 0.9) - 1)]:7.1f} ms"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--plugins", type=int, default=30)
    p.add_argument("--records", type=int, default=20)
    p.add_argument("--runs", type=int, default=10)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gt-plugins-bench-"))
    socket = f"gt-plugins-bench-{os.getpid()}"
    os.environ["GT_TMUX_SOCKET"] = socket
    for var in ("GT_TOWN", "BD_ACTOR", "GT_ROLE", "TMUX"):
        os.environ.pop(var, None)

    from gastown_server.patrol import plugin_runs, plugins
    from gastown_server.town import dogs
    from gastown_server.town.core import Town
    from gastown_server.town.install import install

    root = install(tmp / "town", actor="overseer")
    town = Town(root)
    dogs.add(town, "bench", actor="overseer")
    for i in range(args.plugins):
        d = root / "plugins" / f"p{i:02d}"
        d.mkdir(parents=True)
        (d / "plugin.md").write_text(f'+++\nrun = "true"\n[gate]\ntype = "cooldown"\nduration = "1h"\n+++\nPlugin {i}.\n')
    for plugin in plugins.load_all(root)[0]:
        for _ in range(args.records):
            run = plugin_runs.create_run(town, plugin, "deacon/dogs/bench", actor="deacon", force=True)
            plugin_runs.record(town, run, "success", "ok", actor="deacon/dogs/bench", detail="exit 0 in 0.0s")
    beads = town.ledger.conn.execute("SELECT COUNT(*) FROM issues").fetchone()[0]
    print(f"# {args.plugins} plugins (cooldown 1h, none due), {args.records} run records each, {beads} beads")

    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        report = plugin_runs.dispatch_due(town)
        times.append((time.perf_counter() - t0) * 1000)
    assert not report.acted, report
    print(f"dispatch_due in-process (nothing due)  {_ms(times)}")
    gt = [sys.executable, "-m", "gastown_server.cli.gt"]
    for argv in (["plugin", "list"], ["deacon", "plugins"]):
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            subprocess.run([*gt, *argv], cwd=root, check=True, capture_output=True)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"gt {' '.join(argv):<20} process        {_ms(times)}")

    try:
        fast = plugins.load(root, "p00")
        dogs.start(town, "bench", actor="overseer")
        time.sleep(1.0)  # the dog has primed and reads its input
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            res = plugin_runs.dispatch(town, fast, actor="deacon", force=True)
            while town.ledger.get(res.run).status != "closed":
                time.sleep(0.01)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"dispatch -> result on a live dog ({args.runs} runs)  {_ms(times)}")
    finally:
        town.close()
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


if __name__ == "__main__":
    main()
