"""``bd init``, ``bd config``, ``bd vacuum``, ``bd doctor``: the ledger itself."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import Conflict, InvalidInput
from .framework import Registry, arg

COMMANDS = Registry()


@COMMANDS.command(
    "init",
    "Create a ledger in the current directory (.gastown/ledger.db)",
    arg("--prefix", default="bd", help="id prefix for new beads (default bd)"),
    arg("--path", default=".", help="directory to create it in (default: current)"),
)
def init(ctx, args):
    from ..beads.ids import PREFIX_RE
    from ..beads.store import Ledger
    from ..paths import ledger_path

    if not PREFIX_RE.match(args.prefix):
        raise InvalidInput(f"invalid prefix {args.prefix!r}: lowercase letters and digits, starting with a letter")
    path = Path(getattr(args, "db", None) or ledger_path(Path(args.path).resolve()))
    if path.exists():
        raise Conflict(f"a ledger already exists at {path}")
    with Ledger(path, create=True) as ledger:
        ledger.config_set("issue_prefix", args.prefix, actor=ctx.actor)
    ctx.emit({"path": str(path), "prefix": args.prefix}, f"Initialized ledger at {path} (prefix {args.prefix})")


@COMMANDS.command("config get", "Print a configuration value", arg("key"))
def config_get(ctx, args):
    value = ctx.ledger.config_get(args.key)
    if value is None:
        from ..errors import NotFound

        raise NotFound(f"config key {args.key!r} is not set")
    ctx.emit({"key": args.key, "value": value}, value)


@COMMANDS.command("config set", "Set a configuration value", arg("key"), arg("value"))
def config_set(ctx, args):
    if not args.key.strip():
        raise InvalidInput("config key must not be empty")
    if args.key == "issue_prefix":
        from ..beads.ids import PREFIX_RE

        if not PREFIX_RE.match(args.value):
            raise InvalidInput(f"invalid prefix {args.value!r}")
    ctx.ledger.config_set(args.key, args.value, actor=ctx.actor)
    ctx.emit({"key": args.key, "value": args.value}, f"{args.key} = {args.value}")


@COMMANDS.command("config list", "Print every configuration value", arg("--prefix", default="", help="key prefix"))
def config_list(ctx, args):
    items = ctx.ledger.config_items(args.prefix)
    if ctx.json:
        ctx.emit_json(items)
    else:
        for key, value in items.items():
            ctx.out(f"{key} = {value}")


@COMMANDS.command("vacuum", "Compact the ledger file and truncate the WAL (safe while writers run)")
def vacuum(ctx, args):
    path = ctx.ledger.path
    before = _size(path)
    ctx.ledger.vacuum()
    after = _size(path)
    ctx.emit({"before": before, "after": after}, f"Vacuumed {path}: {before} -> {after} bytes")


def _size(path: Path) -> int:
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += os.path.getsize(f"{path}{suffix}")
        except OSError:
            pass
    return total


@COMMANDS.command(
    "doctor",
    "Check ledger integrity and that the blocked cache is exact",
    arg("--fix", action="store_true", help="rebuild the blocked cache if it is wrong"),
)
def doctor(ctx, args):
    from ..beads import readiness

    ledger = ctx.ledger
    integrity = ledger.integrity_check()
    drift = readiness.cache_drift(ledger)
    if drift and args.fix:
        ledger.rebuild_blocked(actor=ctx.actor)
    result = {"integrity": integrity, "blocked_cache_drift": drift, "fixed": bool(drift and args.fix)}
    if ctx.json:
        ctx.emit_json(result)
    else:
        ctx.out(f"integrity: {integrity}")
        ctx.out("blocked cache: exact" if not drift else f"blocked cache drift: {', '.join(drift)}")
    return 0 if integrity == "ok" and (not drift or args.fix) else 1
