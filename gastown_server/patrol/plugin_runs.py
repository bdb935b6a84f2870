"""Running town plugins: the Deacon dispatches, a dog executes and records.

:func:`dispatch_due` is the Deacon patrol's ``plugins`` step (``gt deacon
plugins``): every plugin whose gate is open and that has no open run gets a
run bead (ephemeral, labels ``plugin-run`` and ``plugin:<name>``, the
plugin's instructions as its description) hooked on an idle dog
(:func:`gastown_server.town.dogs.pick_idle`: a live one first, else a
stopped one that is started, else a new ``alpha``); a live dog is nudged to
check its hook.  Checking for an open run, creating the bead and hooking it
is one transaction, so two Deacons never dispatch the same plugin twice.

The run bead declares ``gt plugin exec <run>`` as its command (metadata
``run``): the script runtime's dog runs it mechanically, as it runs any
hooked bead's command; an LLM dog reads the instructions and may run it
too.  :func:`execute` runs the plugin's ``run`` command in the dog's working
directory under the plugin's timeout, then :func:`record` closes the bead
with ``result:<success|failure|skipped>``, the output's tail in ``notes``,
and on failure mails the Deacon (``PLUGIN_FAILED <name>``), all in one
transaction.  The dog is idle again once the bead leaves its hook.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import msgspec

from ..beads import clock
from ..errors import Conflict, InvalidInput, NotFound
from ..work import gates
from . import plugins as P
from .witness import StepReport

DEACON = "deacon"
IN_PROGRESS = "in_progress"
#: A run is recorded by the exec that claimed it (in_progress), or directly by a dog that did
#: the work itself (an LLM dog following the instructions: still hooked).
RECORDABLE = ("hooked", IN_PROGRESS)
PLUGIN_FAILED = "PLUGIN_FAILED"
#: Closed run records kept per plugin (older ones are purged when the Deacon dispatches).
KEEP_RUNS = 20
#: What ``notes`` keeps of a run's output.
TAIL_LINES = 40
TAIL_CHARS = 4000
#: How long past its timeout an open run whose dog has no live session is kept before it is abandoned.
STRANDED_GRACE_S = 60.0
#: How often a dispatcher picks another idle dog when the one it picked was taken meanwhile.
PICK_ATTEMPTS = 5


class DogTaken(Conflict):
    """The dog picked for a run is gone or working by the time the run is made."""


class DispatchResult(msgspec.Struct, omit_defaults=False):
    plugin: str
    run: str
    dog: str
    #: ``started`` (the dog's session was started), ``nudged``, ``queued`` or ``idle``.
    session_status: str


class RunResult(msgspec.Struct, omit_defaults=False):
    run: str
    plugin: str
    result: str
    exit_code: int
    duration_s: float
    output_tail: str
    #: The mail sent to the Deacon on failure ("" otherwise).
    mail: str = ""


def _run_title(name: str) -> str:
    return f"plugin run: {name}"


def _description(plugin: P.Plugin) -> str:
    head = [
        f"Run town plugin `{plugin.name}` ({plugin.path}).",
        f"Command: `{plugin.run}` (gt plugin exec <this bead> runs it and records the result)" if plugin.run
        else "No command: follow the instructions below, then gt plugin record <this bead> success|failure.",
        f"Timeout: {plugin.timeout_s:g}s",
        "",
    ]
    return "\n".join(head) + (plugin.instructions or "(no instructions)")


def check_dispatchable(ledger, plugin: P.Plugin, *, force: bool = False) -> None:
    """Conflict if ``plugin`` has an open run, or (without ``force``) its cooldown has not passed."""
    records = P.runs(ledger, plugin.name)
    current = P.open_run(records)
    if current is not None:
        raise Conflict(
            f"plugin {plugin.name} already has an open run {current.id} on {current.assignee or 'nobody'}'s hook "
            f"(bd close {current.id} if it is stuck)"
        )
    due = P.next_due(plugin, records)
    if not force and due not in ("now", "manual"):
        raise Conflict(f"plugin {plugin.name} is cooling down until {due}: gt plugin run {plugin.name} --force")


def create_run(town, plugin: P.Plugin, dog_address: str, *, actor: str, force: bool = False) -> str:
    """The run bead, hooked on ``dog_address``, in one transaction; Conflict if a run is open
    (or, without ``force``, if the gate is closed); :class:`DogTaken` if the dog is gone or
    already working (picked outside the transaction: a racing dispatcher or ``gt dog remove``)."""
    from ..town import dogs
    from ..work import hooks

    ledger = town.ledger
    with ledger.mutation("plugin_dispatched", actor, "", {"plugin": plugin.name, "dog": dog_address}) as rec:
        check_dispatchable(ledger, plugin, force=force)  # again, inside the transaction: racing Deacons
        name = dog_address.rsplit("/", 1)[-1]
        if dog_address.startswith("deacon/dogs/") and not ledger.exists(f"hq-dog-{name}"):
            raise DogTaken(f"dog {dog_address} no longer exists")
        busy = dogs.current_work(ledger, dog_address)
        if busy:
            raise DogTaken(f"dog {dog_address} is already working ({', '.join(b.id for b in busy)})")
        bead = ledger.create(
            _run_title(plugin.name), actor=actor, description=_description(plugin), issue_type="task",
            labels=[P.RUN_LABEL, f"plugin:{plugin.name}"], ephemeral=True,
        )  # fmt: skip
        meta = {"plugin": plugin.name, "plugin_path": plugin.path, "timeout_s": plugin.timeout_s,
                "run": f"gt plugin exec {bead.id}"}  # fmt: skip
        ledger.update(bead.id, actor=actor, metadata=msgspec.json.encode(meta).decode())
        hooks.hook(ledger, bead.id, dog_address, actor=actor)
        rec.bead_id = bead.id
    return bead.id


def dispatch(town, plugin: P.Plugin, *, actor: str, force: bool = False) -> DispatchResult:
    """Put a run of ``plugin`` on an idle dog's hook and wake the dog; Conflict when it cannot."""
    from ..town import dogs

    check_dispatchable(town.ledger, plugin, force=force)
    for _ in range(PICK_ATTEMPTS):
        ident, alive = dogs.pick_idle(town, actor=actor)
        if ident is None:
            check_dispatchable(town.ledger, plugin, force=force)  # a racing dispatcher may have just run it
            busy = ", ".join(f"{d.name} ({','.join(d.hook)})" for d in dogs.status(town))
            raise Conflict(f"every dog is working ({busy}): wait, or add one with gt dog add <name>")
        try:
            run = create_run(town, plugin, ident.address, actor=actor, force=force)
            break
        except DogTaken:
            continue  # another dispatcher took it (or it was removed) since we picked it: pick again
    else:
        raise Conflict(f"no idle dog stayed idle for plugin {plugin.name} ({PICK_ATTEMPTS} tries): try again")
    return DispatchResult(plugin.name, run, ident.address, _wake(town, ident, run, alive=alive, actor=actor, plugin=plugin))


