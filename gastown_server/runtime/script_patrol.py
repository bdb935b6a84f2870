"""The script runtime's patrol loop: an idle Deacon, Witness or Refinery patrols by itself.

After the script agent has primed and worked its hook, a patrol role
(``GT_ROLE_KIND`` deacon, witness, refinery) loops:

1. handle the lines typed into its pane (nudges; ``quit`` ends it);
2. work its hook first if something is on it (GUPP);
3. resume its unfinished patrol wisp (a crashed predecessor's: NDI) or pour
   a fresh one (``mol-<role>-patrol`` as a wisp, vars from the town's
   patrol settings);
4. walk it: conditional gates decided, each step's ``run`` executed and the
   step closed; the backoff step is done by the loop itself: it computes the
   delay (``patrol.backoff.compute``) and waits on its input, so a nudge
   wakes it early;
5. squash the wisp into a digest when the cycle acted, burn it when it did
   not (an idle town's ledger does not grow by a digest per cycle).

Step commands that are ``gt`` patrol words run in this process (``gt``'s own
``main`` with captured output: ~80 ms of interpreter start saved per step,
several steps per cycle); anything else runs with ``sh -c``.  A failing step
is printed, the wisp burned, and the next cycle starts after the interval.

Off with ``GT_PATROL=0`` or ``"patrol": {"enabled": false}`` in the town config.
"""

from __future__ import annotations

import io
import os
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
from contextlib import redirect_stderr, redirect_stdout

FORMULAS = {"deacon": "mol-deacon-patrol", "witness": "mol-witness-patrol", "refinery": "mol-refinery-patrol"}
#: ``gt`` words whose commands are safe to run inside the patrol process.
IN_PROCESS = {"patrol", "deacon", "boot", "witness", "refinery", "mq", "convoy"}
_SHELL_META = re.compile(r"[;&|<>`$(){}\\\n]")
_BACKOFF = re.compile(r"^gt\s+patrol\s+backoff\b")


class _Quit(Exception):
    pass


def patrol_kind(env: dict[str, str]) -> str:
    kind = env.get("GT_ROLE_KIND", "")
    return kind if kind in FORMULAS else ""


def run(agent) -> int | None:
    """Patrol until told to quit (returns the exit code); None when patrolling is off."""
    kind = patrol_kind(agent.env)
    if not kind:
        return None
    try:
        from ..town.core import open_town
        from ..patrol.settings import patrol_settings

        town = open_town(agent.env.get("GT_TOWN") or None)
        settings = patrol_settings(town)
        town.close()
    except Exception as exc:  # noqa: BLE001 - no town, bad config: say so, stay a plain agent
        agent.say(f"patrol: not started ({type(exc).__name__}: {getattr(exc, 'message', exc)})")
        return None
    if not settings.enabled:
        agent.say("patrol: disabled (town config patrol.enabled / GT_PATROL)")
        return None
    return PatrolLoop(agent, kind, interval_s=settings.interval_s).run()


