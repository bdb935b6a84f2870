"""The demo town: the README's main command.

    scripts/demo [--dir DIR] [--down] [--timeout S] [--runtime script|claude] [--model stub|hosted]
    python -m gastown_server.demo ...            (same)
    python -m gastown_server.demo --ledger ...   (the older ledger-only tour)

Builds a town (in a temporary directory unless ``--dir``), adds the sample
rig ``textkit`` (a tiny Python library with a pytest suite, shipped in
``sample_rig/``; copied, ``git init``-ed and given a bare origin), sets the
rig's test suite as the Refinery's gate, starts the town (``gt up``, 1 s
heartbeat), files three beads whose descriptions carry the change as a
``gt-script`` block (``work.py``; two edit the same line), puts them in one
convoy and slings each to the rig: three script-runtime polecats implement,
test and ``gt done`` them, the town's Refinery merges them through the gate
(the conflicting one gets ``REWORK_REQUEST``, re-applies on the new main
and is merged on the second pass), and the convoy lands.  Then it prints
the convoy tree, the merged ``git log`` and the timings, and leaves the
town up with instructions, or takes it down (``--down``).

``--runtime claude``: every agent is a real Claude Code session (the
bootstrap's pinned ``claude``) talking to the town's loopback model
(``gt model-stub --detach``: a deterministic policy that runs the same
steps through Claude Code's Bash tool), so it needs no network.
``--model hosted`` starts no stub: with ``ANTHROPIC_API_KEY`` exported
``gt up`` runs the key-adding proxy and the agents use the real model (a
``claude login`` subscription works too).

Every step is the real command (``gt``/``bd`` as processes), printed as it
runs.  Exit 0 when the convoy landed with each change on main exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RIG = "textkit"
PREFIX = "tk"
SAMPLE = Path(__file__).resolve().parent / "sample_rig"
_SCRUB = ("GT_", "BD_", "BEADS_", "GIT_", "TMUX")


class DemoFailed(Exception):
    pass


class Demo:
    def __init__(self, where: Path, *, verbose: bool = True, heartbeat_s: float = 1.0, runtime: str = "script",
                 model: str = "stub", roles: dict[str, str] | None = None) -> None:  # fmt: skip
        self.runtime = runtime
        self.model = model
        #: role -> runtime overrides (tests: claude Mayor and polecats, script patrols)
        self.roles = dict(roles or {})
        self.where = where
        self.town = where / "town"
        self.origin = where / "origin" / f"{RIG}.git"
        self.seed = where / "seed" / RIG
        self.verbose = verbose
        self.heartbeat_s = heartbeat_s
        self.timings: dict[str, float] = {}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
        # `gt`/`bd` of this Python first (the sessions get the same PATH from the town).
        bindir = str(Path(sys.executable).parent)
        self.env["PATH"] = bindir + os.pathsep + self.env.get("PATH", "")
        self.env["GT_TOWN"] = str(self.town)

    # -- running commands ----------------------------------------------------------

    def say(self, text: str = "") -> None:
        if self.verbose:
            print(text, flush=True)

    def run(self, prog: str, *argv: str, show: bool = True, cwd: Path | None = None) -> str:
        """Run ``gt``/``bd`` (as this Python's module) in the town; its stdout. Failure: DemoFailed."""
        module = {"gt": "gastown_server.cli.gt", "bd": "gastown_server.cli.bd"}[prog]
        if show:
            self.say(f"$ {prog} {' '.join(_quote(a) for a in argv)}")
        proc = subprocess.run(
            [sys.executable, "-m", module, *argv], cwd=cwd or self.town, env=self.env,
            capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise DemoFailed(f"'{prog} {' '.join(argv)}' failed (exit {proc.returncode}): {proc.stderr.strip()}")
        if show and proc.stdout.strip():
            self.say("  " + proc.stdout.rstrip().replace("\n", "\n  "))
        return proc.stdout

    def git(self, *argv: str, cwd: Path) -> str:
        env = dict(self.env, GIT_AUTHOR_NAME="overseer", GIT_AUTHOR_EMAIL="overseer@gastown.local",
                   GIT_COMMITTER_NAME="overseer", GIT_COMMITTER_EMAIL="overseer@gastown.local")  # fmt: skip
        proc = subprocess.run(["git", *argv], cwd=cwd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise DemoFailed(f"'git {' '.join(argv)}' failed in {cwd}: {proc.stderr.strip()}")
        return proc.stdout

    def timed(self, name: str, start: float) -> None:
        self.timings[name] = time.monotonic() - start

    # -- the steps -----------------------------------------------------------------

    def make_origin(self) -> None:
        """The sample rig as a real repository with a bare origin (a rig clone pushes there)."""
        if not SAMPLE.is_dir():
            raise DemoFailed(f"sample rig not found at {SAMPLE} (broken install?)")
        shutil.copytree(SAMPLE, self.seed, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".benchmarks"))
        (self.seed / "gitignore").rename(self.seed / ".gitignore")
        self.git("init", "-q", "-b", "main", cwd=self.seed)
        self.git("add", "-A", cwd=self.seed)
        self.git("commit", "-q", "-m", "textkit: greet, shout, initials, with tests", cwd=self.seed)
        self.origin.parent.mkdir(parents=True, exist_ok=True)
        self.git("clone", "-q", "--bare", str(self.seed), str(self.origin), cwd=self.where)

    def tune(self) -> None:
        """A demo-speed town: 1 s heartbeat and patrol interval (defaults suit a long-running town)."""
        from ..town import config as town_config

        cfg = town_config.load(self.town)
        cfg.daemon.heartbeat_s = self.heartbeat_s
        cfg.daemon.restart_backoff_s = min(cfg.daemon.restart_backoff_s, 2.0)
        patrol = getattr(cfg, "patrol", None)
        if patrol is not None:
            patrol.interval_s = min(patrol.interval_s, 1.0)
            patrol.max_backoff_s = min(patrol.max_backoff_s, 2.0)
        town_config.save(self.town, cfg)

    def gate_command(self) -> str:
        # The sample rig's suite needs no pytest plugin. The ones installed next to gastown
        # (hypothesis, pytest-benchmark, libtmux's) are ~2 s of imports per run on a loaded
        # 2-core machine, and the suite runs in every polecat's test step and every merge.
        return f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {_quote(sys.executable)} -m pytest -q -p no:cacheprovider"

    def build(self, *, gate: str | None = None, start: bool = True) -> None:
        t0 = time.monotonic()
        self.where.mkdir(parents=True, exist_ok=True)
        self.make_origin()
        self.run("gt", "install", str(self.town), "--name", "demo", cwd=self.where)
        self.tune()
        self.run("gt", "rig", "add", RIG, str(self.origin), "--prefix", PREFIX)
        self.run("gt", "refinery", "gates", "--rig", RIG, "--set", gate or self.gate_command(), "--timeout", "120")
        self.use_runtime()
        self.timed("build", t0)
        if not start:
            return
        t1 = time.monotonic()
        self.run("gt", "up")
        self.timed("up", t1)

    def use_runtime(self) -> None:
        """The agents' runtime; for a hosted CLI against the loopback model, start the town's stub."""
        if self.runtime != "script":
            self.run("gt", "config", "agent", "default", self.runtime)
        for role, runtime in self.roles.items():
            self.run("gt", "config", "agent", "default", runtime, "--role", role)
        hosted = {self.runtime, *self.roles.values()} - {"script"}
        if hosted and self.model == "stub":
            self.run("gt", "model-stub", "--detach")

    def file_work(self, beads: list[tuple[str, str]] | None = None) -> tuple[str, list[str]]:
        from .work import BEADS

        ids = []
        for title, description in beads or BEADS:
            out = self.run("bd", "create", title, "-d", description, "-t", "feature", "--prefix", PREFIX, "--silent", show=False)
            ids.append(out.strip())
            self.say(f"$ bd create {_quote(title)} -d <description with a gt-script block> -t feature --prefix {PREFIX}\n  {ids[-1]}")
        out = self.run("gt", "convoy", "create", "Demo: textkit improvements", *ids, "--json", show=False)
        convoy = _json_id(out)
        self.say(f"$ gt convoy create 'Demo: textkit improvements' {' '.join(ids)}\n  convoy {convoy}")
        return convoy, ids

    def sling(self, ids: list[str]) -> None:
        for bead in ids:
            self.run("gt", "sling", bead, RIG)

    def wait_for_landing(self, convoy: str, ids: list[str], timeout_s: float) -> None:
        from ..beads.store import Ledger
        from ..paths import ledger_path
        from ..work import convoys

        start = time.monotonic()
        deadline = start + timeout_s
        seen: dict[str, tuple] = {}
        ledger = Ledger(ledger_path(self.town))
        try:
            while True:
                tree = convoys.tree(ledger, convoy)
                for t in tree.tracked:
                    state = (t.status, t.assignee)
                    if seen.get(t.id) != state:
                        seen[t.id] = state
                        who = f" ({t.assignee})" if t.assignee else ""
                        self.say(f"  {time.monotonic() - start:5.1f}s  {t.id} {t.status}{who}")
                for line in self._mq_changes(ledger, seen):
                    self.say(f"  {time.monotonic() - start:5.1f}s  {line}")
                if tree.convoy.status == "closed":  # landed: the Refinery lands it after the last merge
                    self.say(f"  {time.monotonic() - start:5.1f}s  convoy {convoy} landed")
                    return
                if time.monotonic() > deadline:
                    raise DemoFailed(self._stuck_report(convoy, timeout_s))
                time.sleep(0.25)
        finally:
            ledger.disconnect()

    def _mq_changes(self, ledger, seen: dict) -> list[str]:
        from ..work import merge_requests as mrs

        out = []
        for mr in mrs.queue(ledger, RIG, include_closed=True):
            key = "mr:" + mr.id
            state = (mr.status, mr.meta.attempts)
            if seen.get(key) != state:
                seen[key] = state
                what = {"open": "queued", "in_progress": "merging", "deferred": "conflict: rework requested",
                        "blocked": "gate failed", "closed": mr.close_reason or "closed"}.get(mr.status, mr.status)  # fmt: skip
                out.append(f"{mr.id} {mr.meta.issue} ({mr.meta.branch}): {what}")
        return out

    def _stuck_report(self, convoy: str, timeout_s: float) -> str:
        return (
            f"the convoy {convoy} did not land within {timeout_s:g}s. Look at:\n"
            f"  cd {self.town} && gt convoy status {convoy} && gt mq list --all && gt agents\n"
            f"  transcripts: {self.town / '.gastown' / 'transcripts'}/ (e.g. {PREFIX}-refinery.log, {PREFIX}-<polecat>.log)\n"
            f"  daemon log:  {self.town / '.gastown' / 'daemon.log'}"
        )

    def report(self, convoy: str, ids: list[str]) -> list[str]:
        self.say("")
        self.run("gt", "convoy", "status", convoy)
        self.say("")
        self.say(f"$ git log --oneline main   (in {self.origin})")
        log = self.git("log", "--format=%h %s", "main", cwd=self.origin)
        self.say("  " + log.rstrip().replace("\n", "\n  "))
        subjects = [line.split(" ", 1)[1] for line in log.splitlines()]
        for bead in ids:
            n = sum(1 for s in subjects if s.endswith(f"({bead})"))
            if n != 1:
                raise DemoFailed(f"{bead} is on main {n} times (expected exactly once)")
        return subjects

    def down(self) -> None:
        self.run("gt", "down")
        if (self.town / ".gastown" / "model-proxy.json").exists():
            self.run("gt", "model-stub", "--stop")

    def instructions(self) -> str:
        from ..runtime.tmux import socket_name

        sock = socket_name(self.town)
        return "\n".join([
            f"The town is up in {self.town} (the rig's origin: {self.origin}).",
            f"  watch the Mayor:   tmux -L {sock} attach -t hq-mayor",
            f"  from Emacs:        M-x gastown-mayor   (town {self.town})",
            f"  editor server:     gastown-server --town {self.town} --socket",
            f"  look around:       cd {self.town} && gt status && gt convoy list --all && gt mq list --all",
            f"  in a browser:      cd {self.town} && gt dashboard --open   (http://127.0.0.1:8077/)",
            f"  stop it:           cd {self.town} && gt down",
            *emacs_snippet(self.town),
        ])  # fmt: skip


def emacs_snippet(town: Path) -> list[str]:
    """How to load this checkout's Emacs client (under emacs -Q too), as lines to print.

    The same forms as the README's snippet, with this checkout's and this town's paths.
    """
    client = Path(__file__).resolve().parents[2] / "clients" / "emacs"
    if not (client / "gastown.el").exists():  # installed from a wheel: no client alongside
        return []
    # (quote x), not 'x: the line is also printed inside a single-quoted shell argument.
    forms = (
        '(unless (locate-library "magit-section") (require (quote package)) (package-initialize) '
        '(dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*")) '
        '(add-to-list (quote load-path) dir))) '
        f'(add-to-list (quote load-path) "{client}") (require (quote gastown)) (setq gastown-town "{town}")'
    )
    return [
        "Emacs client: put this in your init file (or evaluate it; it works under emacs -Q too), then M-x gastown-dispatch:",
        f"  {forms}",
        f"  or try it now:     emacs -Q --eval '(progn {forms} (gastown-convoys))'",
    ]


def _quote(arg: str) -> str:
    import shlex

    return arg if arg and all(c.isalnum() or c in "-_./=:@," for c in arg) else shlex.quote(arg)


def _json_id(text: str) -> str:
    data = json.loads(text)
    if isinstance(data, dict):
        data = data.get("convoy", data)
        if isinstance(data, dict):
            return data["id"]
    return str(data)


def run_demo(where: Path, *, down: bool, timeout_s: float, verbose: bool = True, runtime: str = "script",
             model: str = "stub") -> dict:  # fmt: skip
    """Build, sling, land; returns the timings and results (for the benchmark and tests)."""
    demo = Demo(where, verbose=verbose, runtime=runtime, model=model)
    t0 = time.monotonic()
    up = False
    try:
        demo.say(f"Gas Town demo in {where}\n")
        demo.build()
        up = True
        demo.say("")
        t1 = time.monotonic()
        convoy, ids = demo.file_work()
        demo.sling(ids)
        demo.say("\nWaiting for the convoy to land (polecats implement, test and gt done; the Refinery merges):")
        demo.wait_for_landing(convoy, ids, timeout_s)
        demo.timed("land", t1)
        subjects = demo.report(convoy, ids)
        demo.timed("total", t0)
        return {"convoy": convoy, "beads": ids, "subjects": subjects, "timings": dict(demo.timings), "town": str(demo.town)}
    finally:
        if up and down:
            try:
                demo.down()
            except DemoFailed as exc:
                print(f"demo: {exc}", file=sys.stderr)
        demo.last = demo  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", help="where to build (must be empty or missing; default: a new temporary directory)")
    ap.add_argument("--down", action="store_true", help="take the town down at the end (and remove a temporary directory)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the convoy to land (default 180)")
    ap.add_argument("--runtime", default="script", choices=("script", "claude"),
                    help="the agents' runtime (default script; claude: real Claude Code sessions)")
    ap.add_argument("--model", default="stub", choices=("stub", "hosted"),
                    help="with --runtime claude: stub = the town's loopback model (offline, default); hosted = the "
                         "real model (export ANTHROPIC_API_KEY first, or have a claude login)")
    args = ap.parse_args(argv)
    if args.dir:
        where = Path(args.dir).resolve()
        if where.exists() and any(where.iterdir()):
            print(f"demo: error: {where} is not empty (pick a new directory)", file=sys.stderr)
            return 1
    else:
        where = Path(tempfile.mkdtemp(prefix="gastown-demo-"))
    from ..errors import GastownError

    ok = False
    try:
        result = run_demo(where, down=args.down, timeout_s=args.timeout, runtime=args.runtime, model=args.model)
        ok = True
    except (DemoFailed, GastownError, OSError) as exc:
        print(f"\ndemo: error: {exc}", file=sys.stderr)
        if not args.down:
            print(f"demo: the town is left up for a look: {where / 'town'} (gt down there to stop it)", file=sys.stderr)
        return 1
    finally:
        if args.down and not args.dir and ok:
            shutil.rmtree(where, ignore_errors=True)
    t = result["timings"]
    print(
        f"\nTimings: build {t['build']:.1f}s, gt up {t['up']:.1f}s, "
        f"file + sling + land {t['land']:.1f}s, total {t['total']:.1f}s"
    )
    if args.down:
        print("The town is down." + ("" if not args.dir else f" Its files stay in {where}."))
    else:
        print()
        print(Demo(where).instructions())
    return 0


if __name__ == "__main__":
    sys.exit(main())
