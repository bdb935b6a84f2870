"""``gt doctor|version``: check a town (thin over :mod:`gastown_server.town.doctor`)."""

from __future__ import annotations

from .framework import Registry, arg

COMMANDS = Registry()

_MARK = {"ok": "✓", "warning": "⚠", "error": "✗"}


@COMMANDS.command(
    "doctor", "Check the town (ledger, permissions, tmux, daemon, runtimes, rigs, locks, messaging) "
    "and say how to fix each finding; exit 1 if an error remains",
    arg("--fix", action="store_true", help="repair what is safe to (blocked cache, stale pid file and "
        "git locks, pruned worktrees)"),
    arg("--check", action="append", metavar="ID", help="run only this check (repeatable)"),
    arg("-v", "--verbose", action="store_true", help="list the passing checks too"),
    arg("--rig", help="accepted for Gas Town compatibility: every rig is checked"),
    arg("--restart-sessions", action="store_true", help="accepted for Gas Town compatibility: "
        "doctor never restarts agents (use gt up, or the daemon)"),
)  # fmt: skip
def doctor(ctx, args):
    """Checks: config, ledger, ledger-writable, permissions, blocked-cache, tmux, daemon,
    stale-locks, runtimes, messaging, rigs, worktrees."""
    from ..errors import NoTown
    from ..paths import find_town_root
    from ..town import doctor as doc
    from ..town.core import Town

    root = find_town_root()
    if root is None:
        raise NoTown("not in a town: cd into one, set GT_TOWN, or create one with 'gt install <dir>'")
    with Town(root) as town:
        report = doc.run(town, fix=args.fix, only=args.check)
    if ctx.json:
        ctx.emit_json(report)
    else:
        for f in report.findings:
            if f.severity == "ok" and not args.verbose:
                continue
            state = " (fixed)" if f.fixed else ""
            ctx.out(f"{_MARK[f.severity]} {f.check}: {f.message}{state}")
            if f.fix and not f.fixed:
                ctx.out(f"    fix: {f.fix}")
        passed = sum(f.severity == "ok" for f in report.findings)
        ctx.out(f"{report.town}: {passed} passed, {report.warnings} warning(s), {report.errors} error(s)")
    return 0 if report.ok else 1


@COMMANDS.command("version", "Print gt's version", arg("--short", action="store_true", help="the number only"))
def version(ctx, args):
    from .. import __version__

    ctx.emit({"version": __version__, "program": "gt"}, __version__ if args.short else f"gt version {__version__}")
