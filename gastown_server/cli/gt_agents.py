"""``gt agents|prime|hook|nudge|peek|mayor|polecat|handoff|seance``: agent verbs.

Thin wrappers: identities and sessions come from ``gastown_server.town``,
tmux work from ``gastown_server.runtime``.
"""

from __future__ import annotations

import os
import sys

from ..errors import InvalidInput
from .framework import Registry, arg

COMMANDS = Registry()


def _town():
    from ..town.core import open_town

    return open_town()


def _me(ctx) -> str:
    from ..town.identity import actor_from_env

    return actor_from_env(getattr(ctx.args, "actor", None))


def attach(ctx, town, ident) -> int:
    """exec ``tmux attach`` in a terminal; otherwise print the command."""
    import shlex

    from ..errors import NotFound

    tmux = town.tmux
    if not tmux.has(ident.session):
        raise NotFound(f"{ident.address} is not running (session {ident.session}): start it first (gt up)")
    cmd = tmux.attach_command(ident.session)
    if ctx.json or not (sys.stdin.isatty() and sys.stdout.isatty()):
        ctx.emit({"address": ident.address, "session": ident.session, "command": cmd}, shlex.join(cmd))
        return 0
    town.close()
    os.execvp(cmd[0], cmd)
    return 0  # not reached


# -- agents / prime / hook ---------------------------------------------------------


@COMMANDS.command("agents", "List every agent and its state")
def agents(ctx, args):
    from ..town.status import agent_rows

    with _town() as town:
        rows = agent_rows(town)
    if ctx.json:
        ctx.emit_json(rows)
        return
    for a in rows:
        state = "alive" if a.alive else ("dead pane" if a.running else "stopped")
        ctx.out(f"{a.address:<28} {a.role:<9} {a.session:<20} {state:<9} hook={','.join(a.hook) or '-'}")


def _prime_data(town, address: str) -> dict:
    import msgspec

    from ..town import roles
    from ..work import hooks

    ident = town.identity(address)
    ledger = town.ledger
    hooked = hooks.hooked_work(ledger, ident.address)
    hook = []
    for b in hooked:
        item = {"id": b.id, "title": b.title, "status": b.status, "issue_type": b.issue_type, "description": b.description}
        steps = ledger.children(b.id)
        if steps:
            ready = ledger.ready(parent=b.id, include_ephemeral=True, limit=None)
            item["steps"] = {"total": len(steps), "closed": sum(s.status == "closed" for s in steps),
                             "ready": [s.id for s in ready]}  # fmt: skip
        hook.append(item)
    mail = [
        {"id": m.id, "from": m.sender, "subject": m.title, "created_at": m.created_at}
        for m in hooks.unread_mail(ledger, ident.address)
    ]
    return {
        "identity": msgspec.to_builtins(ident),
        "town": town.name,
        "role": ident.role,
        "instructions": roles.role_text(ledger, ident.role),
        "hook": hook,
        "mail": mail,
    }


@COMMANDS.command("prime", "What an agent reads at start: role, hook, unread mail",
                  arg("--hook", action="store_true",
                      help="called by a runtime hook (Claude Code SessionStart/PreCompact): reads the hook's JSON "
                           "on stdin if any, prints the same text as context"))  # fmt: skip
def prime(ctx, args):
    if args.hook and not sys.stdin.isatty():
        import select

        try:  # the hook event (session id, source); drained so the runtime never blocks on our stdin
            if select.select([sys.stdin], [], [], 0.2)[0]:
                sys.stdin.read()
        except (OSError, ValueError):
            pass
    with _town() as town:
        data = _prime_data(town, _me(ctx))
    if ctx.json:
        ctx.emit_json(data)
        return
    ident = data["identity"]
    ctx.out(f"# You are {ident['address']} ({data['role']}) in Gas Town {data['town']}; session {ident['session']}")
    ctx.out(data["instructions"])
    ctx.out("")
    if data["hook"]:
        ctx.out("## Your hook (GUPP: there is work on your hook, so you run it now)")
        for h in data["hook"]:
            ctx.out(f"- {h['id']} [{h['status']}] {h['title']}")
            if "steps" in h:
                st = h["steps"]
                ctx.out(f"  steps: {st['closed']}/{st['total']} closed; ready: {', '.join(st['ready']) or 'none'}")
    else:
        ctx.out("## Your hook is empty: wait for work (check mail).")
    ctx.out("")
    ctx.out(f"## Mail: {len(data['mail'])} unread")
    for m in data["mail"]:
        ctx.out(f"- {m['id']} from {m['from'] or '?'}: {m['subject']}")


