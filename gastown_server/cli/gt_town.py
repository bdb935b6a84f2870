"""``gt install|rig|crew|config|up|down|status|daemon``: the town (thin over ``gastown_server.town``)."""

from __future__ import annotations

from ..errors import InvalidInput
from .framework import Registry, arg

COMMANDS = Registry()


def _town():
    from ..town.core import open_town

    return open_town()


# -- install -------------------------------------------------------------------


@COMMANDS.command(
    "install",
    "Create a town directory",
    arg("dir", help="the town directory (created if missing)"),
    arg("--name", help="town name (default: the directory's name)"),
    arg("--git", action="store_true", help="git init the town, keeping .gastown/ out"),
    arg("--agent", help="default agent runtime (default: script; e.g. claude)"),
)
def install(ctx, args):
    from ..town.install import install as do_install

    root = do_install(args.dir, name=args.name, git=args.git, agent=args.agent, actor=ctx.actor)
    if ctx.json:
        ctx.emit_json({"root": str(root), "name": args.name or root.name})
    else:
        ctx.out(f"Created town {args.name or root.name} at {root}")
        ctx.out(f"  next: cd {root} && gt rig add <name> <git-url-or-path> && gt up")


# -- rigs ----------------------------------------------------------------------


@COMMANDS.command(
    "rig add",
    "Add a rig: clone a repository and register its prefix",
    arg("name"),
    arg("url", help="git URL or path of a repository"),
    arg("--prefix", help="bead id prefix (default: derived from the name)"),
)
def rig_add(ctx, args):
    from ..town import rigs

    with _town() as town:
        rig = rigs.add(town, args.name, args.url, prefix=args.prefix, actor=ctx.actor)
    ctx.emit(rig, f"Added rig {rig.name} (prefix {rig.prefix}) at {rig.repo}")


@COMMANDS.command("rig list", "List the town's rigs")
def rig_list(ctx, args):
    from ..town import rigs

    with _town() as town:
        found = rigs.list_rigs(town)
    if ctx.json:
        ctx.emit_json(found)
        return
    if not found:
        ctx.out("no rigs (gt rig add <name> <git-url-or-path>)")
    for r in found:
        ctx.out(f"{r.name:<20} {r.prefix:<8} {r.url}")


@COMMANDS.command(
    "rig remove",
    "Remove a rig (its directory, agents and route)",
    arg("name"),
    arg("--force", action="store_true", help="stop its running sessions first"),
)
def rig_remove(ctx, args):
    from ..town import rigs

    with _town() as town:
        rig = rigs.remove(town, args.name, actor=ctx.actor, force=args.force)
    ctx.emit(rig, f"Removed rig {rig.name} (prefix {rig.prefix})")


def _rig_op(ctx, res, verb: str) -> None:
    if ctx.json:
        ctx.emit_json(res)
        return
    parts = [f"rig {res.rig}: {verb}"]
    if res.stopped:
        parts.append(f"stopped {', '.join(res.stopped)}")
    if res.started:
        parts.append(f"started {', '.join(res.started)}")
    ctx.out("; ".join(parts))
    if res.note:
        ctx.out(f"  note: {res.note}")


_RIGS = arg("rigs", nargs="+", metavar="RIG")
_GRACE = arg("--grace", type=float, default=5.0, help="seconds before force (default 5)")


def _each_rig(ctx, args, op, verb: str, **kw):
    from ..town import rig_state

    with _town() as town:
        results = [getattr(rig_state, op)(town, name, actor=ctx.actor, **kw) for name in args.rigs]
    if ctx.json:
        ctx.emit_json(results if len(results) > 1 else results[0])
        return
    for res in results:
        _rig_op(ctx, res, verb)


@COMMANDS.command("rig park", "Park rigs: stop their agents; nothing restarts them until unpark", _RIGS, _GRACE)
def rig_park(ctx, args):
    _each_rig(ctx, args, "park", "parked", grace_s=args.grace)


@COMMANDS.command("rig unpark", "Unpark rigs: start their Witness, Refinery and parked polecats", _RIGS)
def rig_unpark(ctx, args):
    _each_rig(ctx, args, "unpark", "unparked")


@COMMANDS.command("rig boot", "Start rigs' Witness and Refinery", _RIGS)
def rig_boot(ctx, args):
    _each_rig(ctx, args, "boot", "booted")


@COMMANDS.command("rig start", "Start rigs' Witness and Refinery (gt rig boot)", _RIGS)
def rig_start(ctx, args):
    _each_rig(ctx, args, "boot", "started")


@COMMANDS.command("rig stop", "Stop rigs' Witness, Refinery and polecats now (park keeps them down)", _RIGS, _GRACE)
def rig_stop(ctx, args):
    _each_rig(ctx, args, "stop", "stopped", grace_s=args.grace)


