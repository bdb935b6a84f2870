"""``gt mol|hook|unsling|show|cat|close|ready``: an agent's molecule and hook, and bead verbs.

Thin over :mod:`gastown_server.work.agent_work` (molecule on the hook),
:mod:`gastown_server.work.hooks` and :mod:`gastown_server.formulas.molecule`.
The agent is ``--actor`` / ``$BD_ACTOR`` / ``$GT_ROLE``; ``show``, ``close`` and
``ready`` are Gas Town's shortcuts for the ``bd`` verbs (same flags).
"""

from __future__ import annotations

from . import bd_issues
from .framework import Registry, arg

COMMANDS = Registry()

_MOL = arg("molecule", nargs="?", help="molecule root or any step (default: the one on your hook)")


def _me(ctx) -> str:
    from ..town.identity import actor_from_env

    return actor_from_env(getattr(ctx.args, "actor", None))


def _target(ctx, target: str | None) -> str:
    if not target:
        return _me(ctx)
    from ..town.core import open_town

    with open_town() as town:
        return town.resolve(target).address


def _print_status(ctx, st) -> None:
    if not st.hook:
        ctx.out(f"{st.address}: nothing on your hook (gt mail inbox, or wait to be slung work)")
        return
    for h in st.hook:
        ctx.out(f"{st.address}: {h.bead} [{h.status}] {h.title}")
        if not h.molecule:
            ctx.out("  no molecule attached (gt mol attach <molecule>)")
            continue
        ctx.out(f"  molecule {h.molecule} ({h.formula}): {h.closed}/{h.total} steps closed"
                + ("  -- complete" if h.complete else ""))  # fmt: skip
        for s in h.current:
            ctx.out(f"  next: {s.id} {s.title}")


# -- gt mol ---------------------------------------------------------------------------------


@COMMANDS.command("mol status", "What is on your hook: bead, molecule, progress, next steps",
                  arg("target", nargs="?", help="agent address (default: yourself)"))  # fmt: skip
def mol_status(ctx, args):
    from ..work import agent_work

    st = agent_work.status(ctx.ledger, _target(ctx, args.target))
    ctx.emit_json(st) if ctx.json else _print_status(ctx, st)


@COMMANDS.command("mol current", "The step(s) to do now in your molecule", _MOL,
                  arg("-n", "--limit", type=int, default=50, help="at most N steps (0 = all)"))  # fmt: skip
def mol_current(ctx, args):
    from ..formulas import molecule
    from ..work import agent_work

    root = agent_work.my_molecule(ctx.ledger, _me(ctx), args.molecule)
    beads = molecule.current(ctx.ledger, root.id, limit=args.limit or None)
    p = molecule.progress(ctx.ledger, root.id)
    if ctx.json:
        ctx.emit_json({"molecule": root.id, "complete": p.complete and not beads,
                       "steps": [agent_work._view(b) for b in beads]})  # fmt: skip
        return
    if not beads:
        ctx.out(f"{root.id}: complete" if p.complete else f"{root.id}: nothing to do now ({p.closed}/{p.total} closed)")
    for b in beads:
        ctx.out(f"{b.id}  {b.title}")
        if b.description:
            ctx.out("\n".join("    " + line for line in b.description.strip().splitlines()))


@COMMANDS.command("mol progress", "How far your molecule is: closed / total", _MOL)
def mol_progress(ctx, args):
    from ..formulas import molecule
    from ..work import agent_work

    root = agent_work.my_molecule(ctx.ledger, _me(ctx), args.molecule)
    p = molecule.progress(ctx.ledger, root.id)
    d = p.as_dict()
    ctx.emit({"molecule": root.id, "title": root.title, **d},
             f"{root.id}: {p.closed}/{p.total} steps closed ({d['percent']}%), {p.ready} ready"
             + ("  -- complete" if p.complete else ""))  # fmt: skip