# -- nudge / peek / attach ------------------------------------------------------------


@COMMANDS.command(
    "nudge",
    "Type a message into an agent's session, safely (exit 1 if it failed)",
    arg("target", help="address (mayor, <rig>/witness, <rig>/polecats/<name>) or session name"),
    arg("message", nargs="+"),
    arg("--timeout", type=float, help="seconds to wait for idle clients before queueing (default: settings)"),
    arg("--idle", type=float, help="seconds attached clients must be idle (default: settings)"),
)
def nudge(ctx, args):
    from ..runtime import nudge as rt_nudge

    message = " ".join(args.message)
    if not message.strip():
        raise InvalidInput("the message is empty")
    with _town() as town:
        ident = town.resolve(args.target)
        cfg = town.config.nudge
        res = rt_nudge.nudge(
            town.tmux, ident.session, message, state_dir=town.state_dir,
            idle_s=cfg.idle_s if args.idle is None else args.idle,
            timeout_s=cfg.timeout_s if args.timeout is None else args.timeout,
            sender=getattr(args, "actor", None) or os.environ.get("BD_ACTOR") or "overseer",
        )  # fmt: skip
    if ctx.json:
        ctx.emit_json(res)
    elif res.status == "delivered":
        ctx.out(f"delivered to {ident.address} ({ident.session}) in {res.elapsed_ms:.0f} ms")
    elif res.status == "queued":
        ctx.out(f"queued for {ident.address} ({ident.session}): {res.reason}")
    if res.status == "failed":
        if not ctx.json:
            print(f"gt: error: nudge to {ident.address} ({ident.session}) failed: {res.reason}", file=sys.stderr)
        return 1
    return 0


@COMMANDS.command("peek", "Show the last lines of an agent's pane",
                  arg("target"), arg("lines", nargs="?", type=int, default=None),
                  arg("-n", "--lines", dest="lines_opt", type=int, help="how many lines (default 30)"))  # fmt: skip
def peek(ctx, args):
    lines = args.lines_opt or args.lines or 30
    if lines < 1:
        raise InvalidInput("--lines must be at least 1")
    with _town() as town:
        ident = town.resolve(args.target)
        text = town.tmux.capture(ident.session, lines)
    ctx.emit({"address": ident.address, "session": ident.session, "text": text}, text)


@COMMANDS.command("mayor attach", "Attach to the Mayor's session")
def mayor_attach(ctx, args):
    with _town() as town:
        return attach(ctx, town, town.identity("mayor"))


def _polecat(town, name: str, rig: str | None):
    from ..town import rigs

    if "/" in name:
        return town.identity(name)
    r = rigs.require_rig(town, rig) if rig or os.environ.get("GT_RIG") or len(town.rigs()) <= 1 else None
    if r is not None:
        return town.identity(f"{r.name}/polecats/{name}")
    matches = [a for a in town.agents() if a.role == "polecat" and a.name == name]
    if len(matches) == 1:
        return matches[0]
    raise InvalidInput(f"which rig's polecat {name!r}? pass --rig")


@COMMANDS.command("polecat attach", "Attach to a polecat's session", arg("name"), arg("--rig"))
def polecat_attach(ctx, args):
    with _town() as town:
        return attach(ctx, town, _polecat(town, args.name, args.rig))


