"""``gt patrol|deacon|boot|witness``: the patrol formulas' step commands.

Thin over :mod:`gastown_server.patrol` (witness, deacon, backoff, boot).
They run every patrol cycle, so each opens the town once and imports only
what its step needs.  Every one prints what it did (``--json``: the report)
and exits 0; bad input is one ``gt: error:`` line and exit 1.
"""

from __future__ import annotations

from .framework import Registry, arg

COMMANDS = Registry()

_RIG = arg("--rig", help="rig name (default: $GT_RIG, else the town's only rig)")
WITNESS_STEPS = ("inbox", "sweep", "nudge-stuck", "stalls", "recycle-dead", "check-refinery", "cleanup")


def _town():
    from ..town.core import open_town

    return open_town()


def _rig_name(town, name: str | None) -> str:
    from ..town.rigs import require_rig

    return require_rig(town, name).name


def _emit(ctx, report) -> int:
    if ctx.json:
        ctx.emit_json(report)
        return 0
    for p in report.polecats:
        hook = ",".join(p.hook) or "-"
        quiet = f"{p.quiet_s:.0f}s" if p.quiet_s >= 0 else "-"
        extra = f" ({p.reason})" if p.reason else ""
        ctx.out(f"{p.address:<32} {p.verdict:<8} hook={hook} quiet={quiet}{extra}")
    for line in report.actions:
        ctx.out(line)
    if not report.polecats and not report.actions:
        ctx.out(f"{report.step}: nothing to do")
    return 0


