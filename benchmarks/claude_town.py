"""Real Claude Code in a town, offline: `gt up` to every input prompt, and nudges to an idle Claude pane.

    python benchmarks/claude_town.py [-n 20] [--demo]

1. A town with one rig, every role on `claude` (the bootstrap's pinned
   binary) against the town's loopback model (`gt model-stub --detach`):
   time from `gt up` until the Mayor, Deacon, Witness and Refinery panes
   each show Claude Code's input box (a `❯` row) and no first-run dialog
   (target < 20 s).
2. The same town with the patrols back on the script runtime (so they do
   not load the machine): `n` nudges to the idle claude Mayor through the
   real `runtime.nudge.nudge` (idle + busy-screen + empty-input checks,
   send-keys, echo and submit confirmation); each waits until the Mayor has
   answered and is idle again.  p50/p95/max of the call (target p50 < 500 ms);
   then the same through the CLI (`gt nudge mayor ...`, a process per call).
3. Where a Claude round trip's time goes, in the same town: the hooks the
   town's settings run (each a process: the PreToolUse guard before every
   Bash call, `gt mail check --inject` on every prompt, `gt prime --hook` at
   session start, `gt costs record` at every turn's end), timed alone; and
   `run \`true\`` nudged to the Mayor: from the stub's reply carrying the
   Bash call to Claude Code's next request (hook + shell + Claude Code's
   own handling: the per-tool-call cost the demo pays ~13 times a polecat).
4. `--demo`: `scripts/demo --runtime claude --down` once, the land time
   (target < 120 s).

Temporary HOME; nothing of the user's is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GT = [sys.executable, "-m", "gastown_server.cli.gt"]
DIALOG = re.compile(r"Detected a custom API key|trust this folder|Bypass Permissions mode|Select login method")
PROMPT = re.compile(r"^\s*❯", re.M)


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def profile_hooks(demo, n: int = 10) -> None:
    """Each hook command of the town's Claude settings, run as Claude Code runs it (a shell, the Mayor's cwd)."""
    from gastown_server.runtime import claude_code

    settings = json.loads((demo.town / ".gastown" / "agent-config" / "claude" / "hq-mayor" / "settings.json").read_text())
    cmds = {ev: h[0]["hooks"][0]["command"] for ev, h in settings["hooks"].items()}
    cmds["PreToolUse (as `gt tap guard`)"] = "gt tap guard"
    env = {**demo.env, "GT_ROLE": "mayor", "BD_ACTOR": "mayor", "GT_TOWN": str(demo.town)}
    event = json.dumps({"tool_name": "Bash", "tool_input": {"command": "bd mol current x --json"}})
    assert claude_code.HOOKS  # (the events timed are the settings' own)
    for ev, cmd in cmds.items():
        times = []
        for _ in range(n):
            t = time.monotonic()
            subprocess.run(["sh", "-c", cmd], input=event, text=True, capture_output=True, cwd=demo.town / "mayor", env=env)
            times.append((time.monotonic() - t) * 1000)
        print(f"  hook {ev}: p50 {pct(times, 50):.0f} ms  ({cmd[:60]})")


def demo_breakdown(town: Path) -> None:
    """From the stub's log: model round trips per role and their spacing (one Bash call + its command each)."""
    log = town / ".gastown" / "model-stub.jsonl"
    if not log.exists():
        return
    rows = [json.loads(x) for x in log.read_text().splitlines()]
    by_agent: dict[str, list[float]] = {}
    for r in rows:
        by_agent.setdefault(r.get("who") or "?", []).append(r["at"])
    by_role: dict[str, tuple[int, list[float]]] = {}
    for who, ats in by_agent.items():
        role = "polecat" if "/polecats/" in who else who.split("/")[-1]
        n, gaps = by_role.get(role, (0, []))
        # Spacing of one agent's consecutive requests (a polecat idle between beads is not a step).
        by_role[role] = (n + len(ats), gaps + [b - a for a, b in zip(ats, ats[1:]) if b - a < 30])
    for role, (n, gaps) in sorted(by_role.items()):
        print(f"  {role}: {n} model requests, one agent's spacing p50 {pct(gaps, 50) if gaps else 0:.1f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20, help="nudges (default 20)")
    ap.add_argument("--demo", action="store_true", help="also run the demo convoy on claude once")
    args = ap.parse_args()
    for k in [k for k in os.environ if k.startswith(("GT_", "BD_", "BEADS_", "ANTHROPIC_"))]:
        del os.environ[k]
    from gastown_server.demo.town import Demo
    from gastown_server.runtime.nudge import nudge
    from gastown_server.runtime.tmux import TownTmux, socket_name

    where = Path(tempfile.mkdtemp(prefix="gastown-claude-bench-"))
    home = where / "home"
    home.mkdir()
    demo = Demo(where / "d", verbose=False, runtime="claude")
    demo.env["HOME"] = str(home)
    try:
        demo.build(start=False)
        sock = socket_name(demo.town)

        def screen(session):
            return subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-t", session],
                                  capture_output=True, text=True).stdout  # fmt: skip

        sessions = ["hq-mayor", "hq-deacon", "tk-witness", "tk-refinery"]
        t0 = time.monotonic()
        demo.run("gt", "up", show=False)
        ready: dict[str, float] = {}
        while len(ready) < len(sessions) and time.monotonic() - t0 < 120:
            for s in sessions:
                if s not in ready:
                    text = screen(s)
                    if PROMPT.search(text) and not DIALOG.search(text) and "Claude Code" in text:
                        ready[s] = time.monotonic() - t0
            time.sleep(0.1)
        up_s = max(ready.values()) if len(ready) == len(sessions) else float("nan")
        print(f"gt up, 4 claude sessions at their input prompt: {up_s:.1f} s "
              f"({', '.join(f'{k} {v:.1f}' for k, v in ready.items())})")  # fmt: skip
        demo.run("gt", "down", show=False)

        for role in ("deacon", "witness", "refinery"):
            demo.run("gt", "config", "agent", "default", "script", "--role", role, show=False)
        demo.run("gt", "up", show=False)
        tmux = TownTmux(sock)
        log = demo.town / ".gastown" / "model-stub.jsonl"

        def answered(q):
            for line in log.read_text().splitlines():
                e = json.loads(line)
                if e.get("user") == q:
                    return True
            return False

        def idle():
            text = screen("hq-mayor")
            return "esc to interrupt" not in text and re.search(r"^\s*❯\s*$", text, re.M)

        deadline = time.monotonic() + 120
        while not (idle() and "Waiting for work" in screen("hq-mayor")) and time.monotonic() < deadline:
            time.sleep(0.2)
        times, statuses = [], {}
        for i in range(args.n):
            q = f"benchmark question {i:03d} about the town?"
            res = nudge(tmux, "hq-mayor", q, state_dir=demo.town / ".gastown", idle_s=1.0, timeout_s=60)
            statuses[res.status] = statuses.get(res.status, 0) + 1
            times.append(res.elapsed_ms)
            end = time.monotonic() + 60
            while not (answered(q) and idle() and f"question {i:03d}" in screen("hq-mayor")) and time.monotonic() < end:
                time.sleep(0.1)
            time.sleep(1.2)  # the answer's repaint is client activity to nobody; idle_s is for attached clients
        print(f"nudge to an idle claude Mayor, n={args.n}: p50 {pct(times, 50):.0f} ms, p95 {pct(times, 95):.0f} ms, "
              f"max {max(times):.0f} ms, mean {statistics.mean(times):.0f} ms; {statuses}")  # fmt: skip

        def settle(q):
            end = time.monotonic() + 60
            shown = q.replace("`", "")[-12:]  # (Claude Code renders the prompt's markdown: no backticks)
            while not (answered(q) and idle() and shown in screen("hq-mayor")) and time.monotonic() < end:
                time.sleep(0.1)
            time.sleep(1.2)

        cli = []
        for i in range(max(5, args.n // 2)):
            q = f"cli question {i:03d} about the town?"
            t = time.monotonic()
            demo.run("gt", "nudge", "mayor", q, show=False)
            cli.append((time.monotonic() - t) * 1000)
            settle(q)
        print(f"`gt nudge mayor ...` (CLI process, same checks), n={len(cli)}: p50 {pct(cli, 50):.0f} ms, "
              f"p95 {pct(cli, 95):.0f} ms")  # fmt: skip

        profile_hooks(demo)
        gaps, lead = [], []
        for i in range(max(5, args.n // 2)):
            q = f"run `true` {i:03d}"
            res = nudge(tmux, "hq-mayor", q, state_dir=demo.town / ".gastown", idle_s=1.0, timeout_s=60)
            sent = time.time()
            settle(q)
            entries = [json.loads(x) for x in log.read_text().splitlines()]
            k = next(j for j, e in enumerate(entries) if e.get("user") == q)
            ran = next(e for e in entries[k + 1:] if e.get("who") == "mayor" and e.get("kind") == "ran")
            if res.status == "delivered":
                lead.append((entries[k]["at"] - sent) * 1000)
            gaps.append((ran["at"] - entries[k]["at"]) * 1000)
        print(f"one Bash tool round trip in Claude Code (reply with the call -> next request; guard hook, "
              f"`true`, Claude Code), n={len(gaps)}: p50 {pct(gaps, 50):.0f} ms, p95 {pct(gaps, 95):.0f} ms")  # fmt: skip
        print(f"nudge confirmed -> the prompt at the model (UserPromptSubmit hook + Claude Code): "
              f"p50 {pct(lead, 50):.0f} ms")  # fmt: skip
        demo.run("gt", "down", show=False)
    finally:
        subprocess.run([*GT, "down"], cwd=demo.town, env=demo.env, capture_output=True)
        subprocess.run([*GT, "model-stub", "--stop"], cwd=demo.town, env=demo.env, capture_output=True)
        shutil.rmtree(where, ignore_errors=True)
    if args.demo:
        from gastown_server.demo.town import run_demo

        where = Path(tempfile.mkdtemp(prefix="gastown-claude-demo-"))
        old_home = os.environ.get("HOME")
        os.environ["HOME"] = str(where / "home")
        (where / "home").mkdir()
        try:
            result = run_demo(where / "d", down=True, timeout_s=600, verbose=False, runtime="claude")
            t = result["timings"]
            print(f"demo convoy on claude (3 beads, one rework): land {t['land']:.1f} s, gt up {t['up']:.1f} s, "
                  f"total {t['total']:.1f} s")  # fmt: skip
            demo_breakdown(Path(result["town"]))
        finally:
            if old_home:
                os.environ["HOME"] = old_home
            shutil.rmtree(where, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