@COMMANDS.command("polecat list", "List polecats (of one rig, or all)",
                  arg("rig_pos", nargs="?", metavar="RIG", help="only this rig's"), arg("--rig"),
                  arg("--all", action="store_true", help="accepted for Gas Town compatibility: every rig is listed"))  # fmt: skip
def polecat_list(ctx, args):
    from ..town.status import agent_rows

    rig = args.rig_pos or args.rig
    with _town() as town:
        if rig:
            town.rig(rig)
        rows = [a for a in agent_rows(town) if a.role == "polecat" and (not rig or a.rig == rig)]
    if ctx.json:
        ctx.emit_json(rows)
        return
    if not rows:
        ctx.out("no polecats")
    for a in rows:
        ctx.out(f"{a.address:<30} {'alive' if a.alive else 'stopped':<8} hook={','.join(a.hook) or '-'}")


@COMMANDS.command("polecat start", "Start a polecat session (worktree made if missing)", arg("name"), arg("--rig"))
def polecat_start(ctx, args):
    from ..town.lifecycle import start_agent

    with _town() as town:
        res = start_agent(town, _polecat(town, args.name, args.rig), actor=ctx.actor)
    ctx.emit(res, f"{res.status} {res.address} ({res.session})")


@COMMANDS.command(
    "polecat nuke", "Stop a polecat and remove its worktree (never its branch); refuses while work could be lost",
    arg("name"), arg("--rig"),
    arg("--force", action="store_true", help="remove the worktree even with unmerged or uncommitted work "
        "(uncommitted changes are saved under refs/gastown/salvage/<branch>; the branch stays)"),
)  # fmt: skip
def polecat_nuke(ctx, args):
    from ..work.polecat_cleanup import retire

    with _town() as town:
        ident = _polecat(town, args.name, args.rig)
        done = retire(town, ident, actor=ctx.actor, force=args.force)
    if ctx.json:
        ctx.emit_json(done)
        return 0
    result = done.nuke
    line = f"{ident.address}: session stopped"
    if result is None:
        line += f"; no worktree at {ident.cwd}"
    else:
        line += f", worktree {result.worktree} removed, branch {result.branch or '-'} kept"
        if result.overridden:
            line += f" (forced past: {'; '.join(result.overridden)})"
        if result.salvage_ref:
            line += f"; uncommitted changes saved at {result.salvage_ref}"
    if done.unhooked:
        line += f"; back to open: {', '.join(done.unhooked)}"
    if done.released_mail:
        line += f"; claimed queue mail back in its queue: {', '.join(done.released_mail)}"
    ctx.out(line)
    return 0


# -- handoff / seance ---------------------------------------------------------------


@COMMANDS.command("handoff", "End this session; a fresh one takes the hook",
                  arg("-m", "--message", default="", help="handoff note for your successor"),
                  arg("-s", "--subject", default="", help="the note's first line"),
                  arg("-y", "--yes", action="store_true", help="accepted for Gas Town compatibility (never asks)"),
                  arg("target", nargs="?", help="accepted for Gas Town compatibility: only your own session hands off"))  # fmt: skip
def handoff(ctx, args):
    from ..town.lifecycle import handoff as do_handoff

    me = _me(ctx)
    if args.target and args.target.strip("/") != me.strip("/"):
        raise InvalidInput(f"gt handoff restarts your own session ({me}); for another agent use gt session stop "
                           f"{args.target} (the daemon restarts it) or gt nudge")
    message = f"{args.subject}\n\n{args.message}".strip() if args.subject else args.message
    with _town() as town:
        # Say it first: when run inside the session, respawn ends this process.
        if not ctx.json:
            ctx.out(f"handing off {me}: a fresh session takes the hook")
            sys.stdout.flush()
        res = do_handoff(town, me, message=message, actor=me, old_session_id=os.environ.get("GT_SESSION_ID", ""))
    if res.status == "ending":
        from ..sandbox.launch import end_own_session

        ctx.emit(res, f"handoff recorded; {res.session} ends now and the daemon or the Witness starts a fresh one")
        sys.stdout.flush()
        end_own_session()
        return
    ctx.emit(res, f"{res.status} {res.address} ({res.session}), session {res.session_id}")


