"""``gt dog`` and ``gt plugin``: the Deacon's helpers and the town plugins they run.

Thin over :mod:`gastown_server.town.dogs`, :mod:`gastown_server.patrol.plugins`
and :mod:`gastown_server.patrol.plugin_runs`.
"""

from __future__ import annotations

import sys

from .framework import Registry, arg

COMMANDS = Registry()


def _town():
    from ..town.core import open_town

    return open_town()


# -- gt dog ------------------------------------------------------------------------


@COMMANDS.command("dog add", "Add a dog (deacon/dogs/<name>, session hq-dog-<name>)", arg("name"))
def dog_add(ctx, args):
    from ..town import dogs

    with _town() as town:
        ident = dogs.add(town, args.name, actor=ctx.actor)
    ctx.emit(ident, f"Added dog {ident.address} at {ident.cwd}")


@COMMANDS.command("dog list", "List dogs: idle or working, hooked work, session")
def dog_list(ctx, args):
    from ..town import dogs

    with _town() as town:
        rows = dogs.status(town)
    if ctx.json:
        ctx.emit_json(rows)
        return
    if not rows:
        ctx.out("no dogs (gt dog add <name>; the Deacon adds 'alpha' when a plugin is due)")
    for d in rows:
        session = "alive" if d.alive else ("dead pane" if d.running else "stopped")
        ctx.out(f"{d.name:<16} {d.state:<8} hook={','.join(d.hook) or '-':<20} {d.session} ({session})")


@COMMANDS.command(
    "dog remove", "Remove a dog (refused while it is working)", arg("name"),
    arg("--force", action="store_true", help="remove a working dog too: its hooked work is closed as abandoned"),
)  # fmt: skip
def dog_remove(ctx, args):
    from ..town import dogs

    with _town() as town:
        ident = dogs.remove(town, args.name, actor=ctx.actor, force=args.force)
    ctx.emit(ident, f"Removed dog {ident.address}")


@COMMANDS.command("dog done", "Your hooked work is finished (a plugin run is recorded as success); you are idle again",
                  arg("name", nargs="?", help="the dog (default: yourself)"),
                  arg("-m", "--message", default="", help="what you did"))  # fmt: skip
def dog_done(ctx, args):
    from ..town import dogs
    from ..town.identity import actor_from_env

    me = actor_from_env(getattr(ctx.args, "actor", None))
    with _town() as town:
        address = dogs.find(town, args.name).address if args.name else me
        finished = dogs.done(town, address, actor=me, message=args.message)
    ctx.emit({"dog": address, "finished": finished},
             f"{address}: done with {', '.join(finished)}" if finished else f"{address}: nothing on the hook")  # fmt: skip


@COMMANDS.command("dog start", "Start a dog's session", arg("name"))
def dog_start(ctx, args):
    from ..town import dogs

    with _town() as town:
        res = dogs.start(town, args.name, actor=ctx.actor)
    ctx.emit(res, f"{res.address}: {res.status} ({res.session})")


@COMMANDS.command("dog stop", "Stop a dog's session", arg("name"))
def dog_stop(ctx, args):
    from ..town import dogs

    with _town() as town:
        ident = dogs.find(town, args.name)
        was = dogs.stop(town, args.name, actor=ctx.actor)
    ctx.emit({"address": ident.address, "session": ident.session, "was_running": was},
             f"Stopped {ident.address}" if was else f"{ident.address} was not running")


# -- gt plugin ------------------------------------------------------------------------


@COMMANDS.command("plugin list", "Town plugins: gate, last run and result, next due")
def plugin_list(ctx, args):
    from ..patrol import plugins

    with _town() as town:
        rows = plugins.statuses(town)
    if ctx.json:
        ctx.emit_json(rows)
        return
    if not rows:
        ctx.out(f"no town plugins (add <town>/plugins/<name>/{plugins.PLUGIN_FILE}; see docs/town-layout.md)")
    for p in rows:
        if p.error:
            ctx.out(f"{p.name:<20} BROKEN: {p.error}")
            continue
        last = f"{p.last_run} {p.last_result or '?'} at {p.last_run_at[:19]}" if p.last_run else "never run"
        ctx.out(f"{p.name:<20} {p.gate:<14} next={p.next_due[:19]:<19} last: {last}")