class PatrolLoop:
    def __init__(self, agent, kind: str, *, interval_s: float = 5.0) -> None:
        self.agent = agent
        self.interval_s = interval_s
        self.kind = kind
        self.rig = agent.env.get("GT_RIG", "")
        self.formula = FORMULAS[kind]
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.cycles = 0
        self.acted = False
        self._hooked_seen: tuple[str, ...] = ()
        self._input = sys.stdin

    # -- input ----------------------------------------------------------------------

    def _reader(self) -> None:
        while True:
            try:
                line = self._input.readline()
            except (OSError, ValueError):
                line = ""
            self.lines.put(line or None)
            if not line:
                return

    def pump(self, timeout: float = 0.0) -> bool:
        """Handle pending input, waiting up to ``timeout`` for the first line; True if a line came."""
        got = False
        deadline = time.monotonic() + timeout
        while True:
            wait = max(0.0, deadline - time.monotonic())
            try:
                line = self.lines.get(timeout=wait) if wait > 0 and not got else self.lines.get_nowait()
            except queue.Empty:
                return got
            if line is None:
                raise _Quit
            got = True
            try:
                if not self.agent.handle(line):
                    raise _Quit
            except _Quit:
                raise
            except Exception as exc:  # noqa: BLE001 - a bad line never kills the agent
                self.agent.say(f"error: {type(exc).__name__}: {exc}")

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> int:
        # Patrol steps start and nudge other sessions.  A tmux client whose
        # stdin is a pane's tty (or that sees TMUX/TMUX_PANE) takes that pane as
        # its default target: `pipe-pane` and options of a session being started
        # would land on our own pane.  So the pane's tty moves to a private fd
        # read by the input thread, and fd 0 becomes /dev/null for every child.
        for var in ("TMUX", "TMUX_PANE"):
            os.environ.pop(var, None)
        try:
            tty_fd = os.dup(0)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
            self._input = os.fdopen(tty_fd, "r", encoding="utf-8", errors="replace")
        except OSError:
            self._input = sys.stdin
        threading.Thread(target=self._reader, name="stdin", daemon=True).start()
        self.agent.say(f"patrol: {self.formula}{' over rig ' + self.rig if self.rig else ''}")
        try:
            while True:
                self.pump()
                try:
                    ok = self.cycle()
                except _Quit:
                    raise
                except Exception as exc:  # noqa: BLE001 - a broken cycle must not end the patrol
                    self.agent.say(f"patrol: cycle failed: {type(exc).__name__}: {getattr(exc, 'message', exc)}")
                    self.agent._ledger = None
                    ok = False
                if not ok:
                    self.pump(timeout=self._interval())
        except _Quit:
            return 0

    def _interval(self) -> float:
        """Pause after a failed cycle (at least a second: a failing step must not spin)."""
        return max(1.0, self.interval_s)

    def _vars(self) -> dict:
        from ..patrol.settings import patrol_settings
        from ..town.core import open_town

        with open_town(self.agent.env.get("GT_TOWN") or None) as town:
            s = patrol_settings(town)
        if self.kind == "witness":
            return {"rig": self.rig, "stuck_after": round(s.stuck_after_s / 60.0, 4)}
        if self.kind == "refinery":
            return {"rig": self.rig}
        return {"backoff_max": int(max(1, s.max_backoff_s))}

    def cycle(self) -> bool:
        ledger = self.agent.ledger()
        if ledger is None:
            self.agent.say("patrol: no town ledger")
            return False
        hooked = tuple(b.id for b in self.agent.hooked(ledger))
        if hooked and hooked != self._hooked_seen:
            self._hooked_seen = hooked
            self.agent.work_hook()
        root = self._resume_or_pour(ledger)
        self.cycles += 1
        self.acted = False
        os.environ["GT_MOLECULE"] = root.id
        ok = self.walk(ledger, root)
        from ..formulas import molecule

        if not ok:
            molecule.burn(ledger, root.id, actor=self.agent.address)
            self.agent.say(f"patrol: cycle {self.cycles} stopped; wisp {root.id} burned")
            return False
        if not molecule.progress(ledger, root.id).complete:
            return False
        if self.acted:
            digest = molecule.squash(ledger, root.id, actor=self.agent.address)
            self.agent.say(f"patrol: cycle {self.cycles} acted; squashed into {digest.id}")
        else:
            molecule.burn(ledger, root.id, actor=self.agent.address)
        return True

    def _resume_or_pour(self, ledger):
        from ..formulas import molecule
        from ..formulas.service import cook_named

        mine = [
            b for b in molecule.molecules_of(ledger, self.agent.address)
            if b.ephemeral and molecule.meta_of(b).get("formula") == self.formula
        ]  # fmt: skip
        if mine:
            keep = mine[-1]
            for stale in mine[:-1]:
                molecule.burn(ledger, stale.id, actor=self.agent.address)
            if self.cycles == 0:
                self.agent.say(f"patrol: resuming wisp {keep.id}")
            return keep
        proto = cook_named(self.formula, self._vars(), town=_town_root(self.agent.env), rig=self.rig or None)
        return molecule.pour(ledger, proto, actor=self.agent.address, wisp=True, assignee=self.agent.address)

    def walk(self, ledger, root) -> bool:
        from ..formulas import molecule

        actor = self.agent.address
        while True:
            todo = molecule.current(ledger, root.id)
            if not todo:
                return True
            for step in todo:
                self.pump()
                meta = molecule.meta_of(step)
                gate = meta.get("gate")
                if gate:
                    verdict = self._gate(ledger, step, root, gate)
                    if verdict is None:
                        self.agent.say(f"patrol: step {step.id} waits on a {gate.get('type', '?')} gate")
                        return False
                    if verdict:
                        ledger.close(step.id, actor=actor, reason="gate passed")
                    else:
                        molecule.skip(ledger, step.id, actor=actor, reason="gate failed")
                    continue
                cmd = (meta.get("run") or "").strip()
                if not cmd:
                    ledger.close(step.id, actor=actor, reason="no command (script runtime)")
                    continue
                if _BACKOFF.match(cmd):
                    self._backoff(cmd)
                    ledger.close(step.id, actor=actor, reason="backed off")
                    continue
                code, output = self._command(cmd, root)
                if code != 0:
                    self.agent.say(f"patrol: step {meta.get('step', step.id)} failed (exit {code}): $ {cmd}")
                    for line in output.splitlines()[-10:]:
                        self.agent.say(f"  {line}")
                    return False
                lines = [ln for ln in output.splitlines() if ln.strip() and "nothing to do" not in ln]
                for line in lines:
                    self.agent.say(f"{meta.get('step', '')}: {line}")
                ledger.close(step.id, actor=actor, reason=f"ran `{cmd}`")

    def _gate(self, ledger, step, root, gate: dict) -> bool | None:
        from ..formulas import molecule

        run_cmd = (gate.get("run") or "").strip()
        if gate.get("type", "conditional") == "conditional" and run_cmd and self._in_process(run_cmd):
            return self._command(run_cmd, root)[0] == 0
        return molecule.decide_gate(ledger, step, root)

    def _backoff(self, cmd: str) -> None:
        """The backoff step, done here: decide the delay, then wait on input (a nudge wakes us)."""
        from ..patrol import backoff
        from ..town.core import open_town

        argv = shlex.split(cmd)[3:]
        role = argv[0] if argv else self.kind
        max_s = None
        if "--max" in argv:
            try:
                max_s = float(argv[argv.index("--max") + 1])
            except (IndexError, ValueError):
                max_s = None
        with open_town(self.agent.env.get("GT_TOWN") or None) as town:
            decision = backoff.compute(town, role, self.rig if role != "deacon" else "", max_s=max_s)
            self.acted = decision.acted
            woke = backoff.wait(town, decision, pause=lambda s: self.pump(timeout=s)) if decision.delay_s > 0 else ""
        if woke == "input":
            self.agent.say("patrol: woken by input")
        elif woke:
            self.agent.say(f"patrol: woken: {woke}")

    # -- running commands -------------------------------------------------------------------

    def _in_process(self, cmd: str) -> bool:
        if _SHELL_META.search(cmd):
            return False
        argv = shlex.split(cmd)
        return len(argv) >= 2 and argv[0] == "gt" and argv[1] in IN_PROCESS

    def _command(self, cmd: str, root) -> tuple[int, str]:
        if self._in_process(cmd):
            return _run_gt(shlex.split(cmd)[1:])
        env = dict(os.environ, GT_MOLECULE=root.id)
        try:
            proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                  env=env, timeout=self.agent.step_timeout)  # fmt: skip
        except subprocess.TimeoutExpired:
            return -1, f"timed out after {self.agent.step_timeout:g}s"
        return proc.returncode, (proc.stdout + proc.stderr).rstrip()


def _town_root(env: dict[str, str]):
    from pathlib import Path

    return Path(env["GT_TOWN"]) if env.get("GT_TOWN") else None


def _run_gt(argv: list[str]) -> tuple[int, str]:
    """``gt <argv>`` in this process, output captured."""
    from ..cli import gt as gt_cli

    buf = io.BytesIO()
    text = io.TextIOWrapper(buf, encoding="utf-8", errors="replace", write_through=True)
    with redirect_stdout(text), redirect_stderr(text):
        try:
            code = gt_cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        text.flush()
    return int(code or 0), buf.getvalue().decode("utf-8", "replace").rstrip()
