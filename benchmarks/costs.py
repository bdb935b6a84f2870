"""Costs figures: reading Claude Code session files, `gt costs`, `gt costs record` and `gt status`.

    python benchmarks/costs.py [--sessions 60] [--replies 300] [--runs 10]

Builds a throwaway town whose ledger records ``--sessions`` Claude Code
sessions (``session_started`` events, as ``start_agent`` writes them,
spread over the Mayor, the Deacon and dogs), each with a session file in
Claude Code 2.1's format: per reply an assistant line per content block
(text, then a tool_use, same ``message.id`` and usage, as Claude Code
writes them), a user tool_result line, ~1.5 KB a line.  Then measures, as
whole processes (the real console scripts):

* ``gt costs --json`` cold (no records yet: every file read whole), warm
  (records up to date: one ``stat`` per file), and after one more reply in
  every file (only the new lines read);
* ``gt costs record --session <id>`` (the Stop hook) on a session with
  ``--replies`` replies, warm;
* ``gt status --json`` with those sessions (it prices every agent).

and in process the reading rate of one large session file (MB/s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

GT = [os.path.join(os.path.dirname(sys.executable), "gt")]


def reply_lines(n: int, session_id: str, cwd: str) -> list[str]:
    usage = {"input_tokens": 1200 + n, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 9000,
             "output_tokens": 180, "service_tier": "standard"}  # fmt: skip
    mid = f"msg_{uuid.uuid4().hex[:24]}"
    common = {"parentUuid": str(uuid.uuid4()), "isSidechain": False, "userType": "external", "cwd": cwd,
              "sessionId": session_id, "version": "2.1.332", "gitBranch": "main",
              "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}  # fmt: skip
    text = {"type": "assistant", "uuid": str(uuid.uuid4()), **common, "message": {
        "id": mid, "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Working on the next step. " * 30}], "usage": usage}}  # fmt: skip
    tool = {"type": "assistant", "uuid": str(uuid.uuid4()), **common, "message": {
        "id": mid, "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "tool_use", "id": f"toolu_{n}", "name": "Bash",
                     "input": {"command": "bd mol current wx-1 --json", "description": "gastown:current"}}],
        "usage": usage}}  # fmt: skip
    result = {"type": "user", "uuid": str(uuid.uuid4()), **common, "message": {"role": "user", "content": [
        {"tool_use_id": f"toolu_{n}", "type": "tool_result", "content": "step output line\n" * 40}]}}  # fmt: skip
    return [json.dumps(text), json.dumps(tool), json.dumps(result)]


def write_session(path: Path, replies: int, session_id: str, cwd: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for n in range(replies):
            f.write("\n".join(reply_lines(n, session_id, cwd)) + "\n")


def timed(argv, cwd, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
        out.append((time.perf_counter() - t0) * 1000)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr}")
    return out


def fmt(samples: list[float]) -> str:
    s = sorted(samples)
    return f"p50 {statistics.median(s):.0f} ms, min {s[0]:.0f} ms, max {s[-1]:.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=60)
    ap.add_argument("--replies", type=int, default=300)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()

    from gastown_server.costs import usage
    from gastown_server.town import dogs, lifecycle
    from gastown_server.town.core import Town
    from gastown_server.town.install import install

    with tempfile.TemporaryDirectory(prefix="gt-costs-bench-") as tmp:
        os.environ["GT_TMUX_SOCKET"] = f"gt-costs-bench-{uuid.uuid4().hex[:8]}"
        root = install(Path(tmp) / "town", actor="overseer")
        home = Path(tmp) / "home" / ".claude" / "projects"
        with Town(root) as town:
            for name in ("alpha", "bravo", "charlie"):
                dogs.add(town, name)
            addresses = ["mayor", "deacon", "deacon/dogs/alpha", "deacon/dogs/bravo", "deacon/dogs/charlie"]
            files = []
            for i in range(args.sessions):
                ident = town.identity(addresses[i % len(addresses)])
                sid = str(uuid.uuid4())
                path = home / ident.cwd.replace("/", "-") / f"{sid}.jsonl"
                write_session(path, args.replies, sid, ident.cwd)
                files.append((sid, path, ident.cwd))
                payload = {"address": ident.address, "session": ident.session, "session_id": sid, "runtime": "claude",
                           "transcript": "", "cwd": ident.cwd, "mode": "start", "logs": str(path)}  # fmt: skip
                with town.ledger.mutation(lifecycle.SESSION_STARTED, "overseer", ident.bead_id, payload):
                    pass
        total_mb = sum(p.stat().st_size for _, p, _ in files) / 1e6
        print(f"{args.sessions} sessions x {args.replies} replies ({total_mb:.1f} MB of session files), "
              f"{args.runs} runs each")  # fmt: skip
        floor = timed([sys.executable, "-c", "pass"], root, args.runs)
        print(f"python -c pass (floor): {fmt(floor)}")
        cold = timed([*GT, "costs", "--json"], root, 1)
        print(f"gt costs --json, cold (every file read whole): {cold[0]:.0f} ms")
        warm = timed([*GT, "costs", "--json"], root, args.runs)
        print(f"gt costs --json, warm (records up to date): {fmt(warm)}")
        grow = []
        for _ in range(min(args.runs, 5)):
            for sid, path, cwd in files:
                with open(path, "a") as f:
                    f.write("\n".join(reply_lines(0, sid, cwd)) + "\n")
            grow += timed([*GT, "costs", "--json"], root, 1)
        print(f"gt costs --json, one new reply in every file: {fmt(grow)}")
        rec = timed([*GT, "costs", "record", "--session", files[0][0]], root, args.runs)
        print(f"gt costs record --session <id> (Stop hook), warm: {fmt(rec)}")
        status = timed([*GT, "status", "--json"], root, args.runs)
        print(f"gt status --json ({args.sessions} priced sessions, 6 agents): {fmt(status)}")

        big = Path(tmp) / "big.jsonl"
        write_session(big, 8000, "big", "/x")
        size = big.stat().st_size / 1e6
        t0 = time.perf_counter()
        state = usage.scan(usage.new_scan(big, "claude"))
        dt = time.perf_counter() - t0
        assert state.totals().requests == 8000, state.totals()
        print(f"reading one {size:.1f} MB session file (8000 replies, 24000 lines): {dt * 1000:.0f} ms, "
              f"{size / dt:.0f} MB/s")  # fmt: skip


if __name__ == "__main__":
    main()