def _sandbox_lacks(town, session: str, plugin: P.Plugin) -> list[str]:
    """The plugin's declared writes that ``session``'s recorded sandbox does not bind (it predates them)."""
    if not plugin.writes:
        return []
    from ..sandbox.launch import recorded
    from .plugin_writes import uncovered

    info = recorded(Path(town.root), session)
    if info is None or not info.enabled:
        return []
    return uncovered(town, plugin, info.rw)


def _wake(town, ident, run: str, *, alive: bool, actor: str, plugin: P.Plugin | None = None) -> str:
    from ..errors import GastownError
    from ..town.lifecycle import start_agent

    if alive and plugin is not None and _sandbox_lacks(town, ident.session, plugin):
        # Its sandbox was made before the plugin declared what it writes: a fresh session binds it
        # (the run is on its hook: the restarted dog works it, GUPP).
        try:
            return "restarted (sandbox) " + start_agent(town, ident, actor=actor, replace=True).status
        except (GastownError, OSError) as exc:
            return f"not restarted ({getattr(exc, 'message', exc)})"
    if not alive:
        try:
            return start_agent(town, ident, actor=actor).status
        except (GastownError, OSError) as exc:
            # The run stays hooked: the daemon revives a dog whose bead says running, or gt dog start.
            return f"not started ({getattr(exc, 'message', exc)})"
    from ..runtime import nudge

    message = f"hook {run}: plugin run dispatched by {actor}. Run it (GUPP): gt hook, then work it."
    try:
        res = nudge.nudge(town.tmux, ident.session, message, state_dir=town.state_dir, idle_s=town.config.nudge.idle_s,
                          timeout_s=min(town.config.nudge.timeout_s, 10.0), sender=actor)  # fmt: skip
    except (GastownError, OSError):
        return "idle"
    return "nudged" if res.status == "delivered" else res.status


