"""Dashboard figures: first paint server time, change-to-browser latency, idle cost of open streams.

    python benchmarks/dashboard.py [--convoys 50] [--beads 2000] [--agents 30] [--runs 30] [--clients 20]

Builds a throwaway town (its own tmux socket, no daemon: an idle town)
with 2 rigs, ``--agents`` agent beads (polecats and crew; hooked work on
some), ``--beads`` beads in ``--convoys`` convoys (about half closed,
closed over the last day, so the throughput picture has bars), then runs
the real ``gt dashboard`` as a process and measures:

* first paint of the town page (and the convoys page): the server's own
  render time (its ``Server-Timing`` header) and the whole request as a
  client sees it, ``--runs`` times: target town page < 300 ms server time;
* change-to-browser latency: headless Chromium (Debian's, via Playwright)
  holds a convoy page open; a bead of that convoy is closed in another
  process's ledger connection (what ``bd close`` does, minus the
  interpreter start) and the time until the page's DOM has the new
  ``<main>`` is taken from the browser's clock (same machine, same wall
  clock): target p50 < 100 ms;
* ``--clients`` open event streams (plain SSE clients, what each tab
  holds) on an idle town: the server process's CPU (utime+stime from
  /proc) over 10 s, as % of one core: target < 5 %; on the convoys page,
  then on the town page (whose agents are also watched once a second);
  then the same with ``--clients`` real Chromium tabs (one browser
  context each, so that each gets its own connection for its stream).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path


# The same percentile and scratch repository as the town benchmark (run from benchmarks/).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from town import git_repo, pct  # noqa: E402


def build(tmp: Path, n_convoys: int, n_beads: int, n_agents: int) -> tuple[Path, list[str], list[list[str]]]:
    from gastown_server.town import rigs
    from gastown_server.town.core import Town
    from gastown_server.town.identity import rig_identity
    from gastown_server.town.install import install
    from gastown_server.town.roles import ensure_agent_bead
    from gastown_server.work import convoys, hooks

    git_repo(tmp / "src")
    root = install(tmp / "town")
    town = Town(root)
    for name in ("alpha", "beta"):
        rigs.add(town, name, str(tmp / "src"))
    led = town.ledger
    rig_list = list(town.rigs())
    agents = []
    for i in range(n_agents):
        r = rig_list[i % 2]
        ident = rig_identity(root, r.name, r.prefix, "polecat", f"p{i}")
        ensure_agent_bead(led, ident, actor="overseer")
        agents.append(ident.address)
    per = max(1, n_beads // n_convoys)
    convoy_ids, members = [], []
    now = time.time()
    with led.atomic():
        for c in range(n_convoys):
            r = rig_list[c % 2]
            ids = [led.create(f"work item {c}.{j}", actor="overseer", prefix=r.prefix, issue_type="task").id for j in range(per)]
            cid = convoys.create(led, f"Convoy {c}", ids, actor="overseer").id
            convoy_ids.append(cid)
            members.append(ids)
    # About half closed, spread over the last 24 hours (the throughput picture).
    with led.atomic():
        for c, ids in enumerate(members):
            for j, bid in enumerate(ids[: per // 2]):
                led.close(bid, actor="overseer", reason="done")
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - ((c * per + j) * 97) % 86000)) + ".000000Z"
                led.conn.execute("UPDATE issues SET closed_at = ? WHERE id = ?", (stamp, bid))
        for i, address in enumerate(agents[:10]):
            hooks.hook(led, members[i][-1], address, actor="overseer")
    town.close()
    return root, convoy_ids, members


class Server:
    def __init__(self, root: Path) -> None:
        gt = [sys.executable, "-m", "gastown_server.cli.gt"]
        self.proc = subprocess.Popen([*gt, "dashboard", "--town", str(root), "--port", "0"], cwd=root,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        m = re.search(r"at (http://\S+)", line)
        if not m:
            raise SystemExit(f"gt dashboard did not start: {line}{self.proc.stdout.read()}")
        self.url = m.group(1).rstrip("/")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(10)


def first_paint(url: str, runs: int) -> tuple[list[float], list[float]]:
    server, total = [], []
    for _ in range(runs):
        t = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as resp:
            resp.read()
            timing = resp.headers["Server-Timing"]
        total.append((time.perf_counter() - t) * 1000)
        server.append(float(timing.split("dur=")[1]))
    return server, total


def latency(url: str, root: Path, bead_ids: list[str]) -> list[float]:
    from playwright.sync_api import sync_playwright

    from gastown_server.beads.store import Ledger

    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]  # fmt: skip
    out = []
    led = Ledger(root / ".gastown" / "ledger.db")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#live.on")
        for bid in bead_ids:
            before = page.evaluate("document.body.getAttribute('data-updated') || '0'")
            led.close(bid, actor="overseer", reason="bench")
            committed = time.time() * 1000
            page.wait_for_function("b => (document.body.getAttribute('data-updated') || '0') !== b", arg=before,
                                   timeout=10_000, polling="raf")  # fmt: skip
            shown = float(page.evaluate("document.body.getAttribute('data-updated')"))
            out.append(shown - committed)
            time.sleep(0.4)  # one change at a time (the hub throttles bursts to one render per 200 ms)
        browser.close()
    led.disconnect()
    return out


def idle_cpu(srv: Server, n: int, seconds: float = 10.0, view: str = "/convoys") -> float:
    host, port = srv.url.removeprefix("http://").rsplit(":", 1)
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, int(port)))
        s.sendall(f"GET /live?view={view} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
        socks.append(s)
    for s in socks:
        s.settimeout(10)
        assert b"200" in s.recv(4096).split(b"\r\n", 1)[0]
    time.sleep(1.0)
    c0, t0 = srv.cpu_s(), time.monotonic()
    time.sleep(seconds)
    used = (srv.cpu_s() - c0) / (time.monotonic() - t0) * 100
    for s in socks:
        s.close()
    return used


def idle_cpu_tabs(srv: Server, n: int, seconds: float = 10.0, view: str = "/convoys") -> float:
    """``n`` real headless Chromium tabs on ``view``, each in its own browser context (a browser opens at
    most 6 connections per host and context, and each tab's event stream holds one); all of them live
    (``#live.on``: the stream's hello arrived) before the server's CPU is sampled."""
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        pages = []
        for _ in range(n):
            page = browser.new_context().new_page()
            page.goto(srv.url + view)
            pages.append(page)
        for page in pages:
            page.wait_for_selector("#live.on", timeout=30_000)
        time.sleep(1.0)
        c0, t0 = srv.cpu_s(), time.monotonic()
        time.sleep(seconds)
        used = (srv.cpu_s() - c0) / (time.monotonic() - t0) * 100
        browser.close()
    return used


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--convoys", type=int, default=50)
    ap.add_argument("--beads", type=int, default=2000)
    ap.add_argument("--agents", type=int, default=30)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--clients", type=int, default=20)
    args = ap.parse_args()
    os.environ["GT_TMUX_SOCKET"] = f"gt-bench-{uuid.uuid4().hex[:8]}"
    for k in ("GT_TOWN", "BD_ACTOR", "GT_ROLE", "TMUX"):
        os.environ.pop(k, None)
    tmp = Path(tempfile.mkdtemp(prefix="gt-dash-bench-"))
    srv = None
    try:
        t = time.perf_counter()
        root, convoy_ids, members = build(tmp, args.convoys, args.beads, args.agents)
        print(f"town: {args.convoys} convoys, {args.beads} beads, {args.agents} agents (built in {time.perf_counter() - t:.1f} s)")
        srv = Server(root)
        first_paint(srv.url + "/", 3)  # warm: imports, first tmux snapshot
        for name, path, target in (("town page", "/", 300.0), ("convoys page (50 trees)", "/convoys", None)):
            server, total = first_paint(srv.url + path, args.runs)
            mark = "" if target is None else ("  (target < 300 ms) ✔" if statistics.median(server) < target else "  (target < 300 ms) ✘")
            print(f"first paint, {name}: server p50 {statistics.median(server):.1f} ms, p95 {pct(server, 0.95):.1f} ms; "
                  f"whole request p50 {statistics.median(total):.1f} ms{mark}")  # fmt: skip
        c0 = srv.cpu_s()
        time.sleep(10)
        base = (srv.cpu_s() - c0) / 10 * 100
        print(f"idle server, no client: {base:.2f} % of one core")
        cpu = idle_cpu(srv, args.clients)
        mark = "✔" if cpu < 5 else "✘"
        print(f"idle server, {args.clients} open event streams (convoys page): {cpu:.2f} % of one core (target < 5 %) {mark}")
        cpu = idle_cpu(srv, args.clients, view="/")
        print(f"idle server, {args.clients} open event streams (town page: agents watched every second): {cpu:.2f} % of one core")
        for view in ("/convoys", "/"):
            cpu = idle_cpu_tabs(srv, args.clients, view=view)
            mark = "✔" if cpu < 5 else "✘"
            print(f"idle server, {args.clients} open Chromium tabs on {view}: {cpu:.2f} % of one core (target < 5 %) {mark}")
        # Open beads of the first convoy (its last one is hooked: left alone).
        lat = latency(srv.url + f"/convoy/{convoy_ids[0]}", root, members[0][len(members[0]) // 2 : -1][: args.runs])
        mark = "✔" if statistics.median(lat) < 100 else "✘"
        print(f"change to browser (ledger commit -> DOM updated), {len(lat)} closes: p50 {statistics.median(lat):.1f} ms, "
              f"p95 {pct(lat, 0.95):.1f} ms, max {max(lat):.1f} ms (target p50 < 100 ms) {mark}")  # fmt: skip
    finally:
        if srv is not None:
            srv.stop()
        subprocess.run(["tmux", "-L", os.environ["GT_TMUX_SOCKET"], "kill-server"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