@COMMANDS.command("plugin show", "A plugin's settings, instructions and recent runs", arg("name"))
def plugin_show(ctx, args):
    import msgspec

    from ..patrol import plugins

    with _town() as town:
        plugin = plugins.load(town.root, args.name)
        records = plugins.runs(town.ledger, plugin.name)
    due = plugins.next_due(plugin, records)
    if ctx.json:
        ctx.emit_json({**msgspec.to_builtins(plugin), "next_due": due, "runs": records[-10:]})
        return
    ctx.out(f"{plugin.name}  {plugin.description}".rstrip())
    ctx.out(f"  file:     {plugin.path}")
    if plugin.version:
        ctx.out(f"  version:  {plugin.version}")
    ctx.out(f"  gate:     {plugin.gate_text()} (next due: {due})")
    ctx.out(f"  timeout:  {plugin.timeout_s:g}s")
    ctx.out(f"  run:      {plugin.run or '(none: instructions only)'}")
    ctx.out("  runs:     " + ("none yet" if not records else ""))
    for r in records[-10:]:
        ctx.out(f"    {r.id}  {r.result or r.status:<9} {r.created_at[:19]}  {r.assignee}  {r.close_reason}")
    ctx.out("")
    ctx.out(plugin.instructions or "(no instructions)")


@COMMANDS.command(
    "plugin run", "Dispatch a plugin to a dog now", arg("name"),
    arg("--force", action="store_true", help="even while its cooldown has not passed"),
)  # fmt: skip
def plugin_run(ctx, args):
    from ..patrol import plugin_runs, plugins

    with _town() as town:
        plugin = plugins.load(town.root, args.name)
        res = plugin_runs.dispatch(town, plugin, actor=ctx.actor, force=args.force)
    ctx.emit(res, f"plugin {res.plugin}: run {res.run} on {res.dog}'s hook ({res.session_status})")


@COMMANDS.command(
    "plugin exec", "Run a plugin run's command and record the result (what a dog runs)", arg("run", help="the run bead"),
    description="Runs the plugin's `run` command in the dog's working directory under the plugin's timeout, "
    "then closes the run bead with result:success|failure|skipped and the output's tail in its notes; "
    "a failure mails the Deacon. Exits 0 once the result is recorded (a failed plugin is a recorded result).",
)  # fmt: skip
def plugin_exec(ctx, args):
    from ..patrol import plugin_runs

    with _town() as town:
        res = plugin_runs.execute(town, args.run, actor=ctx.actor)
    return _emit_result(ctx, res)


@COMMANDS.command(
    "plugin record", "Close a plugin run with a result (for a dog that did the work itself)",
    arg("run", help="the run bead"), arg("result", choices=("success", "failure", "skipped")),
    arg("-m", "--message", default="", help="what happened (kept in the run's notes)"),
)  # fmt: skip
def plugin_record(ctx, args):
    from ..patrol import plugin_runs

    with _town() as town:
        res = plugin_runs.record(town, args.run, args.result, args.message, actor=ctx.actor, exit_code=-1)
    return _emit_result(ctx, res)


def _emit_result(ctx, res) -> int:
    if ctx.json:
        ctx.emit_json(res)
        return 0
    if res.output_tail:
        ctx.out(res.output_tail)
    mail = f"; mailed the Deacon ({res.mail})" if res.mail else ""
    ctx.out(f"plugin {res.plugin}: run {res.run} {res.result}{mail}")
    sys.stdout.flush()
    return 0