@COMMANDS.command("rig shutdown", "Stop every agent of rigs, crew included (park keeps them down)", _RIGS, _GRACE,
                  arg("--force", action="store_true", help="accepted for Gas Town compatibility (see --grace)"))  # fmt: skip
def rig_shutdown(ctx, args):
    _each_rig(ctx, args, "stop", "shut down", grace_s=args.grace, crew=True)


# -- crew ----------------------------------------------------------------------

_RIG = arg("--rig", help="the rig (default: $GT_RIG, or the only rig)")


@COMMANDS.command("crew add", "Add a crew member (a full clone of the rig)", arg("name"), _RIG)
def crew_add(ctx, args):
    from ..town import crew

    with _town() as town:
        ident = crew.add(town, args.rig, args.name, actor=ctx.actor)
    ctx.emit(ident, f"Added crew member {ident.address} at {ident.cwd}")


@COMMANDS.command("crew list", "List crew members", _RIG)
def crew_list(ctx, args):
    from ..town import crew
    from ..town.status import agent_rows

    with _town() as town:
        names = {i.address for i in crew.members(town, args.rig)}
        rows = [r for r in agent_rows(town) if r.address in names]
    if ctx.json:
        ctx.emit_json(rows)
        return
    if not rows:
        ctx.out("no crew members (gt crew add <name>)")
    for r in rows:
        ctx.out(f"{r.address:<30} {'running' if r.alive else 'stopped':<8} {r.session}")


@COMMANDS.command("crew start", "Start a crew member's session", arg("name"), _RIG)
def crew_start(ctx, args):
    from ..town import crew
    from ..town.lifecycle import start_agent

    with _town() as town:
        res = start_agent(town, crew.find(town, args.rig, args.name), actor=ctx.actor)
    _emit_start(ctx, [res])


@COMMANDS.command("crew stop", "Stop a crew member's session", arg("name"), _RIG)
def crew_stop(ctx, args):
    from ..town import crew
    from ..town.lifecycle import stop_agent

    with _town() as town:
        ident = crew.find(town, args.rig, args.name)
        was = stop_agent(town, ident, actor=ctx.actor)
    ctx.emit({"address": ident.address, "session": ident.session, "was_running": was},
             f"Stopped {ident.address}" if was else f"{ident.address} was not running")


@COMMANDS.command("crew attach", "Attach to a crew member's session", arg("name"), _RIG)
def crew_attach(ctx, args):
    from ..town import crew
    from .gt_agents import attach

    with _town() as town:
        ident = crew.find(town, args.rig, args.name)
        return attach(ctx, town, ident)


# -- config --------------------------------------------------------------------


@COMMANDS.command(
    "config agent",
    "Agent runtimes: list | set NAME COMMAND... | default NAME",
    arg("action", choices=["list", "set", "default"]),
    arg("words", nargs="*", help="set: NAME COMMAND...; default: NAME"),
    arg("--preset", default="", help="set: the preset it builds on (default: NAME if a preset, else custom)"),
    arg("--env", action="append", default=[], metavar="K=V", help="set: extra environment for its sessions"),
    arg("--prompt-style", default="", choices=["", "arg", "flag", "nudge", "none"], help="set: how it takes the startup prompt"),
    arg("--role", help="default: only for this role (mayor, deacon, witness, refinery, polecat, crew)"),
)
def config_agent(ctx, args):
    if args.action == "list":
        return _agent_list(ctx)
    if args.action == "set":
        if len(args.words) < 2:
            raise InvalidInput("usage: gt config agent set NAME COMMAND...")
        return _agent_set(ctx, args, args.words[0], args.words[1:])
    if len(args.words) != 1:
        raise InvalidInput("usage: gt config agent default NAME [--role ROLE]")
    return _agent_default(ctx, args.words[0], args.role)


def _agent_list(ctx):
    from ..town import config

    with _town() as town:
        cfg = town.config
        rows = []
        for name in config.known_agents(cfg):
            preset = config.resolve_agent(cfg, name)
            roles = sorted(r for r, a in cfg.role_agents.items() if a == name)
            rows.append({
                "name": name, "default": name == cfg.default_agent, "roles": roles,
                "command": list(preset.command), "town_defined": name in cfg.agents,
                "description": preset.description,
            })  # fmt: skip
    if ctx.json:
        ctx.emit_json(rows)
        return
    for r in rows:
        mark = "*" if r["default"] else " "
        extra = f" (roles: {', '.join(r['roles'])})" if r["roles"] else ""
        ctx.out(f"{mark} {r['name']:<10} {' '.join(r['command']) or '-':<50} {r['description']}{extra}")


