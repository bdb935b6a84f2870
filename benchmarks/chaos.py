"""Chaos: kill -9 anything during a convoy; the work still lands, each change once, with nobody watching.

The demo's town (sample rig ``textkit`` with a bare origin, its pytest suite as
the Refinery's gate, script-runtime agents, `gt up`) gets a convoy of
``--beads`` independent changes (each adds a module and its test), slung to
the rig.  Meanwhile, seeded and bounded, ``--kills`` SIGKILLs hit random
targets: a polecat's agent process, the Refinery's, the Witness's, the
Deacon's, the Mayor's, the daemon, and the RPC server an "editor" thread keeps
talking to (it reconnects, and starts a new server when its old one is gone,
as an editor does; that is a client's move, not an operator's).  The first
four kills are one of each of daemon, RPC server, Refinery and polecat.

After the sling the harness runs no `gt`/`bd` command: 0 operator actions.
It checks, from outside:

* the convoy lands (its bead closed) within ``--timeout``;
* every change is on the origin's main exactly once (commit subjects end in
  ``(<bead>)``), and main holds nothing else new;
* every MR's journal has exactly one ``merged``;
* no polecat worktree disappears before its MR is merged, no polecat branch
  ever disappears (sampled every 0.3 s);
* the ledger passes ``integrity_check``.

    python benchmarks/chaos.py [--beads 10] [--kills 20] [--seed 1] [--baseline]

``--baseline`` first lands the same convoy undisturbed in a fresh town and
reports the ratio.  The suite runs a short setting (tests/chaos/test_chaos.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

KINDS = ("polecat", "refinery", "witness", "deacon", "mayor", "daemon", "rpc")
MUST = ("daemon", "rpc", "refinery", "polecat")


def bead_specs(n: int) -> list[tuple[str, str]]:
    """``n`` independent changes to the sample rig (no two touch the same file)."""
    out = []
    for i in range(n):
        out.append((f"Add textkit.extra{i}.twice{i}", f'''Add `twice{i}(x)` in a new module `textkit/extra{i}.py`, with a test.

```gt-script
cat > textkit/extra{i}.py <<'EOF'
"""Extra {i}."""


def twice{i}(x):
    return x * 2 + {i} - {i}
EOF
cat > tests/test_extra{i}.py <<'EOF'
from textkit.extra{i} import twice{i}


def test_twice{i}():
    assert twice{i}(21) == 42
EOF
```
'''))
    return out


class Chaos:
    def __init__(self, where: Path, *, beads: int, kills: int, seed: int, verbose: bool = False,
                 min_gap_s: float = 1.5, max_gap_s: float = 4.0) -> None:
        from gastown_server.demo.town import Demo

        self.demo = Demo(where, verbose=False)
        self.town = self.demo.town
        self.nbeads, self.nkills, self.seed = beads, kills, seed
        self.verbose = verbose
        self.min_gap_s, self.max_gap_s = min_gap_s, max_gap_s
        self.stop = threading.Event()
        self.kills: list[dict] = []
        self.violations: list[str] = []
        self.rpc_calls = self.rpc_failures = self.rpc_restarts = 0
        self.server: subprocess.Popen | None = None
        self.sock = where / "rpc.sock"
        self.t0 = 0.0

    def say(self, text: str) -> None:
        if self.verbose:
            print(f"{time.monotonic() - self.t0:6.1f}s  {text}", flush=True)

    # -- targets -----------------------------------------------------------------------

    def _socket(self) -> str:
        from gastown_server.runtime.tmux import socket_name

        return socket_name(self.town)

    def _panes(self) -> dict[str, int]:
        proc = subprocess.run(["tmux", "-L", self._socket(), "list-panes", "-a", "-F", "#{session_name} #{pane_pid} #{pane_dead}"],
                              capture_output=True, text=True)  # fmt: skip
        out = {}
        for line in proc.stdout.splitlines():
            name, pid, dead = line.split()
            if dead != "1" and int(pid) > 0:
                out.setdefault(name, int(pid))
        return out

    def _target(self, kind: str) -> tuple[str, int] | None:
        from gastown_server.demo.town import PREFIX
        from gastown_server.patrol import daemon, revive

        if kind == "daemon":
            pid = daemon._lock_holder(self.town) if revive.daemon_alive(self.town) else 0
            return ("daemon", pid) if pid else None
        if kind == "rpc":
            s = self.server
            return ("gastown-server", s.pid) if s is not None and s.poll() is None else None
        panes = self._panes()
        if kind == "polecat":
            fixed = {f"{PREFIX}-witness", f"{PREFIX}-refinery"}
            names = sorted(n for n in panes if n.startswith(f"{PREFIX}-") and n not in fixed)
            if not names:
                return None
            name = self.rng.choice(names)
            return name, panes[name]
        name = {"refinery": f"{PREFIX}-refinery", "witness": f"{PREFIX}-witness", "deacon": "hq-deacon",
                "mayor": "hq-mayor"}[kind]  # fmt: skip
        return (name, panes[name]) if name in panes else None

    def chaos_loop(self) -> None:
        order = list(MUST)
        self.rng.shuffle(order)
        while len(self.kills) < self.nkills and not self.stop.wait(self.rng.uniform(self.min_gap_s, self.max_gap_s)):
            kind = order.pop(0) if order else self.rng.choice(KINDS)
            target = self._target(kind)
            tries = 0
            while target is None and tries < 10:  # that kind is not running right now: wait a little, or another
                if self.stop.wait(0.3):
                    return
                tries += 1
                if tries > 5 and kind not in MUST:
                    kind = self.rng.choice(KINDS)
                target = self._target(kind)
            if target is None:
                if kind in MUST:
                    order.insert(0, kind)  # try that one again later
                continue
            name, pid = target
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.kills.append({"at_s": round(time.monotonic() - self.t0, 1), "kind": kind, "target": name, "pid": pid})
            self.say(f"kill -9 {kind} {name} (pid {pid})")

    # -- the editor (RPC client) ---------------------------------------------------------

    def _start_server(self) -> None:
        log = open(self.demo.where / "rpc-server.log", "a")
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gastown_server.rpc.server", "--town", str(self.town), "--socket", str(self.sock)],
            env=self.demo.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        log.close()

    def editor_loop(self, scratch: str) -> None:
        from gastown_server.rpc.client import Client

        client = None
        n = 0
        while not self.stop.wait(0.5):
            try:
                if client is None:
                    if self.server is None or self.server.poll() is not None:
                        if self.server is not None:
                            self.server.wait()
                            self.rpc_restarts += 1
                            self.say("editor: its server is gone; starting a new one")
                        self._start_server()
                        deadline = time.monotonic() + 20
                        while not self.sock.exists() and time.monotonic() < deadline:
                            time.sleep(0.05)
                    client = Client.connect_socket(self.sock)
                    client.initialize(actor="overseer", timeout=10)
                client.call("town/status", {}, timeout=10)
                n += 1
                client.call("bead/update", {"id": scratch, "notes": f"editor ping {n}"}, timeout=10)
                self.rpc_calls += 2
            except Exception:  # noqa: BLE001 - a killed server shows up as any of several errors
                self.rpc_failures += 1
                if client is not None:
                    try:
                        client.close()
                    except Exception:  # noqa: BLE001
                        pass
                client = None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001
                pass

    # -- the watcher ---------------------------------------------------------------------

    def watch_loop(self) -> None:
        """No polecat worktree may vanish before its MR is merged; no polecat branch may vanish."""
        from gastown_server.beads.store import Ledger
        from gastown_server.demo.town import RIG
        from gastown_server.work import merge_requests as mrs

        repo = self.town / RIG / "repo"
        ledger = Ledger(self.town / ".gastown" / "ledger.db")
        worktrees: dict[str, str] = {}  # path -> branch
        branches: set[str] = set()
        try:
            while not self.stop.wait(0.3):
                porcelain = subprocess.run(["git", "-C", str(repo), "worktree", "list", "--porcelain"],
                                           capture_output=True, text=True).stdout  # fmt: skip
                now: dict[str, str] = {}
                path = ""
                for line in porcelain.splitlines():
                    if line.startswith("worktree "):
                        path = line.split(" ", 1)[1]
                    elif line.startswith("branch refs/heads/polecat/"):
                        now[path] = line.split("refs/heads/", 1)[1]
                for gone in set(worktrees) - set(now):
                    branch = worktrees.pop(gone)
                    if not any(m.merged for m in mrs.for_branch(ledger, RIG, branch)):
                        self.violations.append(f"worktree {gone} ({branch}) removed before its merge")
                worktrees.update(now)
                refs = subprocess.run(["git", "-C", str(repo), "for-each-ref", "--format=%(refname:short)",
                                       "refs/heads/polecat/"], capture_output=True, text=True).stdout.split()  # fmt: skip
                for gone in branches - set(refs):
                    self.violations.append(f"branch {gone} deleted")
                branches |= set(refs)
        finally:
            ledger.disconnect()

    # -- the run -------------------------------------------------------------------------

    def run(self, timeout_s: float) -> dict:
        from gastown_server.beads.store import Ledger
        from gastown_server.demo.town import RIG
        from gastown_server.work import merge_requests as mrs

        self.rng = random.Random(self.seed)
        self.demo.build()  # agents sandboxed (the default): the daemon's watchdog revives it
        ledger = Ledger(self.town / ".gastown" / "ledger.db")
        try:
            scratch = ledger.create("editor scratch (chaos harness)", actor="overseer").id
            convoy, ids = self.demo.file_work(bead_specs(self.nbeads))
            self.t0 = time.monotonic()
            self.demo.sling(ids)  # the last command anyone runs
            threads = [threading.Thread(target=self.watch_loop, daemon=True),
                       threading.Thread(target=self.editor_loop, args=(scratch,), daemon=True)]  # fmt: skip
            if self.nkills:
                threads.append(threading.Thread(target=self.chaos_loop, daemon=True))
            for t in threads:
                t.start()
            deadline = self.t0 + timeout_s
            landed = False
            while time.monotonic() < deadline:
                if ledger.get(convoy).status == "closed":
                    landed = True
                    break
                time.sleep(0.25)
            land_s = time.monotonic() - self.t0
            self.say(f"convoy {'landed' if landed else 'did NOT land'} after {land_s:.1f}s")
            self.stop.set()
            for t in threads:
                t.join(timeout=30)
            subjects = self.demo.git("log", "--format=%s", "main", cwd=self.demo.origin).splitlines()
            on_main = {b: sum(1 for s in subjects if s.endswith(f"({b})")) for b in ids}
            journals = {m.id: [j.event for j in m.meta.journal].count("merged")
                        for m in mrs.queue(ledger, RIG, include_closed=True)}  # fmt: skip
            return {
                "beads": self.nbeads, "seed": self.seed, "landed": landed, "land_s": round(land_s, 1),
                "kills": self.kills, "kill_count": len(self.kills),
                "kills_by_kind": {k: sum(1 for x in self.kills if x["kind"] == k) for k in KINDS},
                "operator_actions": 0,
                "on_main": on_main, "main_commits": len(subjects),
                "lost": sorted(b for b, n in on_main.items() if n == 0),
                "duplicated": sorted(b for b, n in on_main.items() if n > 1),
                "extra_commits": len(subjects) - 1 - sum(on_main.values()),
                "merged_per_mr": journals, "mrs": len(journals),
                "violations": self.violations,
                "integrity": ledger.integrity_check(),
                "rpc": {"calls": self.rpc_calls, "failures": self.rpc_failures, "server_restarts": self.rpc_restarts},
                "daemon_revivals": self._revivals(),
            }  # fmt: skip
        finally:
            ledger.disconnect()
            self.teardown()

    def _revivals(self) -> list[str]:
        try:
            log = (self.town / ".gastown" / "daemon.log").read_text()
        except OSError:
            return []
        return [line.split("revived by ", 1)[1] for line in log.splitlines() if "revived by " in line]

    def teardown(self) -> None:
        self.stop.set()
        if self.server is not None and self.server.poll() is None:
            self.server.kill()
            self.server.wait()
        if (self.town / ".gastown").exists():
            subprocess.run([sys.executable, "-m", "gastown_server.cli.gt", "down", "--grace", "1"], cwd=self.town,
                           env=self.demo.env, capture_output=True)  # fmt: skip
        subprocess.run(["tmux", "-L", self._socket(), "kill-server"], capture_output=True)


def ok(result: dict) -> bool:
    return (
        result["landed"] and not result["lost"] and not result["duplicated"] and result["extra_commits"] == 0
        and all(n == 1 for n in result["merged_per_mr"].values()) and not result["violations"]
        and result["integrity"] == "ok"
    )  # fmt: skip


def run(where: Path, *, beads: int, kills: int, seed: int, timeout_s: float, verbose: bool = False, **kw) -> dict:
    return Chaos(where, beads=beads, kills=kills, seed=seed, verbose=verbose, **kw).run(timeout_s)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--beads", type=int, default=10)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--baseline", action="store_true", help="first land the same convoy undisturbed")
    ap.add_argument("--min-gap", type=float, default=1.5, help="shortest pause between two kills (s)")
    ap.add_argument("--max-gap", type=float, default=4.0, help="longest pause between two kills (s)")
    ap.add_argument("--dir", help="build here and keep it (default: a temporary directory, removed)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    out = {}
    with tempfile.TemporaryDirectory(prefix="gastown-chaos-") as tmp:
        where = Path(args.dir).resolve() if args.dir else Path(tmp)
        if args.baseline:
            base = run(where / "baseline", beads=args.beads, kills=0, seed=args.seed, timeout_s=args.timeout,
                       verbose=not args.quiet)  # fmt: skip
            out["baseline"] = {k: base[k] for k in ("landed", "land_s", "lost", "duplicated", "violations")}
        res = run(where / "chaos", beads=args.beads, kills=args.kills, seed=args.seed, timeout_s=args.timeout,
                  verbose=not args.quiet, min_gap_s=args.min_gap, max_gap_s=args.max_gap)  # fmt: skip
        out["chaos"] = res
        if args.baseline and base["landed"]:
            out["ratio_to_undisturbed"] = round(res["land_s"] / base["land_s"], 2)
    print(json.dumps(out, indent=2))
    good = ok(out["chaos"]) and (not args.baseline or ok(base))
    print("OK" if good else "FAILED")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