def dispatch_due(town, *, actor: str = DEACON, stranded_grace_s: float = STRANDED_GRACE_S) -> StepReport:
    """The Deacon's ``plugins`` step: pick up stranded runs (:func:`recover_stranded`), then dispatch
    every due plugin; broken plugin files are one line each."""
    from . import state

    report = StepReport(step="plugins", rig="")
    recovered = recover_stranded(town, actor=actor, grace_s=stranded_grace_s)
    report.actions += recovered
    report.acted = bool(recovered)
    good, bad = P.load_all(town.root)
    report.actions += [exc.message for exc in bad]
    if not good and not bad:
        report.actions.append("no town plugins")
        return report  # stranded runs of deleted plugins still age out above
    by_plugin: dict[str, list[P.RunRecord]] = {}
    for rec in P.runs(town.ledger):
        by_plugin.setdefault(rec.plugin, []).append(rec)
    waiting = []
    for plugin in good:
        records = by_plugin.get(plugin.name, [])
        _prune(town, records, actor=actor)
        due = P.next_due(plugin, records)
        if due != "now":
            if due == "running":
                waiting.append(f"{plugin.name} (running {P.open_run(records).id})")
            continue
        try:
            res = dispatch(town, plugin, actor=actor)
        except Conflict as exc:
            report.actions.append(f"plugin {plugin.name} is due but not dispatched: {exc.message}")
            continue
        report.actions.append(f"plugin {plugin.name}: run {res.run} on {res.dog}'s hook ({res.session_status})")
        report.acted = True
    if waiting:
        report.actions.append("still running: " + ", ".join(waiting))
    if not report.actions or report.actions == recovered:
        report.actions.append(f"{len(good)} plugin(s): none due")
    if report.acted:
        state.mark_acted(town.root, DEACON)
    return report


def recover_stranded(town, *, actor: str = DEACON, grace_s: float = STRANDED_GRACE_S) -> list[str]:
    """Runs whose dog has no live session: a claim whose exec is dead goes back on the hook and
    the dog is started again (it runs it); a run open past its timeout + ``grace_s`` is closed
    ``result:abandoned`` (its command killed), so the plugin can be dispatched again."""
    from ..errors import GastownError
    from ..town import dogs
    from ..town.identity import dog_identity
    from ..town.lifecycle import start_agent

    ledger = town.ledger
    stranded = [r for r in P.runs(ledger) if r.open]
    if not stranded:
        return []
    live = {d.address: d.alive for d in dogs.status(town)}
    now = time.time()
    actions, started = [], set()
    for rec in stranded:
        if live.get(rec.assignee):
            continue
        bead = ledger.get(rec.id)
        meta = _metadata(bead)
        timeout = float(meta.get("timeout_s") or 0) or P.parse_duration(P.DEFAULT_TIMEOUT)
        since = clock.parse(meta.get("claimed_at") or rec.created_at).timestamp()
        where = f"{rec.assignee or 'no dog'} has no live session"
        if now - since > timeout + grace_s:
            with contextlib.suppress(Conflict, NotFound):
                abandon(town, rec.id, f"open past its {timeout:g}s timeout, {where}", actor=actor)
                actions.append(f"plugin run {rec.id}: abandoned (open past its {timeout:g}s timeout, {where})")
            continue
        if bead.status == IN_PROGRESS:
            if _claimer_alive(meta) or not release(town, rec.id, actor=actor):
                continue
        if rec.assignee in live and rec.assignee not in started:
            started.add(rec.assignee)
            ident = dog_identity(town.root, rec.assignee.rsplit("/", 1)[-1])
            try:
                status = start_agent(town, ident, actor=actor).status
            except (GastownError, OSError) as exc:
                status = f"not started ({getattr(exc, 'message', exc)})"
            else:
                status = "started again" if status == "started" else status
            actions.append(f"plugin run {rec.id}: dog {rec.assignee} {status}")
    return actions


def release(town, run_id: str, *, actor: str) -> bool:
    """Put a claimed run whose exec died back on its dog's hook (its command killed first)."""
    gates.kill_leftover(gate_record_path(town, run_id))
    ledger = town.ledger
    with ledger.mutation("plugin_run_released", actor, run_id, {}):
        bead = ledger.get(run_id)
        if bead.status != IN_PROGRESS:
            return False
        meta = {k: v for k, v in _metadata(bead).items() if not k.startswith("claimed_")}
        ledger.update(run_id, actor=actor, status="hooked", metadata=msgspec.json.encode(meta).decode())
    return True