def _agent_set(ctx, args, name, words):
    import shlex

    from ..town import config

    command = shlex.split(words[0]) if len(words) == 1 else list(words)
    env = {}
    for item in args.env:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise InvalidInput(f"bad --env {item!r}: use K=V")
        env[key] = value
    with _town() as town:
        config.set_agent(town.root, name, command, preset=args.preset, env=env, prompt_style=args.prompt_style)
    ctx.emit({"name": name, "command": command, "env": env}, f"Agent {name}: {shlex.join(command)}")


def _agent_default(ctx, name, role):
    from ..town import config

    with _town() as town:
        config.set_default(town.root, name, role=role)
    ctx.emit({"default": name, "role": role or ""}, f"Default agent{' for ' + role if role else ''}: {name}")


@COMMANDS.command("config get", "A town setting by dotted key (default_agent, daemon.heartbeat_s, nudge.idle_s, ...)",
                  arg("key"))  # fmt: skip
def config_get(ctx, args):
    import msgspec

    from ..town import config

    with _town() as town:
        value = config.get_key(town.root, args.key)
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    ctx.emit({"key": args.key, "value": value}, text)


@COMMANDS.command("config set", "Change a town setting (the value is checked before it is saved)",
                  arg("key"), arg("value"))  # fmt: skip
def config_set(ctx, args):
    from ..town import config

    with _town() as town:
        config.set_key(town.root, args.key, args.value)
        value = config.get_key(town.root, args.key)
    ctx.emit({"key": args.key, "value": value}, f"{args.key} = {value}")


@COMMANDS.command(
    "config sandbox",
    "Agent sandboxes: show | on | off | network ROLE host|none",
    arg("action", choices=["show", "on", "off", "network"]),
    arg("words", nargs="*", help="network: ROLE (or * for every role) and host or none"),
)
def config_sandbox(ctx, args):
    from ..sandbox.launch import OFF_WARNING
    from ..town import config

    with _town() as town:
        if args.action == "show":
            s = town.config.sandbox
        elif args.action == "network":
            if len(args.words) != 2:
                raise InvalidInput("usage: gt config sandbox network ROLE host|none")
            s = config.set_sandbox(town.root, network={args.words[0]: args.words[1]})
        else:
            if args.words:
                raise InvalidInput(f"gt config sandbox {args.action} takes no arguments")
            s = config.set_sandbox(town.root, enabled=args.action == "on")
    if ctx.json:
        ctx.emit_json(s)
        return
    nets = ", ".join(f"{r}={n}" for r, n in sorted(s.network.items())) or "host for every role"
    ctx.out(f"sandbox: {'on (bwrap)' if s.enabled else 'OFF'}; network: {nets}")
    if not s.enabled:
        import sys

        print(f"gt: {OFF_WARNING}", file=sys.stderr)


# -- up / down / status ----------------------------------------------------------


def _emit_start(ctx, results) -> None:
    if ctx.json:
        ctx.emit_json(results)
        return
    for r in results:
        ctx.out(f"{r.status:<10} {r.address:<28} {r.session}")


@COMMANDS.command("up", "Start the daemon, the Mayor, the Deacon and each rig's Witness and Refinery",
                  arg("--no-daemon", action="store_true", help="start the agents only"))
def up(ctx, args):
    from ..patrol import daemon
    from ..town.lifecycle import up as town_up

    with _town() as town:
        if not town.config.sandbox.enabled:
            import sys

            from ..sandbox.launch import OFF_WARNING

            print(f"gt: {OFF_WARNING}", file=sys.stderr)
        results = town_up(town, actor=ctx.actor, daemon=not args.no_daemon)
        d = daemon.status(town)
    if ctx.json:
        ctx.emit_json({"agents": results, "daemon": d})
        return
    _emit_start(ctx, results)
    ctx.out(f"daemon     {'running (pid %d)' % d.pid if d.running else 'not running'}")


@COMMANDS.command("down", "Stop the town's agents (gracefully, then by force) and the daemon",
                  arg("--grace", type=float, default=5.0, help="seconds to wait before force (default 5)"))
def down(ctx, args):
    from ..town.lifecycle import down as town_down

    with _town() as town:
        stopped = town_down(town, actor=ctx.actor, grace_s=args.grace)
    ctx.emit({"stopped": stopped},
             f"Stopped {len(stopped)} session(s) and the daemon" if stopped else "Nothing was running; daemon stopped")


