"""``gt sling|done|refinery|mq``: slinging work and the merge queue from the command line.

Thin over :mod:`gastown_server.work` (done, refinery, merge_requests,
gates).  The rig comes from the town (``--rig``, ``$GT_RIG``, or the only
rig); outside a full town (a bare ledger), from ``--repo`` or the
worktree's canonical clone (``git rev-parse --git-common-dir``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .framework import Registry, arg

COMMANDS = Registry()

_RIG = arg("--rig", help="rig name (default: $GT_RIG, else the town's only rig)")
_REPO = arg("--repo", help="the rig's canonical clone (only needed outside a full town)")


def _rig(ctx, name: str | None, *, repo: str | None = None, worktree: Path | None = None, actor: str = ""):
    """The rig as a :class:`RigRef` (town first, else from the git layout)."""
    from ..errors import InvalidInput, NoTown
    from ..work.merge_requests import RigRef, rig_ref

    try:
        from ..town.core import open_town
        from ..town.rigs import require_rig

        town = open_town()
    except (NoTown, ImportError):
        town = None
    if town is not None:
        with town:
            return rig_ref(require_rig(town, name))
    name = name or os.environ.get("GT_RIG") or (actor.split("/")[0] if actor.count("/") == 2 else "")
    if not name:
        raise InvalidInput("which rig? pass --rig NAME")
    if repo:
        repo_path = Path(repo).resolve()
    else:
        from ..work.git import Git

        where = Git(worktree or Path.cwd())
        if not where.is_repo():
            raise InvalidInput(f"{where.cwd} is not in a git repository: pass --repo (the rig's canonical clone)")
        common = where.common_dir()
        repo_path = common.parent if common.name == ".git" else common
    routes = ctx.ledger.config_items("route.")
    prefix = next((k.split(".", 1)[1] for k, v in routes.items() if Path(v).resolve() == repo_path), "")
    prefix = prefix or ctx.ledger.config_get(f"rig.{name}.prefix") or ctx.ledger.default_prefix
    return RigRef(name=name, prefix=prefix, repo=str(repo_path))


# -- gt done -------------------------------------------------------------------------


def _exit_status(text: str) -> str:
    text = text.upper()
    return "MERGED" if text == "COMPLETED" else text


@COMMANDS.command(
    "done", "Submit this worktree's branch to the merge queue (then the Witness cleans up after MERGED)",
    arg("--issue", help="the issue this work is for (default: the one on your hook)"),
    arg("--worktree", help="the polecat's worktree (default: the current directory)"),
    arg("--exit", "--status", dest="exit", default="MERGED", type=_exit_status,
        choices=("MERGED", "ESCALATED", "DEFERRED"),
        help="MERGED (default; COMPLETED means the same): file a merge request; ESCALATED/DEFERRED: only tell the Witness"),
    arg("--pre-verified", action="store_true",
        help="accepted for Gas Town compatibility: the Refinery runs the rig's gates whatever you ran"),
    arg("--cleanup-status", metavar="S",
        help="accepted for Gas Town compatibility: gt done checks the worktree itself (see gt polecat git-state)"),
    _RIG, _REPO,
)  # fmt: skip
def done_cmd(ctx, args):
    """Checks the worktree is committed, confirms the branch is in the canonical clone at
    your HEAD, records the merge request (one per branch; re-run after rework) and mails
    POLECAT_DONE to the Witness.  Nothing is cleaned up here."""
    from ..work.done import done

    worktree = Path(args.worktree or os.getcwd())
    actor = ctx.actor
    rig = _rig(ctx, args.rig, repo=args.repo, worktree=worktree, actor=actor)
    result = done(ctx.ledger, rig, worktree=worktree, polecat=actor, issue=args.issue or "", exit=args.exit)
    if ctx.json:
        ctx.emit_json(result)
        return 0
    if result.mr is None:
        ctx.out(f"POLECAT_DONE (Exit: {result.exit}) sent to {rig.name}/witness ({result.mail_id}); "
                f"{result.branch} kept at {result.head[:12]}, no merge request filed")  # fmt: skip
        return 0
    verb = "submitted" if result.created else "resubmitted"
    issue = f" for {result.mr.meta.issue}" if result.mr.meta.issue else ""
    ctx.out(f"{result.mr.id} {verb}{issue}: {result.branch} at {result.head[:12]} -> {result.mr.meta.base}")
    ctx.out(f"POLECAT_DONE sent to {rig.name}/witness ({result.mail_id}); the Refinery merges it next.")
    return 0


# -- gt refinery ---------------------------------------------------------------------


def _print_outcome(ctx, o) -> None:
    if o.result == "idle":
        ctx.out("merge queue is empty")
        return
    line = f"{o.mr_id}: {o.result}"
    if o.sha:
        line += f" {o.sha[:12]}"
    if o.failure_type:
        line += f" ({o.failure_type}: {o.detail.splitlines()[0] if o.detail else ''})"
    if o.conflict_files:
        line += f" (conflicts: {', '.join(o.conflict_files)})"
    if o.detail and o.result == "requeued":
        line += f" ({o.detail})"
    ctx.out(line)
    for w in o.warnings:
        ctx.out(f"  warning: {w}")


@COMMANDS.command(
    "refinery process-next", "Merge (or bounce) the next merge request, one at a time",
    _RIG, _REPO, arg("--all", action="store_true", help="keep going until the queue is empty (still one at a time)"),
    arg("--budget", type=float, metavar="S",
        help="with --all: start no further merge once S seconds would be passed (the next run takes the rest)"),
)  # fmt: skip
def process_next_cmd(ctx, args):
    from ..errors import InvalidInput
    from ..work.refinery import drain, process_next, refinery_address

    if args.budget is not None and (not args.all or args.budget <= 0):
        raise InvalidInput("--budget needs --all and a positive number of seconds")
    rig = _rig(ctx, args.rig, repo=args.repo)
    actor = ctx.actor if getattr(args, "actor", None) or os.environ.get("BD_ACTOR") else refinery_address(rig)
    if args.all:
        outcomes = drain(ctx.ledger, rig, actor=actor, budget_s=args.budget)
    else:
        outcomes = [process_next(ctx.ledger, rig, actor=actor)]
    woke = _wake_bounced(outcomes, actor)
    if ctx.json:
        ctx.emit_json(outcomes if args.all else outcomes[0])
        return 0
    if not outcomes:
        ctx.out("merge queue is empty")
    for o in outcomes:
        _print_outcome(ctx, o)
    for line in woke:
        ctx.out(line)
    return 0


def _wake_bounced(outcomes, actor: str) -> list[str]:
    """In a town, the polecats whose work came back get their nudge queued now (work/refinery_wake.py)."""
    if not any(o.result in ("rework", "failed") for o in outcomes):
        return []
    from ..errors import NoTown
    from ..town.core import open_town
    from ..work.refinery_wake import wake_bounced

    try:
        town = open_town()
    except NoTown:
        return []
    with town:
        return wake_bounced(town, outcomes, sender=actor)


def _queue_rows(ctx, args):
    from ..work import merge_requests as mrs

    rig = _rig(ctx, args.rig, repo=args.repo)
    return rig, mrs.queue(ctx.ledger, rig.name, include_closed=getattr(args, "all", False))


def _print_queue(ctx, rows) -> None:
    if not rows:
        ctx.out("no merge requests")
    for mr in rows:
        state = mr.close_reason or mr.status
        who = f" [{mr.assignee}]" if mr.assignee else ""
        ctx.out(f"{mr.id}  {state:<12} {mr.meta.branch}  {mr.meta.head[:12]}  {mr.meta.polecat}{who}")


@COMMANDS.command(
    "refinery queue", "The rig's pending merge requests, in merge order",
    _RIG, _REPO, arg("--all", action="store_true", help="include merged and abandoned ones"),
    arg("--check", action="store_true", help="print nothing; exit 0 if an MR is waiting, else 1"),
)  # fmt: skip
def queue_cmd(ctx, args):
    rig, rows = _queue_rows(ctx, args)
    if args.check:
        return 0 if any(mr.status == "open" for mr in rows) else 1
    if ctx.json:
        ctx.emit_json(rows)
    else:
        _print_queue(ctx, rows)
    return 0


@COMMANDS.command("refinery status", "Queue counts, gates, base branch and push remote of a rig", _RIG, _REPO)
def status_cmd(ctx, args):
    from ..work import gates
    from ..work import merge_requests as mrs
    from ..work.done import base_branch
    from ..work.refinery import push_remote
    from ..work.git import Git

    rig = _rig(ctx, args.rig, repo=args.repo)
    counts: dict[str, int] = {}
    for mr in mrs.queue(ctx.ledger, rig.name, include_closed=True):
        key = "merged" if mr.merged else ("abandoned" if mr.status == "closed" else mr.status)
        counts[key] = counts.get(key, 0) + 1
    settings = gates.load(ctx.ledger, rig.name)
    repo = Git(rig.repo)
    info = {
        "rig": rig.name, "repo": rig.repo, "base": base_branch(rig, repo), "push_remote": push_remote(repo, settings),
        "base_sha": repo.branch_sha(base_branch(rig, repo)) or "", "counts": counts,
        "gates": [g.run for g in settings.gates], "require_gates": settings.require_gates,
    }  # fmt: skip
    if ctx.json:
        ctx.emit_json(info)
        return 0
    ctx.out(f"rig {rig.name}: {info['base']} at {info['base_sha'][:12]} in {rig.repo}")
    ctx.out(f"push remote: {info['push_remote'] or '(none: merges stay local)'}")
    gates_line = ", ".join(info["gates"]) or "(none: merges carry a warning)"
    ctx.out(f"gates: {gates_line}{' (required)' if settings.require_gates else ''}")
    ctx.out("queue: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty"))
    return 0


@COMMANDS.command("refinery report", "The last merge request the Refinery settled, and how", _RIG, _REPO)
def report_cmd(ctx, args):
    from ..work import merge_requests as mrs

    rig = _rig(ctx, args.rig, repo=args.repo)
    settled = [m for m in mrs.queue(ctx.ledger, rig.name, include_closed=True) if m.meta.journal]
    settled.sort(key=lambda m: m.meta.journal[-1].at)
    last = next((m for m in reversed(settled) if m.meta.journal[-1].actor.endswith("/refinery")), None)
    if ctx.json:
        ctx.emit_json(last)
        return 0
    if last is None:
        ctx.out("the refinery has not settled any merge request yet")
        return 0
    entry = last.meta.journal[-1]
    ctx.out(f"{last.id} {entry.event} {entry.detail} ({last.close_reason or last.status}) at {entry.at}")
    return 0


@COMMANDS.command(
    "refinery gates", "Show or set a rig's merge gates",
    _RIG, _REPO,
    arg("--set", dest="tests", action="append", metavar="CMD", help="a tests gate (repeat; replaces the list)"),
    arg("--build", action="append", metavar="CMD", help="a build gate (repeat; replaces the list)"),
    arg("--timeout", type=float, help="seconds each gate given here may run (default 600)"),
    arg("--clear", action="store_true", help="no gates"),
    arg("--require", dest="require", action="store_true", default=None, help="refuse to merge without gates"),
    arg("--no-require", dest="require", action="store_false", help="merge without gates, with a warning"),
    arg("--push-remote", help="remote the base branch is pushed to ('' keeps merges local)"),
    arg("--max-interruptions", type=int, metavar="N",
        help="an MR whose merge was cut short N times (a crash in its gate) fails instead of blocking the queue"),
)  # fmt: skip
def gates_cmd(ctx, args):
    from ..errors import InvalidInput
    from ..work import gates

    rig = _rig(ctx, args.rig, repo=args.repo)
    new = None
    if args.clear and (args.tests or args.build):
        raise InvalidInput("--clear and --set/--build together make no sense")
    if args.clear:
        new = []
    elif args.tests or args.build:
        extra = {"timeout": args.timeout} if args.timeout is not None else {}
        new = [{"run": c, "kind": "build", **extra} for c in args.build or []]
        new += [{"run": c, "kind": "tests", **extra} for c in args.tests or []]
    if new is not None or args.require is not None or args.push_remote is not None or args.max_interruptions is not None:
        settings = gates.save(ctx.ledger, rig.name, actor=ctx.actor, gates=new, require_gates=args.require,
                              push_remote=args.push_remote, max_interruptions=args.max_interruptions)  # fmt: skip
    else:
        settings = gates.load(ctx.ledger, rig.name)
    if ctx.json:
        ctx.emit_json(settings)
        return 0
    for g in settings.gates:
        ctx.out(f"{g.kind:<6} {g.run}  (timeout {g.timeout:g}s)")
    if not settings.gates:
        ctx.out("no gates" + (" (required: the refinery refuses to merge)" if settings.require_gates else " (merges carry a warning)"))
    ctx.out(f"an MR interrupted {settings.max_interruptions} times fails (--max-interruptions)")
    return 0


# -- gt mq -----------------------------------------------------------------------------


@COMMANDS.command(
    "mq list", "Merge requests of a rig (pending ones, in merge order)",
    arg("rig_pos", nargs="?", metavar="RIG", help="the rig (or --rig)"),
    _RIG, _REPO, arg("--all", action="store_true", help="include merged and abandoned ones"),
    arg("--ready", action="store_true", help="only those waiting for the Refinery (open)"),
    arg("--status", dest="mr_status", help="only this status (open, in_progress, blocked = gates failed, deferred = rework)"),
    arg("--worker", help="only this polecat's (address or name)"),
)  # fmt: skip
def mq_list(ctx, args):
    args.rig = args.rig_pos or args.rig
    rig, rows = _queue_rows(ctx, args)
    if args.ready:
        rows = [r for r in rows if r.status == "open"]
    if args.mr_status:
        rows = [r for r in rows if r.status == args.mr_status]
    if args.worker:
        rows = [r for r in rows if r.meta.polecat == args.worker or r.meta.polecat.endswith("/" + args.worker)]
    if ctx.json:
        ctx.emit_json(rows)
    else:
        _print_queue(ctx, rows)
    return 0


@COMMANDS.command("mq show", "One merge request with its journal", arg("id"))
def mq_show(ctx, args):
    _mq_show(ctx, args.id)


@COMMANDS.command("mq status", "One merge request with its journal (gt mq show)", arg("id"))
def mq_status(ctx, args):
    _mq_show(ctx, args.id)


def _mr_id(words: list[str]) -> str:
    """Gas Town writes ``gt mq retry <rig> <mr-id>``; the rig is implied by the MR here."""
    from ..errors import InvalidInput

    if not 1 <= len(words) <= 2:
        raise InvalidInput("give the merge request id ([RIG] MR-ID)")
    return words[-1]


@COMMANDS.command("mq retry", "Put a merge request whose gate failed back in the queue, as it is",
                  arg("words", nargs="+", metavar="[RIG] MR-ID"),
                  arg("--now", action="store_true", help="accepted for Gas Town compatibility: the Refinery takes it next in order"))  # fmt: skip
def mq_retry(ctx, args):
    from ..work import merge_requests as mrs

    mr = mrs.retry(ctx.ledger, _mr_id(args.words), actor=ctx.actor)
    ctx.emit(mr, f"{mr.id} back in the queue ({mr.status})")


@COMMANDS.command("mq reject", "Abandon a merge request with a reason and tell its polecat",
                  arg("words", nargs="+", metavar="[RIG] MR-ID"), arg("-r", "--reason", required=True),
                  arg("--notify", action="store_true", default=True, help="mail the polecat (the default)"),
                  arg("--no-notify", dest="notify", action="store_false", help="do not mail the polecat"))  # fmt: skip
def mq_reject(ctx, args):
    from ..work import merge_requests as mrs

    mr, mid = mrs.reject(ctx.ledger, _mr_id(args.words), actor=ctx.actor, reason=args.reason, notify=args.notify)
    ctx.emit({"mr": mr, "mail": mid}, f"{mr.id} {mr.close_reason}" + (f"; {mr.meta.polecat} told ({mid})" if mid else ""))


@COMMANDS.command(
    "mq submit", "File this worktree's branch as a merge request (gt done without the POLECAT_DONE mail)",
    arg("--branch", help="accepted: the worktree's checked-out branch is submitted"),
    arg("--issue", help="the issue this work is for (default: the one on your hook)"),
    arg("--worktree", help="the worktree (default: the current directory)"),
    arg("--epic", help="accepted for Gas Town compatibility (no integration branches here)"),
    arg("--priority", help="accepted for Gas Town compatibility (merge order is the queue's)"),
    _RIG, _REPO,
)  # fmt: skip
def mq_submit(ctx, args):
    from ..errors import InvalidInput
    from ..work.done import done
    from ..work.git import Git

    worktree = Path(args.worktree or os.getcwd())
    if args.branch and Git(worktree).is_repo() and Git(worktree).current_branch() != args.branch:
        raise InvalidInput(f"--branch {args.branch} is not checked out in {worktree}: gt mq submit sends the worktree's branch")
    rig = _rig(ctx, args.rig, repo=args.repo, worktree=worktree, actor=ctx.actor)
    result = done(ctx.ledger, rig, worktree=worktree, polecat=ctx.actor, issue=args.issue or "", notify_witness=False)
    verb = "submitted" if result.created else "resubmitted"
    ctx.emit(result, f"{result.mr.id} {verb}: {result.branch} at {result.head[:12]} -> {result.mr.meta.base}")


def _mq_show(ctx, mr_id: str):
    from ..work import merge_requests as mrs

    mr = mrs.get(ctx.ledger, mr_id)
    if ctx.json:
        ctx.emit_json(mr)
        return 0
    ctx.out(f"{mr.id}  {mr.close_reason or mr.status}  {mr.title}")
    ctx.out(f"  branch {mr.meta.branch} at {mr.meta.head} -> {mr.meta.base} (rig {mr.meta.rig})")
    ctx.out(f"  polecat {mr.meta.polecat}" + (f", issue {mr.meta.issue}" if mr.meta.issue else ""))
    for w in mr.meta.warnings:
        ctx.out(f"  warning: {w}")
    for e in mr.meta.journal:
        ctx.out(f"  {e.at}  {e.actor:<24} {e.event} {e.detail}")
    return 0


@COMMANDS.command("mq abandon", "Give up on a merge request (its branch may then be cleaned up)",
                  arg("id"), arg("--reason", default=""))  # fmt: skip
def mq_abandon(ctx, args):
    from ..work import merge_requests as mrs

    mr = mrs.abandon(ctx.ledger, args.id, actor=ctx.actor, reason=args.reason)
    ctx.emit(mr, f"{mr.id} {mr.close_reason}")
    return 0


# -- gt sling ------------------------------------------------------------------------


@COMMANDS.command(
    "sling", "Put work on a hook: a rig spawns a polecat; an agent gets it hooked; none: your own hook",
    arg("what", help="a bead id, or a formula name (poured; its molecule is slung)"),
    arg("target", nargs="?", help="a rig (spawns a polecat) or an agent address (mayor, <rig>/crew/<name>, ...)"),
    arg("--var", action="append", default=[], metavar="K=V",
        help="formula variable (repeatable): the slung formula's, or the polecat's mol-polecat-work's"),
    arg("--no-start", action="store_true", help="hook and record everything but start no session (nor nudge)"),
)  # fmt: skip
def sling_cmd(ctx, args):
    """Everything the ledger records for a sling (molecule, hook, convoy) commits in one
    transaction before the session starts.  Work no convoy tracks gets a convoy.  If the
    session fails to start, the work stays hooked (the daemon revives the polecat)."""
    from ..formulas.vars import parse_assignments
    from ..town.core import open_town
    from ..work.sling import sling

    given = parse_assignments(args.var)
    with open_town() as town:
        res = sling(town, args.what, args.target, vars=given, actor=ctx.actor, start=not args.no_start)
    if ctx.json:
        ctx.emit_json(res)
        return 0
    who = f"polecat {res.polecat} ({res.target})" if res.polecat else res.target
    ctx.out(f"slung {res.bead} ({res.title}) to {who}")
    convoy = "new convoy" if res.convoy_created else "convoy"
    ctx.out(f"  {convoy} {res.convoy}" + (f"; molecule {res.molecule}" if res.molecule else ""))
    if res.worktree:
        ctx.out(f"  worktree {res.worktree} on {res.branch}")
    if res.session:
        ctx.out(f"  session {res.session}: {res.session_status}")
    return 0
