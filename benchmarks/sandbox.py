"""Agent sandbox start overhead per session (target: < 50 ms).

Makes a real town with one rig and a polecat worktree, builds the exact pane
command ``start_agent`` would run (``sandbox.launch.apply``: the polecat's
view, the mkdir prologue, bwrap with every mount) around a trivial program,
and times N runs of it against the bare program; the same for the Refinery,
whose sandbox adds the git broker (a Python helper outside the sandbox,
started in the background beside bwrap), and for the Witness, whose helper is
its tmux gate.  Also times ``apply`` itself (the
view computed in the starting process) and, for the Refinery, how long after
the start its broker's socket answers (off the agent's critical path: its
first git call waits for it).

    python benchmarks/sandbox.py [-n 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(argv: list[str], env: dict[str, str], n: int, gone: Path | None = None) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        out.append((time.perf_counter() - t) * 1000)
        if gone is not None:
            # Untimed: let this start's broker see its session end (it removes its socket), so
            # N back-to-back starts do not time N brokers piled up on the CPUs.
            wait_gone(gone)
    return out


def wait_gone(path: Path, timeout: float = 10.0) -> None:
    """Until no process of that helper is left (its delayed start included: the pane's subshell)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["pgrep", "-f", "--", f"--socket {path}"], stdout=subprocess.DEVNULL).returncode != 0:
            return
        time.sleep(0.02)


def broker_ready(town, ident, preset, env, cwd, path: Path, n: int) -> list[float]:
    """ms from the pane command's start until the session helper's socket accepts a connection."""
    import signal
    import socket

    from gastown_server.sandbox import launch

    out = []
    for _ in range(n):
        argv, env2, _info = launch.apply(town, ident, preset, ["/bin/sleep", "30"], env, cwd)
        t = time.perf_counter()
        proc = subprocess.Popen(argv, env=env2, stdout=subprocess.DEVNULL, start_new_session=True)
        while True:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                try:
                    s.connect(str(path))
                    break
                except OSError:
                    time.sleep(0.001)
        out.append((time.perf_counter() - t) * 1000)
        os.killpg(proc.pid, signal.SIGTERM)  # what TownTmux.stop does to the pane's group
        proc.wait()
        wait_gone(path)  # the broker removes its socket on the way out
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=40)
    args = ap.parse_args()
    os.environ["GT_TMUX_SOCKET"] = f"gt-bench-sandbox-{uuid.uuid4().hex[:8]}"
    from gastown_server.town import config, rigs
    from gastown_server.town.core import Town
    from gastown_server.town.identity import session_env
    from gastown_server.town.install import install

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
        subprocess.run(["git", "-C", str(src), "-c", "user.email=b@x", "-c", "user.name=b", "commit", "-q",
                        "--allow-empty", "-m", "init"], check=True)  # fmt: skip
        town = Town(install(Path(tmp) / "town", actor="overseer"))
        rigs.add(town, "alpha", str(src), prefix="al")
        from gastown_server.sandbox import launch

        rows = []
        ready: dict[str, list[float]] = {}
        for address in ("alpha/polecats/nux", "alpha/refinery", "alpha/witness"):
            ident = town.identity(address)
            from gastown_server.town.lifecycle import ensure_workdir

            cwd = ensure_workdir(town, ident)
            preset = config.resolve_agent(town.config, role=ident.role)
            env = session_env(town.root, ident, socket=town.socket, session_id="bench", runtime=preset.name)
            bare = ["/bin/true"]
            t = time.perf_counter()
            for _ in range(args.n):
                argv, env2, _info = launch.apply(town, ident, preset, bare, env, cwd)
            apply_ms = (time.perf_counter() - t) * 1000 / args.n
            from gastown_server.sandbox.policy import broker_dir

            helper = "git.sock" if env2.get(launch.BROKER_ENV) else "tmux.sock" if env2.get("GT_TMUX_GATE") else ""
            sock = broker_dir(town.root, ident.session) / helper if helper else None
            base = timed(bare, env, args.n)
            boxed = timed(argv, env2, args.n, gone=sock)
            rows.append((address, apply_ms, statistics.median(base), statistics.median(boxed), pct(boxed, 95)))
            if sock:
                ready[address] = broker_ready(town, ident, preset, env, cwd, sock, max(4, args.n // 4))
        for address, apply_ms, b, s, s95 in rows:
            print(f"{address:<22} view+argv {apply_ms:5.1f} ms | /bin/true bare p50 {b:5.1f} ms | "
                  f"sandboxed p50 {s:5.1f} ms p95 {s95:5.1f} ms | overhead p50 {s - b + apply_ms:5.1f} ms")  # fmt: skip
        for address, ms in ready.items():
            print(f"{address:<22} helper (git broker / tmux gate) answering after start: p50 {statistics.median(ms):5.1f} ms "
                  f"p95 {pct(ms, 95):5.1f} ms (in the background: the agent does not wait for it)")
        worst = max(s - b + a for _, a, b, s, _ in rows)
        print(f"worst overhead per session start: {worst:.1f} ms (target < 50 ms)")
        town.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