@COMMANDS.command(
    "mol step", "Step verbs: 'done <step>' closes it and shows what is next; 'await-signal' waits "
    "for activity (a ledger change) with exponential backoff",
    arg("action", choices=["done", "await-signal"]),
    arg("step", nargs="?", help="done: the step bead id (default: your only current step)"),
    arg("-r", "--reason", default="done", help="done: why"),
    arg("--agent-bead", default="", help="await-signal: whose backoff (default: yours)"),
    arg("--backoff-base", default="30s", help="await-signal: first wait (e.g. 30s, 1m)"),
    arg("--backoff-mult", type=float, default=2.0, help="await-signal: factor per idle wait"),
    arg("--backoff-max", default="5m", help="await-signal: longest wait"),
    arg("--timeout", default="", help="await-signal: wait exactly this long (overrides the backoff)"),
    arg("--quiet", action="store_true", help="await-signal: print nothing"),
)  # fmt: skip
def mol_step(ctx, args):
    from ..work import agent_work

    if args.action == "await-signal":
        return _await_signal(ctx, args)
    step = args.step
    if not step:
        from ..errors import InvalidInput
        from ..formulas import molecule

        root = agent_work.my_molecule(ctx.ledger, _me(ctx))
        now = molecule.current(ctx.ledger, root.id, limit=2)
        if len(now) != 1:
            raise InvalidInput(f"name the step: {root.id} has {len(now)} current step(s) (gt mol current)")
        step = now[0].id
    res = agent_work.step_done(ctx.ledger, step, actor=ctx.actor, reason=args.reason)
    if ctx.json:
        ctx.emit_json(res)
        return
    ctx.out(f"closed {res.step}")
    if res.complete:
        ctx.out(f"{res.molecule}: complete" + (f" (digest {res.digest})" if res.digest else ""))
    for s in res.next:
        ctx.out(f"next: {s.id} {s.title}")


def _await_signal(ctx, args):
    from ..town.core import open_town
    from ..work import signals

    with open_town() as town:
        res = signals.await_signal(
            town, args.agent_bead or _me(ctx), base=args.backoff_base, mult=args.backoff_mult,
            maximum=args.backoff_max, timeout=args.timeout or None,
        )  # fmt: skip
    if ctx.json:
        ctx.emit_json(res)
    elif not args.quiet:
        ctx.out(f"{res.reason} after {res.waited_s:.1f}s (waited up to {res.timeout_s:g}s; idle x{res.idle_cycles})")
    return 0


@COMMANDS.command("mol squash", "Reduce your molecule to a one-line digest (a wisp is then burned)", _MOL,
                  arg("--summary", default="", help="the digest's description"),
                  arg("--jitter", default="", help="accepted for Gas Town compatibility (no effect)"))  # fmt: skip
def mol_squash(ctx, args):
    from ..formulas import molecule
    from ..work import agent_work

    root = agent_work.my_molecule(ctx.ledger, _me(ctx), args.molecule)
    digest = molecule.squash(ctx.ledger, root.id, actor=ctx.actor, summary=args.summary)
    ctx.emit({"molecule": root.id, "digest": digest.id, "title": digest.title}, f"Squashed {root.id} into {digest.id}")


@COMMANDS.command("mol burn", "Delete your wisp and its steps (a poured molecule only with --force)", _MOL,
                  arg("--force", action="store_true", help="also a poured (persistent) molecule"))  # fmt: skip
def mol_burn(ctx, args):
    from ..formulas import molecule
    from ..work import agent_work

    root = agent_work.my_molecule(ctx.ledger, _me(ctx), args.molecule)
    count = molecule.burn(ctx.ledger, root.id, actor=ctx.actor, force=args.force)
    ctx.emit({"molecule": root.id, "deleted": count}, f"Burned {root.id} ({count} beads)")


@COMMANDS.command("mol attach", "Attach a molecule to the bead on your hook (an empty hook takes the molecule)",
                  arg("words", nargs="+", metavar="[BEAD] MOLECULE"))  # fmt: skip
def mol_attach(ctx, args):
    from ..errors import InvalidInput
    from ..work import agent_work

    if len(args.words) > 2:
        raise InvalidInput("usage: gt mol attach [BEAD] MOLECULE")
    bead, mol = (args.words[0], args.words[1]) if len(args.words) == 2 else (None, args.words[0])
    res = agent_work.attach(ctx.ledger, _me(ctx), mol, bead_id=bead, actor=ctx.actor)
    ctx.emit(res, f"attached {res.molecule} to {res.bead}")


@COMMANDS.command("mol detach", "Forget the molecule attached to a bead (the molecule stays)",
                  arg("bead", nargs="?", help="default: the bead on your hook"))  # fmt: skip
def mol_detach(ctx, args):
    from ..work import agent_work

    res = agent_work.detach(ctx.ledger, _me(ctx), bead_id=args.bead, actor=ctx.actor)
    ctx.emit(res, f"detached the molecule from {res.bead}")


@COMMANDS.command("mol attach-from-mail", "Attach the molecule (or pour the formula) a message names",
                  arg("mail_id"))  # fmt: skip
def mol_attach_from_mail(ctx, args):
    from ..town.core import open_town
    from ..work import agent_work

    with open_town() as town:
        res = agent_work.attach_from_mail(town, _me(ctx), args.mail_id, actor=ctx.actor)
    ctx.emit(res, f"attached {res.molecule} to {res.bead} (from {args.mail_id})")


# -- gt hook / unsling ---------------------------------------------------------------------------


