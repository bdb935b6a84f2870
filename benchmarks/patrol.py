"""Cost of one patrol cycle (pour the wisp, walk every step, burn it), per role.

Runs the script runtime's patrol loop body (runtime/script_patrol.PatrolLoop.cycle)
in-process against a fresh town with one rig and N idle polecat identities,
backoff set to 0 s.  No tmux server runs (sessions look absent), so this is
the ledger + formula + git cost, not the agents' sleeping time.

    python benchmarks/patrol.py [--cycles 20] [--polecats 5]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cycles", type=int, default=20)
    p.add_argument("--polecats", type=int, default=5)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gt-patrol-bench-"))
    os.environ["GT_TMUX_SOCKET"] = f"gt-patrol-bench-{os.getpid()}"
    os.environ.update(GT_PATROL_INTERVAL="0", GT_PATROL_MAX_BACKOFF="0")
    src = tmp / "src"
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    (src / "README.md").write_text("bench\n")
    subprocess.run(["git", "-C", str(src), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(src), "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-qm", "init"], check=True)

    from gastown_server.runtime.script_agent import ScriptAgent
    from gastown_server.runtime.script_patrol import PatrolLoop
    from gastown_server.town import roles, rigs
    from gastown_server.town.core import Town
    from gastown_server.town.install import install

    root = install(tmp / "town", actor="overseer")
    town = Town(root)
    rigs.add(town, "bench", str(src))
    town.forget_rigs()
    for i in range(args.polecats):
        roles.ensure_agent_bead(town.ledger, town.identity(f"bench/polecats/pc{i}"), actor="overseer")
    town.close()
    print(f"# patrol cycle cost, {args.cycles} cycles each, {args.polecats} polecats, no sessions running")
    for role, address in (("witness", "bench/witness"), ("refinery", "bench/refinery"), ("deacon", "deacon")):
        env = dict(os.environ, GT_TOWN=str(root), BD_ACTOR=address, GT_ROLE=address, GT_ROLE_KIND=role, GT_RIG="bench" if role != "deacon" else "")
        sink = open(os.devnull, "w")
        loop = PatrolLoop(ScriptAgent(env, out=sink), role, interval_s=0)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("GT_", "BD_"))})
        times = []
        for _ in range(args.cycles):
            t0 = time.perf_counter()
            assert loop.cycle(), f"{role} cycle failed"
            times.append((time.perf_counter() - t0) * 1000)
        beads = loop.agent.ledger().conn.execute("SELECT COUNT(*) FROM issues").fetchone()[0]
        print(f"{role:<9} median {statistics.median(times):6.1f} ms  p90 {sorted(times)[int(len(times) * 0.9) - 1]:6.1f} ms  "
              f"(beads in ledger after: {beads})")
    subprocess.run(["rm", "-rf", str(tmp)])


if __name__ == "__main__":
    sys.exit(main())