@COMMANDS.command(
    "seance",
    "List an agent's predecessor sessions, or ask one a question",
    arg("target", nargs="?", help="agent address (default: yourself)"),
    arg("--talk", metavar="SESSION_ID", help="ask this session (an id or unique prefix)"),
    arg("-p", "--prompt", help="the question (with --talk)"),
    arg("--timeout", type=float, default=120.0, help="seconds (runtimes that resume)"),
)
def seance(ctx, args):
    from ..town.seance import predecessors

    with _town() as town:
        if args.talk:
            if not args.prompt:
                raise InvalidInput("--talk needs -p <question>")
            return _talk(ctx, town, args)
        ident = town.resolve(args.target) if args.target else town.identity(_me(ctx))
        records = predecessors(town, ident)
        current = os.environ.get("GT_SESSION_ID", "")
        ours = [r for r in records if r.source == "town"]
        if ours and town.tmux.has(ident.session):
            ours[0].current = True
        for r in records:
            if current and r.session_id == current:
                r.current = True
    for r in records:
        if r.bad_lines:
            print(f"gt: warning: {r.logs}: {r.bad_lines} unreadable line(s) skipped; the rest was read", file=sys.stderr)
    if ctx.json:
        ctx.emit_json(records)
        return
    if not records:
        ctx.out(f"{ident.address} has no recorded sessions")
    for r in records:
        mark = " (current)" if r.current else ""
        mode = r.mode if r.source == "town" else "(runtime's own file)"
        said = f"  {r.messages} msg, last: {r.summary}" if r.summary else ""
        ctx.out(f"{r.session_id}  {r.at[:19]}  {r.runtime:<8} {mode:<8} {r.session}{mark}{said}")


def _talk(ctx, town, args):
    from ..town import lifecycle

    streamed = []

    def show(text: str) -> None:  # the resumed runtime's answer, as it arrives
        streamed.append(text)
        sys.stdout.write(text)
        sys.stdout.flush()

    answer = lifecycle.talk_to_session(town, args.talk, args.prompt, timeout_s=args.timeout,
                                       on_output=None if ctx.json else show, agent=args.target or "")  # fmt: skip
    if ctx.json:
        ctx.emit_json(answer)
    elif not streamed:
        ctx.out(answer.answer)
    elif not streamed[-1].endswith("\n"):
        ctx.out()
    return 0


def _polecat_arg(town, name: str, rig: str | None):
    """``<rig>/<name>``, ``<rig>/polecats/<name>`` or ``<name>`` (with --rig)."""
    if name.count("/") == 1:
        r, n = name.split("/")
        return town.identity(f"{r}/polecats/{n}")
    return _polecat(town, name, rig)


_PC = arg("polecat", help="<rig>/<name>, <rig>/polecats/<name>, or <name> with --rig")


@COMMANDS.command("polecat status", "One polecat: session, hook, worktree, branch", _PC, arg("--rig"))
def polecat_status(ctx, args):
    from ..town.status import agent_rows
    from ..work.polecat_cleanup import git_state

    with _town() as town:
        ident = _polecat_arg(town, args.polecat, args.rig)
        row = next((a for a in agent_rows(town) if a.address == ident.address), None)
        if row is None:
            from ..errors import NotFound

            raise NotFound(f"no polecat {ident.address} (gt polecat list)")
        git = git_state(town, ident)
    if ctx.json:
        ctx.emit_json({"agent": row, "git": git})
        return
    state = "alive" if row.alive else ("dead pane" if row.running else "stopped")
    ctx.out(f"{row.address} ({row.session}): {state}, hook={','.join(row.hook) or '-'}, state={row.agent_state or '-'}")
    ctx.out(f"  worktree {git.worktree}" + (f" on {git.branch} at {git.head[:12]}" if git.exists else " (missing)"))
    ctx.out(f"  git: {git.cleanup_status}" + (f", merge request {git.pending_mr}" if git.pending_mr else ""))