def abandon(town, run_id: str, why: str, *, actor: str) -> None:
    """Close an open run ``result:abandoned`` (its command killed first) and free its dog's hook."""
    gates.kill_leftover(gate_record_path(town, run_id))
    ledger = town.ledger
    with ledger.mutation("plugin_run_abandoned", actor, run_id, {"why": why}):
        bead, _ = require_run(ledger, run_id)
        ledger.add_label(run_id, "result:abandoned", actor=actor)
        ledger.close(run_id, actor=actor, reason=f"abandoned: {why}")
        _free_dog(ledger, bead, run_id, actor=actor)


def _free_dog(ledger, bead, run_id: str, *, actor: str) -> None:
    agent = f"hq-dog-{bead.assignee.rsplit('/', 1)[-1]}" if bead.assignee.startswith("deacon/dogs/") else ""
    if agent and ledger.exists(agent) and ledger.get(agent).hook_bead == run_id:
        ledger.update(agent, actor=actor, hook_bead="")


def _process_start(pid: int) -> str:
    """The kernel's start time of ``pid`` ("" if it is gone): a pid with it names one process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return "" if fields[0] == b"Z" else fields[19].decode()


def _claimer_alive(meta: dict) -> bool:
    pid = meta.get("claimed_pid")
    if not isinstance(pid, int):
        return True  # claimed elsewhere (or by an older gt): only the timeout tells
    return _process_start(pid) == meta.get("claimed_start")


def _prune(town, records: list[P.RunRecord], *, actor: str) -> None:
    closed = [r.id for r in records if not r.open]
    if len(closed) > KEEP_RUNS:
        town.ledger.purge(closed[: len(closed) - KEEP_RUNS], actor=actor, kind="plugin_runs_pruned")


# -- the dog's side ------------------------------------------------------------------------


def require_run(ledger, run_id: str):
    if not ledger.exists(run_id):
        raise NotFound(f"no plugin run {run_id!r} (see gt plugin list, gt hook)")
    bead = ledger.get(run_id)
    labels = ledger.labels(run_id)
    if P.RUN_LABEL not in labels:
        raise InvalidInput(f"{run_id} is not a plugin run (no {P.RUN_LABEL} label)")
    if bead.status == "closed":
        result = next((lab[7:] for lab in labels if lab.startswith("result:")), "?")
        raise Conflict(f"plugin run {run_id} is already closed (result {result})")
    name = next((lab[7:] for lab in labels if lab.startswith("plugin:")), "")
    return bead, name


def execute(town, run_id: str, *, actor: str, cwd: str | None = None) -> RunResult:
    """Claim run bead ``run_id``, run the plugin's command and :func:`record` what happened."""
    bead, name = claim(town, run_id, actor=actor)
    try:
        plugin = P.load(town.root, name)
    except (InvalidInput, NotFound) as exc:
        return record(town, run_id, "failure", exc.message, actor=actor, exit_code=-1, detail="plugin unusable")
    if not plugin.run:
        return record(town, run_id, "skipped", "", actor=actor, detail="no run command, nothing mechanical to do "
                      "(an LLM dog follows the instructions and records the result with gt plugin record)")  # fmt: skip
    session = os.environ.get("GT_SESSION", "")
    lacks = _sandbox_lacks(town, session, plugin) if os.environ.get("GT_SANDBOX") and session else []
    if lacks:
        why = (f"this dog's sandbox does not bind {', '.join(lacks)} (declared in [sandbox] writes after the dog "
               f"started, or refused: a rig, a symlink): restart the dog (gt dog stop/start)")  # fmt: skip
        return record(town, run_id, "failure", why, actor=actor, exit_code=-1, detail="sandbox lacks declared writes")
    workdir = Path(cwd or _workdir(town, bead.assignee))
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GT_TOWN=str(town.root), GT_PLUGIN=plugin.name, GT_PLUGIN_DIR=str(plugin.dir),
               GT_PLUGIN_RUN=run_id)  # fmt: skip
    started = time.monotonic()
    gate_record = gate_record_path(town, run_id)
    gate_record.parent.mkdir(parents=True, exist_ok=True)
    code, output = run_command(plugin.run, cwd=workdir, env=env, timeout_s=plugin.timeout_s, record=gate_record)
    elapsed = time.monotonic() - started
    result = "success" if code == 0 else "failure"
    how = f"timed out after {plugin.timeout_s:g}s" if code is None else f"exit {code}"
    return record(town, run_id, result, output, actor=actor, exit_code=-1 if code is None else code,
                  duration_s=elapsed, detail=f"{how} in {elapsed:.1f}s")  # fmt: skip