def _show_hook(ctx, target):
    from ..work import hooks

    address = _target(ctx, target)
    beads = hooks.hooked_work(ctx.ledger, address)
    if ctx.json:
        ctx.emit_json({"address": address, "hook": beads})
        return
    if not beads:
        ctx.out(f"{address}: hook is empty")
    for b in beads:
        ctx.out(f"{address}: {b.id} [{b.status}] {b.title}")


@COMMANDS.command("hook", "Show the work on an agent's hook (sub-commands: show, attach, detach, clear)",
                  arg("target", nargs="?", help="agent address (default: yourself)"))  # fmt: skip
def hook(ctx, args):
    _show_hook(ctx, args.target)


@COMMANDS.command("hook show", "Show the work on an agent's hook",
                  arg("target", nargs="?", help="agent address (default: yourself)"))  # fmt: skip
def hook_show(ctx, args):
    _show_hook(ctx, args.target)


@COMMANDS.command("hook attach", "Put a bead on a hook (yours by default); no session starts (gt sling does that)",
                  arg("bead"), arg("target", nargs="?", help="agent address (default: yourself)"))  # fmt: skip
def hook_attach(ctx, args):
    from ..work import hooks

    address = _target(ctx, args.target)
    bead = hooks.hook(ctx.ledger, args.bead, address, actor=ctx.actor)
    ctx.emit(ctx.ledger.embed_many([bead])[0], f"hooked {bead.id} on {address}")


def _unhook(ctx, bead_id: str | None, target: str | None, *, all_: bool) -> None:
    from ..errors import InvalidInput, NotFound
    from ..work import hooks

    address = _target(ctx, target)
    ledger = ctx.ledger
    hooked = hooks.hooked_work(ledger, address)
    if bead_id:
        ids = [bead_id]
    elif all_ or len(hooked) == 1:
        ids = [b.id for b in hooked]
    elif not hooked:
        raise NotFound(f"{address}'s hook is empty")
    else:
        raise InvalidInput(f"{address} has {len(hooked)} hooked beads: name one ({', '.join(b.id for b in hooked)})")
    with ledger.atomic():
        beads = [hooks.unhook(ledger, i, actor=ctx.actor) for i in ids]
    if ctx.json:
        ctx.emit_json({"address": address, "unhooked": [b.id for b in beads]})
    else:
        ctx.out(f"{address}: unhooked {', '.join(b.id for b in beads)} (back to open)" if beads else f"{address}: hook was empty")


@COMMANDS.command("hook detach", "Take a bead off the hook (it goes back to open)",
                  arg("bead", nargs="?", help="default: your only hooked bead"),
                  arg("target", nargs="?", help="agent address (default: yourself)"))  # fmt: skip
def hook_detach(ctx, args):
    _unhook(ctx, args.bead, args.target, all_=False)


@COMMANDS.command("hook clear", "Take everything off a hook (back to open)",
                  arg("target", nargs="?", help="agent address (default: yourself)"))  # fmt: skip
def hook_clear(ctx, args):
    _unhook(ctx, None, args.target, all_=True)


@COMMANDS.command("unsling", "Take work off a hook (the reverse of gt sling; the bead goes back to open)",
                  arg("bead", nargs="?", help="default: your only hooked bead"),
                  arg("target", nargs="?", help="agent address (default: yourself)"),
                  arg("--force", action="store_true", help="accepted for Gas Town compatibility"))  # fmt: skip
def unsling(ctx, args):
    _unhook(ctx, args.bead, args.target, all_=False)


# -- gt show / cat / close / ready (bd's verbs, as Gas Town offers them) ---------------------------

_IDS = arg("ids", nargs="+", metavar="ID")
COMMANDS.command("show", "Show beads with dependencies and comments (bd show)", _IDS)(bd_issues.show)
COMMANDS.command("cat", "Show beads (alias of gt show)", _IDS)(bd_issues.show)
COMMANDS.command("close", "Close beads (bd close)", _IDS,
                 arg("-r", "--reason", default="", help="why (recorded on the bead)"))(bd_issues.close)  # fmt: skip


@COMMANDS.command(
    "ready", "Ready work across the town (every rig's and the town's own beads)",
    arg("--rig", help="only this rig's beads"),
    arg("-n", "--limit", type=int, default=50, help="at most N (0 = all)"),
)  # fmt: skip
def ready(ctx, args):
    from ..town.core import open_town

    prefix = None
    if args.rig:
        with open_town() as town:
            prefix = town.rig(args.rig).prefix
    beads = ctx.ledger.ready(limit=None)
    if prefix:
        beads = [b for b in beads if b.id.startswith(prefix + "-")]
    beads = beads[: args.limit] if args.limit else beads
    from .render import print_beads

    print_beads(ctx, beads, empty="No ready work.", heading=f"Ready work ({len(beads)}):")