@COMMANDS.command("polecat git-state", "A polecat's worktree: uncommitted files, unmerged commits, pending MR",
                  _PC, arg("--rig"))  # fmt: skip
def polecat_git_state(ctx, args):
    from ..work.polecat_cleanup import git_state

    with _town() as town:
        st = git_state(town, _polecat_arg(town, args.polecat, args.rig))
    if ctx.json:
        ctx.emit_json(st)
        return
    if not st.exists:
        ctx.out(f"{st.address}: no worktree at {st.worktree}")
        return
    ctx.out(f"{st.address}: {st.branch} at {st.head[:12]} (base {st.base}): {st.cleanup_status}")
    for f in st.uncommitted:
        ctx.out(f"  uncommitted: {f}")
    if st.unmerged_commits:
        ctx.out(f"  {st.unmerged_commits} commit(s) not in {st.base}")
    if st.pending_mr:
        ctx.out(f"  merge request {st.pending_mr} pending")


@COMMANDS.command("polecat check-recovery", "SAFE_TO_NUKE, or NEEDS_RECOVERY and why (exit 0 either way)",
                  _PC, arg("--rig"))  # fmt: skip
def polecat_check_recovery(ctx, args):
    from ..work.polecat_cleanup import check_recovery

    with _town() as town:
        r = check_recovery(town, _polecat_arg(town, args.polecat, args.rig))
    ctx.emit(r, f"{r.address}: {r.verdict}" + (f" ({'; '.join(r.reasons)})" if r.reasons else ""))


@COMMANDS.command(
    "polecat remove", "Stop a polecat and remove its worktree (gt polecat nuke); refuses while work could be lost",
    _PC, arg("--rig"), arg("-f", "--force", action="store_true", help="as gt polecat nuke --force"),
)  # fmt: skip
def polecat_remove(ctx, args):
    with _town() as town:
        ident = _polecat_arg(town, args.polecat, args.rig)
    args.name = ident.address
    return polecat_nuke(ctx, args)


# -- gt session (an agent's tmux session) ------------------------------------------------


@COMMANDS.command("session status", "An agent's session: running, alive, attached, hook",
                  arg("target", help="address or session name"))  # fmt: skip
def session_status(ctx, args):
    from ..errors import NotFound
    from ..town.status import agent_rows

    with _town() as town:
        ident = town.resolve(args.target)
        row = next((a for a in agent_rows(town) if a.address == ident.address), None)
        if row is None:
            raise NotFound(f"{ident.address} has no agent bead: it was never started (gt up, gt sling)")
    state = "alive" if row.alive else ("dead pane" if row.running else "stopped")
    ctx.emit(row, f"{row.address} ({row.session}): {state}{', attached' if row.attached else ''}, "
                  f"hook={','.join(row.hook) or '-'}")  # fmt: skip


@COMMANDS.command("session stop", "Stop an agent's session (always-on agents come back on the daemon's next beat)",
                  arg("target", help="address or session name"),
                  arg("--grace", type=float, default=5.0, help="seconds before force"))  # fmt: skip
def session_stop(ctx, args):
    from ..town.lifecycle import stop_agent

    with _town() as town:
        ident = town.resolve(args.target)
        was = stop_agent(town, ident, actor=ctx.actor, grace_s=args.grace)
    ctx.emit({"address": ident.address, "session": ident.session, "was_running": was},
             f"stopped {ident.address}" if was else f"{ident.address} was not running")  # fmt: skip


@COMMANDS.command("session start", "Start an agent's session", arg("target", help="address or session name"))
def session_start(ctx, args):
    from ..town.lifecycle import start_agent

    with _town() as town:
        res = start_agent(town, town.resolve(args.target), actor=ctx.actor)
    ctx.emit(res, f"{res.status} {res.address} ({res.session})")


@COMMANDS.command("session list", "Every agent session (gt agents)")
def session_list(ctx, args):
    return agents(ctx, args)
