"""RPC server figures over the unix socket, on a big town.

    python benchmarks/rpc.py [--beads 100000] [--convoys 50] [--agents 30] [--calls 2000] [--closes 100]

Builds a town (gt install, two rigs, ~N beads, convoys tracking 20 beads
each, agents running the script runtime in real tmux on a throwaway
socket), starts ``gastown-server --socket`` and measures:

- ``convoy/tree`` and ``town/status`` latency (p50/p99) from a client;
- push latency: from a ``bd close`` in another process to the
  ``$/gastown/event`` at a subscribed client (from spawning ``bd`` and
  from the commit itself);
- the way existing editor clients refresh (spawning ``gt convoy list
  --json`` per refresh) against ``convoy/list`` over the socket, and the ratio.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gastown_server.rpc.client import Client, server_command  # noqa: E402

BD = [sys.executable, "-m", "gastown_server.cli.bd"]
GT = [sys.executable, "-m", "gastown_server.cli.gt"]


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def line(name: str, samples_s: list[float]) -> str:
    ms = [x * 1000 for x in samples_s]
    return f"{name:<44} n={len(ms):<5} p50={pct(ms, 50):8.2f} ms  p99={pct(ms, 99):8.2f} ms  max={max(ms):8.2f} ms"


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git = ["git", "-c", "user.email=b@example.com", "-c", "user.name=b"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README.md").write_text("bench\n")
    subprocess.run([*git, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(path), "commit", "-q", "-m", "init"], check=True)
    return path


def build_town(base: Path, n_beads: int, n_convoys: int, n_agents: int, rng: random.Random) -> tuple[Path, list[str], list[str]]:
    from gastown_server.town import rigs
    from gastown_server.town.core import Town
    from gastown_server.town.install import install
    from gastown_server.town.lifecycle import start_agent
    from gastown_server.work import convoys

    root = install(base / "town", actor="overseer")
    town = Town(root)
    for name, prefix in (("alpha", "al"), ("beta", "be")):
        rigs.add(town, name, str(git_repo(base / f"src-{name}")), prefix=prefix)
    led = town.ledger
    words = "login cache refinery merge queue witness polecat convoy mail hook nudge tmux ledger patrol".split()
    t0 = time.perf_counter()
    open_ids: list[str] = []
    with led.atomic():
        made = 0
        while made < n_beads:
            epic = led.create(f"Epic {made}", actor="bench", issue_type="epic")
            made += 1
            for _ in range(min(rng.randint(3, 12), n_beads - made)):
                child = led.create(
                    f"{rng.choice(words)} {rng.choice(words)} task {made}", actor="bench", parent=epic.id,
                    priority=rng.randint(0, 4), description=" ".join(rng.choice(words) for _ in range(12)),
                )  # fmt: skip
                made += 1
                if rng.random() < 0.5:
                    led.close(child.id, actor="bench")
                else:
                    open_ids.append(child.id)
        convoy_ids = []
        for i in range(n_convoys):
            tracked = rng.sample(open_ids, 20)
            convoy_ids.append(convoys.create(led, f"Convoy {i}", tracked, actor="mayor").id)
    print(f"built {n_beads} beads and {n_convoys} convoys in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    fixed = ["mayor", "deacon", "alpha/witness", "alpha/refinery", "beta/witness", "beta/refinery"]
    addresses = fixed[:n_agents] + [
        f"{'alpha' if i % 2 == 0 else 'beta'}/polecats/p{i}" for i in range(max(0, n_agents - len(fixed)))
    ]
    for address in addresses:
        start_agent(town, address)
    print(f"started {len(addresses)} script agents in tmux in {time.perf_counter() - t0:.1f} s")
    town.close()
    return root, convoy_ids, open_ids


def refresh_command(town: Path) -> tuple[list[str], str]:
    """How an editor refreshes without the server: spawn the CLI per refresh."""
    probe = subprocess.run([*GT, "convoy", "list", "--json"], cwd=town, capture_output=True, text=True)
    if probe.returncode == 0:
        return [*GT, "convoy", "list", "--json"], "gt convoy list --json"
    return [*BD, "list", "--type", "convoy", "--json"], "bd list --type convoy --json (gt convoy list not available)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--beads", type=int, default=100_000)
    ap.add_argument("--convoys", type=int, default=50)
    ap.add_argument("--agents", type=int, default=30)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--closes", type=int, default=100)
    ap.add_argument("--refreshes", type=int, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the town directory")
    args = ap.parse_args()

    rng = random.Random(7)
    base = Path(tempfile.mkdtemp(prefix="gt-rpc-bench-"))
    socket = f"gt-rpc-bench-{uuid.uuid4().hex[:8]}"
    os.environ["GT_TMUX_SOCKET"] = socket
    for key in ("GT_TOWN", "BEADS_DB", "BD_ACTOR", "GT_ACTOR", "TMUX"):
        os.environ.pop(key, None)
    server = None
    try:
        town, convoy_ids, closable = build_town(base, args.beads, args.convoys, args.agents, rng)
        sock = town / ".gastown" / "rpc.sock"
        server = subprocess.Popen(server_command("--socket", str(sock), "--town", str(town)), stderr=subprocess.PIPE, text=True)
        assert "listening" in server.stderr.readline()
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
              f"{datetime.date.today().isoformat()}")  # fmt: skip

        with Client.connect_socket(sock) as c:
            c.initialize()
            st = c.call("town/status")
            print(f"town: {st['ledger']['total']} beads, {st['convoys']['open']} open convoys, "
                  f"{len(st['status']['agents'])} agents, {st['status']['tmux']['session_count']} tmux sessions")  # fmt: skip
            for _ in range(50):  # warm-up
                c.call("convoy/tree", {"id": rng.choice(convoy_ids)})
                c.call("town/status")
            tree, status, clist = [], [], []
            for _ in range(args.calls):
                cid = rng.choice(convoy_ids)
                t0 = time.perf_counter()
                c.call("convoy/tree", {"id": cid})
                tree.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                c.call("town/status")
                status.append(time.perf_counter() - t0)
            for _ in range(min(args.calls, 500)):
                t0 = time.perf_counter()
                c.call("convoy/list")
                clist.append(time.perf_counter() - t0)
            print(line("convoy/tree (unix socket)", tree))
            print(line("town/status (unix socket)", status))
            print(line("convoy/list (unix socket)", clist))

            # push latency: bd close in another process -> $/gastown/event here
            c.call("feed/subscribe", {})
            from_spawn, from_commit = [], []
            env = {**os.environ, "GT_TOWN": str(town), "BD_ACTOR": "alpha/polecats/p0"}
            targets = rng.sample(closable, args.closes)
            for bead in targets:
                t0 = time.time()
                proc = subprocess.Popen([*BD, "close", bead], cwd=town, env=env, stdout=subprocess.DEVNULL)
                while True:
                    note = c.next_notification(10, method="$/gastown/event")
                    assert note is not None, "no event"
                    ev = note["params"]["event"]
                    if ev["bead_id"] == bead and ev["kind"] == "closed":
                        break
                t1 = time.time()
                committed = datetime.datetime.fromisoformat(ev["at"].replace("Z", "+00:00")).timestamp()
                from_spawn.append(t1 - t0)
                from_commit.append(t1 - committed)
                proc.wait()
            print(line("bd close (spawn) -> notification", from_spawn))
            print(line("bd close (commit) -> notification", from_commit))

            # the old way: one CLI process per refresh
            argv, label = refresh_command(town)
            spawn = []
            for _ in range(args.refreshes):
                t0 = time.perf_counter()
                subprocess.run(argv, cwd=town, env={**os.environ, "GT_TOWN": str(town)}, capture_output=True, check=True)
                spawn.append(time.perf_counter() - t0)
            print(line(f"refresh by spawning: {label.split(' (')[0]}", spawn))
            if "(" in label:
                print(f"  note: {label}")
            ratio = statistics.median(spawn) / statistics.median(clist)
            print(f"refresh ratio (spawned CLI p50 / convoy/list over socket p50): {ratio:,.0f}x")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