def claim(town, run_id: str, *, actor: str):
    """Move run ``run_id`` from ``hooked`` to ``in_progress`` in one transaction: of two execs
    of one run (the dog's and a revived dog's or a human's) only one runs the command."""
    ledger = town.ledger
    with ledger.mutation("plugin_run_claimed", actor, run_id, {}):
        bead, name = require_run(ledger, run_id)
        meta = _metadata(bead)
        if bead.status == IN_PROGRESS:
            since = f" since {meta['claimed_at']}" if meta.get("claimed_at") else ""
            raise Conflict(f"plugin run {run_id} is already being run by {meta.get('claimed_by') or bead.assignee}"
                           f"{since} (bd close {run_id} if it is stuck)")  # fmt: skip
        meta.update(claimed_by=actor, claimed_at=clock.now(), claimed_pid=os.getpid(),
                    claimed_start=_process_start(os.getpid()))  # fmt: skip
        bead = ledger.update(run_id, actor=actor, status=IN_PROGRESS, metadata=msgspec.json.encode(meta).decode())
    return bead, name


def _metadata(bead) -> dict:
    try:
        meta = msgspec.json.decode(bead.metadata or "{}")
    except msgspec.DecodeError:
        return {}
    return meta if isinstance(meta, dict) else {}


def gate_record_path(town, run_id: str) -> Path:
    """Where a running plugin command is recorded (:func:`gastown_server.work.gates.kill_leftover`)."""
    return Path(town.state_dir) / "plugin-runs" / f"{run_id}.gate"


def _workdir(town, assignee: str) -> str:
    try:
        ident = town.identity(assignee)
    except Exception:  # noqa: BLE001 - not an agent address: run where the caller is
        return os.getcwd()
    return ident.cwd


def run_command(
    cmd: str, *, cwd: Path, env: dict[str, str], timeout_s: float, record: Path | None = None
) -> tuple[int | None, str]:
    """(exit code or None on timeout, combined output).  Run as a merge gate is: its own
    process group, killed whole (with whatever carries its token) on timeout, when it ends and
    when the dog running it is stopped; ``record`` lets a later patrol end it after a SIGKILL."""
    from ..work import gates

    res = gates.run_gate(gates.Gate(run=cmd, timeout=timeout_s), cwd, env, record=record, tail_lines=TAIL_LINES)
    return (None if res.timed_out else res.returncode), res.output_tail


def tail(output: str) -> str:
    lines = output.splitlines()[-TAIL_LINES:]
    text = "\n".join(lines)
    return text[-TAIL_CHARS:]


def record(
    town, run_id: str, result: str, output: str = "", *, actor: str, exit_code: int = 0, duration_s: float = 0.0,
    detail: str = "",
) -> RunResult:
    """Close run ``run_id`` with ``result``: label, reason, output tail in notes; a failure mails the Deacon."""
    from ..work import mail

    if result not in P.RESULTS[:3]:
        raise InvalidInput(f"result must be success, failure or skipped, not {result!r}")
    ledger = town.ledger
    out_tail = tail(output)
    with ledger.mutation("plugin_run_recorded", actor, run_id, {"result": result, "exit_code": exit_code}):
        bead, name = require_run(ledger, run_id)
        if bead.status not in RECORDABLE:
            raise Conflict(f"plugin run {run_id} is {bead.status}, not on a hook or being run: nothing to record")
        reason = f"{result}: {detail}" if detail else f"{result} (recorded by {actor})"
        ledger.update(run_id, actor=actor, notes=out_tail)
        ledger.add_label(run_id, f"result:{result}", actor=actor)
        ledger.close(run_id, actor=actor, reason=reason)
        _free_dog(ledger, bead, run_id, actor=actor)
        sent = ""
        if result == "failure":
            body = (f"Plugin: {name}\nRun: {run_id}\nDog: {bead.assignee or actor}\nResult: {reason}\n\n"
                    f"Output (tail):\n{out_tail or '(none)'}")  # fmt: skip
            sent = mail.send(ledger, DEACON, f"{PLUGIN_FAILED} {name}", body, actor=_sender(actor), priority=1).id
    return RunResult(run_id, name, result, exit_code, round(duration_s, 3), out_tail, sent)


def _sender(actor: str) -> str:
    from ..work.mail import normalize_address

    try:
        return normalize_address(actor)
    except InvalidInput:
        return DEACON