@COMMANDS.command("status", "Town, rigs, agents, tmux socket and daemon")
def status(ctx, args):
    from ..costs.report import format_usd
    from ..town.status import town_status

    with _town() as town:
        st = town_status(town)
    if ctx.json:
        ctx.emit_json(st)
        return
    ctx.out(f"Town {st.town.name} at {st.town.root}")
    ctx.out(f"tmux -L {st.tmux.socket}: {'running, %d session(s)' % st.tmux.session_count if st.tmux.running else 'not running'}")
    d = st.daemon
    ctx.out(f"daemon: {'running (pid %d, %d beats)' % (d['pid'], d['beats']) if d['running'] else 'not running'}")
    ctx.out("rigs: " + (", ".join(f"{r.name} ({r.prefix})" for r in st.rigs) or "none"))
    for a in st.agents:
        state = "alive" if a.alive else ("dead pane" if a.running else "stopped")
        if a.role == "boot":
            state = "(daemon)"
        if a.dialog:
            state = "DIALOG"
        hook = ",".join(a.hook) or "-"
        queued = f" nudges queued={a.nudges_pending} (oldest {a.nudge_oldest_age_s:.0f}s)" if a.nudges_pending else ""
        cost = f" cost={format_usd(a.cost_usd)}" if a.tokens else ""
        stuck = f" stuck on a dialog: {a.dialog!r} (gt mayor attach / tmux attach to answer it)" if a.dialog else ""
        ctx.out(f"  {a.address:<28} {a.session:<20} {state:<9} hook={hook:<12} last={a.last_activity[:19]}"
                f" sandbox={_sandbox_word(a.sandbox)}{cost}{queued}{stuck}")
    for s in st.other_sessions:
        ctx.out(f"  (unknown session {s})")
    if any(a.tokens for a in st.agents):
        ctx.out(f"costs: {format_usd(st.cost_usd)} in all (gt costs)")
    if st.costs_error:
        ctx.out(f"costs: not shown: {st.costs_error}")
    for f in st.nudge_failures[-5:]:
        ctx.out(f"nudge failed: {f.get('session')} at {f.get('at', '')[:19]}: {f.get('reason', '')}")


def _sandbox_word(box) -> str:
    from ..sandbox.policy import summary

    return summary(box)


# -- daemon --------------------------------------------------------------------


def _emit_daemon(ctx, st, text: str) -> None:
    ctx.emit(st, text)


@COMMANDS.command("daemon start", "Start the heartbeat daemon in the background",
                  arg("--interval", type=float, help="seconds between beats (default: settings)"))
def daemon_start(ctx, args):
    from ..patrol import daemon

    from ..modelstub import service as model_proxy

    with _town() as town:
        model_proxy.ensure_forward_from_env(town.root)  # a key in our env: the agents' proxy gets it, nobody else
        st = daemon.start(town, interval_s=args.interval)
    _emit_daemon(ctx, st, f"daemon running (pid {st.pid})")


@COMMANDS.command("daemon stop", "Stop the daemon")
def daemon_stop(ctx, args):
    from ..patrol import daemon

    with _town() as town:
        was = daemon.stop(town)
        st = daemon.status(town)
    _emit_daemon(ctx, st, "daemon stopped" if was else "daemon was not running")


@COMMANDS.command("daemon status", "Is the daemon running? last beat")
def daemon_status(ctx, args):
    import time

    from ..patrol import daemon

    with _town() as town:
        st = daemon.status(town)
    if st.running:
        ago = f", last beat {time.time() - st.last_beat:.1f}s ago" if st.last_beat else ""
        text = f"daemon running (pid {st.pid}, {st.beats} beats{ago})"
    else:
        from ..patrol import revive

        wanted = revive.is_wanted(town.root)
        text = "daemon not running" + (" (the town is up: the next patrol step or agent gt revives it)" if wanted else "")
    _emit_daemon(ctx, st, text)


@COMMANDS.command(
    "daemon enable-supervisor",
    "Install a systemd user unit that keeps the daemon alive (refused where systemd does not run)",
    arg("--print", dest="print_only", action="store_true", help="print the unit file instead of installing it"),
)
def daemon_enable_supervisor(ctx, args):
    """Writes ~/.config/systemd/user/gastown-<town>-<hash>.service (a standby daemon, Restart=always),
    then systemctl --user daemon-reload and enable --now.  Where no systemd user manager answers: one
    error line, exit 1, nothing written."""
    from ..patrol import supervisor

    with _town() as town:
        root = town.root
    if args.print_only:
        text = supervisor.unit_text(root)
        ctx.emit({"unit": supervisor.unit_name(root), "text": text}, text.rstrip("\n"))
        return 0
    path = supervisor.install(root)
    ctx.emit({"unit": path.name, "path": str(path)}, f"installed and started {path.name} ({path})")


@COMMANDS.command(
    "daemon run",
    "Run the daemon in the foreground",
    arg("--interval", type=float, help="seconds between beats (default: settings)"),
    arg("--beats", type=int, help="stop after this many beats"),
)
def daemon_run(ctx, args):
    from ..patrol import daemon

    with _town() as town:
        root = town.root
    return daemon.run(root, interval_s=args.interval, beats=args.beats)
