"""``gt secret set|list|remove``: the town's credentials (thin over ``gastown_server.sandbox.secrets``).

A value is read from stdin (or a prompt without echo on a terminal), never
from argv: argv is visible to every process in ``ps``.
"""

from __future__ import annotations

from ..errors import InvalidInput
from .framework import Registry, arg

COMMANDS = Registry()


def _town():
    from ..town.core import open_town

    return open_town()


def _read_value(name: str) -> str:
    import sys

    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"value of {name} (not echoed): ")
    return sys.stdin.read()


@COMMANDS.command(
    "secret set",
    "Store a rig's secret (value from stdin or a prompt, never argv)",
    arg("rig"),
    arg("name", help="e.g. git-password (the Refinery's git push/fetch use it), git-username"),
    description="The value is kept 0600 in .gastown/secrets/, which no agent sandbox mounts. "
    "Beads and mail quoting it are refused and escalated.",
)
def secret_set(ctx, args):
    from ..sandbox import secrets

    with _town() as town:
        town.rig(args.rig)  # an unknown rig fails before anything is read
        value = _read_value(args.name)
        entry = secrets.set_secret(town, args.rig, args.name, value)
    ctx.emit(entry, f"Secret {entry.rig}/{entry.name} set ({entry.length} characters)")


@COMMANDS.command("secret list", "List secret names (never values)", arg("rig", nargs="?", help="only this rig"))
def secret_list(ctx, args):
    from ..sandbox import secrets

    with _town() as town:
        rows = secrets.list_secrets(town, args.rig)
    if ctx.json:
        ctx.emit_json(rows)
        return
    if not rows:
        ctx.out("no secrets")
    for r in rows:
        ctx.out(f"{r.rig:<16} {r.name:<24} set {r.set_at[:19]}")


@COMMANDS.command("secret remove", "Forget a rig's secret", arg("rig"), arg("name"))
def secret_remove(ctx, args):
    from ..sandbox import secrets

    if not args.name:
        raise InvalidInput("give a secret name")
    with _town() as town:
        secrets.remove_secret(town, args.rig, args.name)
    ctx.emit({"rig": args.rig, "name": args.name, "removed": True}, f"Secret {args.rig}/{args.name} removed")