def _minutes(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if value < 0:
        raise argparse.ArgumentTypeError("minutes must not be negative")
    return value


# -- gt patrol witness ------------------------------------------------------------------


@COMMANDS.command(
    "patrol witness", "One step of the Witness patrol over a rig",
    arg("step", choices=WITNESS_STEPS, help="the patrol step to run"), _RIG,
    arg("--stuck-after", type=_minutes, metavar="MIN",
        help="minutes without transcript activity before a hooked polecat is stuck (sweep, nudge-stuck; "
             "default: the town's patrol.stuck_after_s)"),
)  # fmt: skip
def patrol_witness(ctx, args):
    """inbox: handle POLECAT_DONE / MERGED / MERGE_FAILED / REWORK_REQUEST mail;
    sweep: every polecat with its hook, session and verdict (working, stuck, dead, waiting, done, idle);
    nudge-stuck: nudge stuck polecats, restart those still silent after the grace period;
    stalls: work that cannot progress (no progress, idle at the prompt, gate failed N times):
      nudge, then restart, then escalate to the Mayor and the Overseer;
    recycle-dead: restart polecats with work on the hook and no live session;
    check-refinery: the Refinery runs and its queue moves;
    cleanup: stop and remove merged polecats (worktree and session; branch and identity stay)."""
    from ..patrol import witness
    from ..patrol.settings import patrol_settings

    with _town() as town:
        rig = _rig_name(town, args.rig)
        stuck = args.stuck_after * 60 if args.stuck_after is not None else None
        if args.step == "inbox":
            report = witness.inbox(town, rig)
        elif args.step == "sweep":
            report = witness.sweep(town, rig, stuck_after_s=stuck if stuck is not None else patrol_settings(town).stuck_after_s)
        elif args.step == "nudge-stuck":
            report = witness.nudge_stuck(town, rig, stuck_after_s=stuck)
        elif args.step == "stalls":
            from ..patrol import stalls

            report = stalls.check(town, rig)
        elif args.step == "recycle-dead":
            report = witness.recycle_dead(town, rig)
        elif args.step == "check-refinery":
            report = witness.check_refinery(town, rig)
        else:
            report = witness.cleanup(town, rig)
        return _emit(ctx, report)


@COMMANDS.command("patrol refinery", "One step of the Refinery patrol's own (the merge steps are gt refinery ...)",
                  arg("step", choices=("inbox",)), _RIG)  # fmt: skip
def patrol_refinery(ctx, args):
    from ..patrol import deacon

    with _town() as town:
        return _emit(ctx, deacon.refinery_inbox(town, _rig_name(town, args.rig)))


@COMMANDS.command(
    "patrol backoff", "Sleep until the next patrol cycle (exponential while idle, reset after work)",
    arg("role", help="deacon, witness or refinery"), _RIG,
    arg("--max", type=float, metavar="S", help="longest sleep in seconds (the town's patrol.max_backoff_s caps it too)"),
    arg("--no-sleep", action="store_true", help="print the decision, do not sleep"),
)  # fmt: skip
def patrol_backoff(ctx, args):
    import time

    from ..patrol import backoff

    with _town() as town:
        rig = _rig_name(town, args.rig) if args.role != "deacon" else ""
        decision = backoff.compute(town, args.role, rig, max_s=args.max)
        if ctx.json:
            ctx.emit_json(decision)
        else:
            why = "acted" if decision.acted else f"idle x{decision.idle_cycles}"
            ctx.out(f"{args.role}{' ' + rig if rig else ''}: next cycle in {decision.delay_s:g}s ({why})")
        if not args.no_sleep and decision.delay_s > 0:
            import sys

            sys.stdout.flush()
            started = time.monotonic()
            woke = backoff.wait(town, decision)
            if woke and not ctx.json:
                ctx.out(f"woke after {time.monotonic() - started:.1f}s: {woke}")
    return 0


@COMMANDS.command("patrol status", "What each patrol remembers (backoff, heartbeat, nudged polecats)")
def patrol_status(ctx, args):
    import msgspec

    from ..patrol import state

    with _town() as town:
        states = state.all_states(town.root)
    if ctx.json:
        ctx.emit_json(states)
        return 0
    if not states:
        ctx.out("no patrol has run yet")
    for k, st in states.items():
        data = msgspec.to_builtins(st)
        ctx.out(f"{k}: " + ", ".join(f"{key}={value}" for key, value in data.items()))
    return 0


# -- gt witness ---------------------------------------------------------------------------


@COMMANDS.command("witness status", "The rig's polecats as the Witness sees them (a sweep; changes nothing)", _RIG,
                  arg("--stuck-after", type=_minutes, metavar="MIN"))  # fmt: skip
def witness_status(ctx, args):
    from ..patrol import witness
    from ..patrol.settings import patrol_settings

    with _town() as town:
        rig = _rig_name(town, args.rig)
        stuck = args.stuck_after * 60 if args.stuck_after is not None else patrol_settings(town).stuck_after_s
        return _emit(ctx, witness.sweep(town, rig, stuck_after_s=stuck))


@COMMANDS.command("witness attach", "Attach to a rig's Witness session", _RIG)
def witness_attach(ctx, args):
    from .gt_agents import attach

    with _town() as town:
        rig = _rig_name(town, args.rig)
        return attach(ctx, town, town.identity(f"{rig}/witness"))


# -- gt deacon ------------------------------------------------------------------------------


@COMMANDS.command(
    "deacon", "One step of the Deacon patrol",
    arg("step", choices=("heartbeat", "inbox", "check-rigs", "plugins", "cleanup")),
    arg("--stale-after", type=float, metavar="S", help="cleanup: burn patrol wisps idle this many seconds"),
)  # fmt: skip
def deacon_cmd(ctx, args):
    """heartbeat: record that the Deacon is alive (Boot reads it); inbox: read the Deacon's mail;
    check-rigs: start every rig's Witness and Refinery that is not running; plugins: dispatch due town plugins to dogs;
    cleanup: burn abandoned patrol wisps, list sessions no agent owns."""
    from ..patrol import deacon

    with _town() as town:
        if args.step == "heartbeat":
            report = deacon.heartbeat(town)
        elif args.step == "inbox":
            report = deacon.inbox(town)
        elif args.step == "check-rigs":
            report = deacon.check_rigs(town)
        elif args.step == "plugins":
            report = deacon.plugins(town)
        else:
            import os

            report = deacon.cleanup(town, stale_s=args.stale_after, keep=os.environ.get("GT_MOLECULE", ""))
        return _emit(ctx, report)


# -- gt boot -----------------------------------------------------------------------------------


@COMMANDS.command("boot observe", "The Deacon's session, quiet time and heartbeat age, as Boot sees them")
def boot_observe(ctx, args):
    from ..patrol import boot

    with _town() as town:
        seen = boot.observe(town)
    if ctx.json:
        ctx.emit_json(seen)
        return 0
    state = "alive" if seen["alive"] else ("dead pane" if seen["running"] else "not running")
    quiet = f"{seen['quiet_s']:.0f}s" if seen["quiet_s"] is not None else "-"
    beat = f"{seen['heartbeat_age_s']:.0f}s ago" if seen["heartbeat_age_s"] is not None else "never"
    ctx.out(f"deacon ({seen['session']}): {state}, quiet {quiet}, heartbeat {beat}")
    return 0


@COMMANDS.command("boot triage", "Leave the Deacon, nudge it, or restart it",
                  arg("--stale-after", type=float, metavar="S", help="seconds of quiet before a nudge "
                      "(default: the town's daemon.deacon_stale_s)"),
                  arg("--degraded", action="store_true", help="decide only, act on nothing (Gas Town's mode "
                      "for a town whose tmux is unhealthy): prints what Boot would do"))  # fmt: skip
def boot_triage(ctx, args):
    from ..errors import InvalidInput
    from ..patrol import boot

    if args.stale_after is not None and args.stale_after < 0:
        raise InvalidInput("--stale-after must not be negative")
    with _town() as town:
        if args.degraded:
            action, _ = boot.decide(town, stale_s=args.stale_after)
            ctx.emit({"action": action, "degraded": True}, f"boot (degraded): would {action}")
            return 0
        action = boot.run(town, actor="boot", stale_s=args.stale_after)
    ctx.emit({"action": action}, f"boot: {action}")
    return 0


@COMMANDS.command("boot spawn", "Run Boot once now (Boot has no session here: the daemon runs it each beat)",
                  arg("--agent", help="accepted for Gas Town compatibility (Boot is not an agent session)"))  # fmt: skip
def boot_spawn(ctx, args):
    from ..patrol import boot

    with _town() as town:
        action = boot.run(town, actor="boot")
    ctx.emit({"action": action, "note": "Boot runs inside the daemon (gt daemon status)"}, f"boot: {action}")
    return 0


@COMMANDS.command("boot status", "Boot's view (the Deacon's session, quiet time, heartbeat) and the daemon running it")
def boot_status(ctx, args):
    from ..patrol import boot, daemon

    with _town() as town:
        seen = boot.observe(town)
        d = daemon.status(town)
        last = town.ledger.get("hq-boot").last_activity if town.ledger.exists("hq-boot") else ""
    data = {**seen, "daemon_running": d.running, "last_triage": last}
    if ctx.json:
        ctx.emit_json(data)
        return 0
    state = "alive" if seen["alive"] else ("dead pane" if seen["running"] else "not running")
    ctx.out(f"boot: {'in the daemon (pid %d)' % d.pid if d.running else 'daemon not running (gt daemon start)'}, "
            f"last triage {last[:19] or 'never'}; deacon {state}")  # fmt: skip
    return 0
