"""The offline ``script`` runtime: an agent program that follows GUPP mechanically.

Run in a tmux pane as ``python -m gastown_server.runtime.script_agent``.  Its
stdout is the pane, so everything it does is in the transcript.

On start it prints a session marker (``=== gastown session <GT_SESSION_ID> ===``,
which seance uses to find one session's part of a shared transcript), its
identity, and what ``gt prime`` shows: role, hook, unread mail.  If the hook
holds a molecule (a bead with child steps, or a bead whose ``metadata`` names
one under ``molecule``) it walks it (formula molecules through
``formulas.molecule``: ``current``, ``decide_gate``, ``skip``, ``finish``):
for each step to do now it runs the step's declared shell command
(``metadata`` ``run``, as formulas store it, or ``command``/``cmd``/``shell``),
prints the output, and closes the step; a failing command leaves the step
open with a comment and stops the walk; a step with no command is closed as
"nothing mechanical to do" (the script runtime cannot think).  When every
step is closed it finishes the molecule, closes the hooked bead and says
``done`` -- except a polecat's issue: ``gt done`` left it ``in_progress`` for
the merge, and the Refinery closes it.  When the Refinery hooks an issue
back (rework) and its recorded molecule is finished, a polecat pours a fresh
``mol-polecat-work`` for it (``work.sling.fresh_work_molecule``) and walks that.

Then it reads lines from stdin (what a nudge or a human types) and answers
``[<address>] got: <text>``; verbs: ``status``, ``hook``/``check hook`` (re-read
and walk), ``mail``, ``handoff [note]`` (runs ``gt handoff -m <note>``, as an
LLM agent would), ``quit``/``exit``.  A bad line never crashes it.

Environment: ``BD_ACTOR`` (address), ``GT_ROLE``, ``GT_RIG``, ``GT_TOWN``,
``GT_SESSION_ID``; ``GT_STEP_TIMEOUT`` (seconds, default 600).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from .transcripts import SESSION_MARK

_COMMAND_KEYS = ("run", "command", "cmd", "shell")
_MOLECULE_KEYS = ("molecule", "mol", "attached_molecule")


def _metadata(bead) -> dict:
    try:
        data = json.loads(bead.metadata or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _molecule_api():
    """``gastown_server.formulas.molecule`` when it is there (it is built alongside)."""
    try:
        from ..formulas import molecule

        return molecule
    except ImportError:
        return None


def step_command(bead) -> str:
    """The shell command a step declares ('' if none)."""
    try:
        from .. import formulas

        helper = getattr(formulas, "step_command", None)
        if helper is not None:
            return helper(bead) or ""
    except Exception:
        pass
    meta = _metadata(bead)
    for key in _COMMAND_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


class ScriptAgent:
    def __init__(self, env: dict[str, str], out=None) -> None:
        self.env = env
        self.out = out or sys.stdout
        self.address = env.get("BD_ACTOR") or env.get("GT_ROLE") or "agent"
        self.role = env.get("GT_ROLE", "")
        self.rig = env.get("GT_RIG", "")
        self.session_id = env.get("GT_SESSION_ID") or uuid.uuid4().hex[:12]
        self.step_timeout = float(env.get("GT_STEP_TIMEOUT") or 600)
        self._ledger = None
        self._failed_steps: set[str] = set()

    # -- output ------------------------------------------------------------------

    def say(self, text: str) -> None:
        for line in str(text).splitlines() or [""]:
            print(f"[{self.address}] {line}", file=self.out, flush=True)

    # -- ledger access -------------------------------------------------------------

    def ledger(self):
        if self._ledger is None:
            from ..paths import find_town_root, ledger_path

            town = self.env.get("GT_TOWN")
            root = Path(town) if town else find_town_root()
            if root is None or not ledger_path(root).exists():
                return None
            from ..beads.store import Ledger

            self._ledger = Ledger(ledger_path(root))
        return self._ledger

    def hooked(self, ledger) -> list:
        try:
            from ..work import hooks

            return list(hooks.hooked_work(ledger, self.address))
        except ImportError:
            return ledger.list(status="hooked", assignee=self.address)

    def unread_mail(self, ledger) -> list[tuple[str, str, str]]:
        """(id, sender, subject) of unread mail."""
        try:
            from ..work import hooks

            beads = hooks.unread_mail(ledger, self.address)
            return [(b.id, b.sender, b.title) for b in beads]
        except (ImportError, AttributeError):
            pass
        try:
            from ..work import mail

            return [(m.id, m.sender, m.subject) for m in mail.unread(ledger, self.address)]
        except ImportError:
            beads = ledger.list(status="open", issue_type="message", assignee=self.address)
            return [(b.id, b.sender, b.title) for b in beads]

    # -- behaviour -----------------------------------------------------------------

    def start(self, prompt: str = "") -> None:
        print(SESSION_MARK.format(id=self.session_id), file=self.out, flush=True)
        self.say(f"script agent up: role={self.role or '-'} rig={self.rig or '-'} session={self.session_id}")
        if prompt:
            self.say(f"startup prompt: {prompt}")
        self.prime()
        self.work_hook()
        self.say("ready for input")

    def prime(self) -> None:
        ledger = self.ledger()
        self.say(f"prime: I am {self.address} (role {self.role or '-'})")
        if ledger is None:
            self.say("prime: no town ledger found; nothing on my hook")
            return
        hooked = self.hooked(ledger)
        if not hooked:
            self.say("hook: empty")
        for bead in hooked:
            self.say(f"hook: {bead.id} {bead.title} ({bead.status})")
        mail = self.unread_mail(ledger)
        self.say(f"mail: {len(mail)} unread")
        for mid, sender, subject in mail:
            self.say(f"  {mid} from {sender or '?'}: {subject}")

    def work_hook(self) -> None:
        ledger = self.ledger()
        if ledger is None:
            return
        for bead in self.hooked(ledger):
            mol_id = self._molecule_of(ledger, bead)
            if mol_id not in (None, bead.id) and self.is_polecat and ledger.get(mol_id).status == "closed":
                mol_id = self._rework(ledger, bead)
            if mol_id is None:
                cmd = step_command(bead)
                if cmd:
                    if self.run_step(ledger, bead, cmd):
                        self._finish(ledger, bead.id)
                else:
                    self.say(f"hook: {bead.id} has no molecule and no command; waiting for instructions")
                continue
            self.say(f"walking molecule {mol_id}")
            if self.walk(ledger, mol_id):
                if mol_id != bead.id and ledger.get(mol_id).status not in ("closed", "tombstone"):
                    ledger.close(mol_id, actor=self.address, reason="all steps closed")
                if self.is_polecat and mol_id != bead.id:
                    # gt done left the issue in_progress for the merge: the Refinery closes it
                    # (a convoy must not land before the merge), or hooks it back for rework.
                    self.say(f"done: {bead.id} is {ledger.get(bead.id).status}; the Refinery closes it when merged")
                    continue
                self._finish(ledger, bead.id)

    @property
    def is_polecat(self) -> bool:
        return self.env.get("GT_ROLE_KIND") == "polecat" or "/polecats/" in self.address

    def _rework(self, ledger, bead) -> str:
        """The issue came back (REWORK_REQUEST, MERGE_FAILED) with its molecule finished: do it again."""
        from ..work.sling import fresh_work_molecule

        mol_id = fresh_work_molecule(ledger, bead.id, actor=self.address, town_root=self.env.get("GT_TOWN"))
        self.say(f"rework: {bead.id} is back on my hook; new work molecule {mol_id}")
        return mol_id

    def _finish(self, ledger, bead_id: str) -> None:
        if ledger.get(bead_id).status not in ("closed", "tombstone"):
            ledger.close(bead_id, actor=self.address, reason="done (script runtime)")
        self.say(f"done: {bead_id}")

    def _molecule_of(self, ledger, bead) -> str | None:
        if ledger.children(bead.id):
            return bead.id
        meta = _metadata(bead)
        for key in _MOLECULE_KEYS:
            mol = meta.get(key)
            if isinstance(mol, str) and mol and ledger.exists(mol):
                return mol
        return None

    def walk(self, ledger, mol_id: str) -> bool:
        """Run ready steps until none is left; True when the molecule is complete.

        Formula molecules (a root whose metadata names its ``formula``) are
        walked with :mod:`gastown_server.formulas.molecule`: ``current()``
        for the steps to do now (nested sub-steps included), conditional
        gates decided by ``decide_gate`` (a failed gate skips what needs it),
        ``finish()`` to close or squash the root.  Other molecules: ready
        direct children, recursively.
        """
        api = _molecule_api()
        root = ledger.get(mol_id)
        formula = api is not None and "formula" in api.meta_of(root)
        waiting: set[str] = set()
        while True:
            if formula:
                todo = api.current(ledger, mol_id)
            else:
                todo = ledger.ready(parent=mol_id, include_ephemeral=True, limit=None)
            todo = [s for s in todo if s.id not in self._failed_steps and s.id not in waiting]
            if not todo:
                break
            for step in todo:
                meta = _metadata(step)
                if formula and "gate" in meta:
                    verdict = api.decide_gate(ledger, step, root)
                    if verdict is None:
                        self.say(f"step {step.id} {step.title}: waiting on a {meta['gate'].get('type', '?')} gate")
                        waiting.add(step.id)
                    elif verdict:
                        ledger.close(step.id, actor=self.address, reason="gate passed")
                        self.say(f"step {step.id} {step.title}: gate passed")
                    else:
                        skipped = api.skip(ledger, step.id, actor=self.address, reason="gate failed")
                        self.say(f"step {step.id} {step.title}: gate failed; skipped {len(skipped)} step(s)")
                    continue
                if not formula and ledger.children(step.id):
                    if not self.walk(ledger, step.id):
                        return False
                    ledger.close(step.id, actor=self.address, reason="all sub-steps closed")
                    continue
                cmd = step_command(step)
                if not cmd:
                    self.say(f"step {step.id} {step.title}: nothing mechanical to do; closing")
                    ledger.close(step.id, actor=self.address, reason="no command (script runtime)")
                elif not self.run_step(ledger, step, cmd, root=root):
                    return False
        if formula:
            if not api.progress(ledger, mol_id).complete:
                self.say(f"molecule {mol_id}: waiting ({len(waiting)} step(s) need someone else)")
                return False
            api.finish(ledger, mol_id, actor=self.address)
            self.say(f"molecule {mol_id}: all steps closed")
            return True
        open_steps = [c for c in ledger.children(mol_id) if c.status not in ("closed", "tombstone")]
        if open_steps:
            self.say(f"molecule {mol_id}: {len(open_steps)} step(s) not closed: {', '.join(s.id for s in open_steps)}")
            return False
        self.say(f"molecule {mol_id}: all steps closed")
        return True

    def run_step(self, ledger, step, cmd: str, *, root=None) -> bool:
        self.say(f"step {step.id} {step.title}: $ {cmd}")
        env = dict(os.environ)
        if root is not None:
            # What formulas' own walker gives a step command.
            env.update(GT_MOLECULE=root.id, GT_STEP=step.id, GT_STEP_KEY=str(_metadata(step).get("step", "")))
            for name, value in (_metadata(root).get("vars") or {}).items():
                if isinstance(value, (str, int, float, bool)):
                    env["GT_VAR_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()] = str(value)
        try:
            proc = subprocess.run(
                cmd, shell=True, capture_output=True, text=True, timeout=self.step_timeout,
                stdin=subprocess.DEVNULL, env=env,
            )  # fmt: skip
            output, code = (proc.stdout + proc.stderr).rstrip(), proc.returncode
        except subprocess.TimeoutExpired:
            output, code = f"timed out after {self.step_timeout:g}s", -1
        for line in output.splitlines():
            print(line, file=self.out, flush=True)
        if code != 0:
            self._failed_steps.add(step.id)
            self.say(f"step {step.id} failed (exit {code}); leaving it open")
            ledger.add_comment(step.id, f"script runtime: `{cmd}` failed (exit {code}): {output[-500:]}", actor=self.address)
            return False
        if ledger.get(step.id).status != "closed":  # a command may close its own bead (gt plugin exec)
            ledger.close(step.id, actor=self.address, reason=f"ran `{cmd}` (exit 0)")
        self.say(f"step {step.id} closed")
        return True

    def handle(self, line: str) -> bool:
        """React to one typed line; False means quit."""
        text = line.strip()
        if not text:
            return True
        self.say(f"got: {text}")
        verb, _, rest = text.partition(" ")
        verb = verb.lower()
        if verb in ("quit", "exit"):
            self.say("bye")
            return False
        if verb == "status":
            self.say(f"status: {self.address} role={self.role or '-'} session={self.session_id}")
            self.prime()
        elif verb == "hook" or text.lower() == "check hook":
            self._failed_steps.clear()
            self.prime()
            self.work_hook()
        elif verb in ("mail", "inbox"):
            ledger = self.ledger()
            mail = self.unread_mail(ledger) if ledger is not None else []
            self.say(f"mail: {len(mail)} unread")
            for mid, sender, subject in mail:
                self.say(f"  {mid} from {sender or '?'}: {subject}")
        elif verb == "handoff":
            note = rest.strip() or "handoff requested by nudge"
            self.say(f"handing off: {note}")
            proc = subprocess.run(["gt", "handoff", "-m", note], capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                self.say(f"handoff failed: {(proc.stderr or proc.stdout).strip()}")
        return True


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="script-agent", description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", default="", help="startup prompt (printed)")
    args = parser.parse_args(argv)
    sys.stdin.reconfigure(errors="replace")  # type: ignore[union-attr]
    agent = ScriptAgent(dict(os.environ))

    def on_term(signum, frame):
        agent.say("stopping (SIGTERM)")
        raise Terminated

    signal.signal(signal.SIGTERM, on_term)
    try:
        return _live(agent, args.prompt)
    except Terminated:
        return 0


class Terminated(BaseException):
    """SIGTERM.  Not a SystemExit: a patrol step running ``gt`` in this process
    catches those (argparse exits), and the agent must still stop."""


def _live(agent: ScriptAgent, prompt: str) -> int:
    try:
        agent.start(prompt)
    except Exception as exc:  # a broken ledger must not kill the agent
        agent.say(f"error during start: {type(exc).__name__}: {exc}")
    from . import script_patrol  # idle Deacon/Witness/Refinery patrol by themselves

    code = script_patrol.run(agent)
    if code is not None:
        return code
    while True:
        try:
            line = sys.stdin.readline()
        except KeyboardInterrupt:
            return 0
        if not line:
            return 0
        try:
            if not agent.handle(line):
                return 0
        except Exception as exc:
            agent.say(f"error: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
