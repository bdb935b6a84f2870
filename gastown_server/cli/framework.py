"""A small lazy command framework shared by ``gt`` and ``bd``.

Agents call ``gt``/``bd`` constantly, so start-up must stay lean: a
program's command table maps each top-level word to the module that
implements it, and only that module is imported.  A module declares its
commands with :func:`command`; multi-word names (``"dep add"``) become
argparse sub-commands.

Errors: a :class:`~gastown_server.errors.GastownError` (or a usage error)
prints one line on stderr and exits 1.  Anything else is a bug: one line
too (set ``GT_DEBUG=1`` for the traceback) and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, Callable, NamedTuple, Sequence

# (No dataclasses here: importing them costs milliseconds on every `bd` call.)

Handler = Callable[["Context", argparse.Namespace], "int | None"]


class Arg(NamedTuple):
    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


class Command(NamedTuple):
    name: str
    help: str
    handler: Handler
    args: Sequence[Arg] = ()
    description: str = ""
    #: Unknown ``--name=value`` options are passed as ``args._extra`` (formula variables).
    extra: bool = False


class Registry:
    """Commands declared by one module (``COMMANDS = Registry()``)."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}

    def command(
        self, name: str, help: str, *args: Arg, description: str = "", extra: bool = False
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.commands[name] = Command(name, help, fn, args, description or fn.__doc__ or "", extra)
            return fn

        return deco


class Entry(NamedTuple):
    """A top-level word in a program's table."""

    module: str
    summary: str


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _add_global_options(p: argparse.ArgumentParser, *, inherited: bool = False) -> None:
    # On sub-commands the defaults are suppressed so that a global option
    # given before the command word ("bd --json list") is not reset.
    kw = {"default": argparse.SUPPRESS} if inherited else {}
    p.add_argument("--json", action="store_true", help="machine-readable output", **kw)
    p.add_argument("--actor", help="who is acting (default: $BD_ACTOR, else overseer)", **kw)
    p.add_argument("--db", help="ledger file (default: the town's, found from the cwd or $GT_TOWN)", **kw)


class Context:
    """What a handler needs: parsed args, actor, output, the ledger (lazily)."""

    def __init__(self, prog: str, args: argparse.Namespace) -> None:
        self.prog = prog
        self.args = args
        self.json = bool(getattr(args, "json", False))
        self._ledger = None

    @property
    def actor(self) -> str:
        return (
            getattr(self.args, "actor", None)
            or os.environ.get("BD_ACTOR")
            or os.environ.get("GT_ACTOR")
            or "overseer"
        )

    @property
    def ledger(self):
        if self._ledger is None:
            from ..beads.store import Ledger
            from ..errors import NoTown
            from ..paths import find_ledger

            path = find_ledger(getattr(self.args, "db", None))
            if path is None or not path.exists():
                where = f" at {path}" if path else ""
                raise NoTown(
                    f"no ledger found{where}: run 'bd init' or 'gt install <dir>', or set GT_TOWN"
                )
            self._ledger = Ledger(path)
        return self._ledger

    def out(self, text: str = "") -> None:
        sys.stdout.write(text + "\n")

    def emit_json(self, value: Any) -> None:
        import msgspec

        sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n")
        sys.stdout.flush()

    def emit(self, value: Any, text: str) -> None:
        """``value`` as JSON under ``--json``, else ``text`` (the human line)."""
        if self.json:
            self.emit_json(value)
        else:
            self.out(text)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.disconnect()


def _sub_names(mine: dict[str, Command]) -> set[str]:
    return {n.split(maxsplit=1)[1] for n in mine if " " in n}


def _next_word(argv: Sequence[str], word: str) -> str | None:
    rest = list(argv)[list(argv).index(word) + 1 :] if word in argv else []
    return _first_word(rest)


def _build_parser(prog: str, word: str, registry: Registry, argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    root = _Parser(prog=prog, add_help=True)
    _add_global_options(root)
    subs = root.add_subparsers(dest="_command", metavar="COMMAND")
    mine = {n: c for n, c in registry.commands.items() if n.split()[0] == word}
    if not mine:
        raise UsageError(f"unknown command {word!r}")
    parent = _Parser(add_help=False)
    _add_global_options(parent, inherited=True)
    # A word that is a command AND has sub-commands (``gt hook`` / ``gt hook show``,
    # ``gt escalate TEXT`` / ``gt escalate list``): the bare command unless the next
    # word names a sub-command.
    if word in mine and (len(mine) == 1 or _next_word(argv, word) not in _sub_names(mine)):
        cmd = mine[word]
        description = cmd.description or cmd.help
        if len(mine) > 1:
            description += "\n\n" + _group_help(word, {n: c for n, c in mine.items() if n != word})
        p = subs.add_parser(word, help=cmd.help, description=description, parents=[parent],
                            **({"allow_abbrev": False} if cmd.extra else {}))
        _add_args(p, cmd)
        p.set_defaults(_handler=cmd.handler, _extra_ok=cmd.extra)
        return root
    mine.pop(word, None)
    group = subs.add_parser(word, help=word, parents=[parent], description=_group_help(word, mine))
    group_subs = group.add_subparsers(dest="_subcommand", metavar="SUBCOMMAND")
    group_subs.required = True
    for name, cmd in mine.items():
        p = group_subs.add_parser(
            name.split(maxsplit=1)[1], help=cmd.help, description=cmd.description or cmd.help, parents=[parent],
            **({"allow_abbrev": False} if cmd.extra else {}),
        )
        _add_args(p, cmd)
        p.set_defaults(_handler=cmd.handler, _extra_ok=cmd.extra)
    return root


def _group_help(word: str, mine: dict[str, Command]) -> str:
    lines = [f"{word} commands:"]
    lines += [f"  {n:<20} {c.help}" for n, c in sorted(mine.items())]
    return "\n".join(lines)


def _add_args(p: argparse.ArgumentParser, cmd: Command) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    for a in cmd.args:
        p.add_argument(*a.flags, **a.options)


def _first_word(argv: Sequence[str]) -> str | None:
    takes_value = {"--actor", "--db"}
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in takes_value:
            skip = True
            continue
        if token.startswith("-"):
            continue
        return token
    return None


def _overview(prog: str, table: dict[str, Entry], about: str) -> str:
    width = max(len(w) for w in table)
    lines = [f"usage: {prog} [--json] [--actor NAME] [--db PATH] COMMAND [ARGS]", "", about, "", "commands:"]
    lines += [f"  {w:<{width}}  {e.summary}" for w, e in table.items()]
    lines += ["", f"Run '{prog} COMMAND --help' for a command's options."]
    return "\n".join(lines)


def run(prog: str, table: dict[str, Entry], about: str, argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    word = _first_word(argv)
    if word is None:
        if "--version" in argv:
            from .. import __version__

            print(f"{prog} {__version__}")
            return 0
        print(_overview(prog, table, about), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 1
    ctx = None
    try:
        if word not in table:
            raise UsageError(f"unknown command {word!r} (see '{prog} --help')")
        module = importlib.import_module(table[word].module)
        parser = _build_parser(prog, word, module.COMMANDS, argv)
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "_extra_ok", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args._extra = extra
        ctx = Context(prog, args)
        return int(args._handler(ctx, args) or 0)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into lines
        from ..errors import GastownError

        if not isinstance(exc, GastownError):
            exc = _storage_failure(exc, ctx) or exc
        if isinstance(exc, GastownError):
            print(f"{prog}: error: {exc.message}", file=sys.stderr)
            return 1
        if os.environ.get("GT_DEBUG"):
            raise
        print(f"{prog}: internal error: {type(exc).__name__}: {exc} (set GT_DEBUG=1 for details)", file=sys.stderr)
        return 2
    finally:
        if ctx is not None:
            ctx.close()


def _storage_failure(exc: BaseException, ctx: Context | None):
    """A full disk, a ledger we may not write...: said as such (exit 1), not as an internal error."""
    if not isinstance(exc, OSError) and type(exc).__module__ != "sqlite3":
        return None
    from ..beads.failures import explain

    ledger = getattr(ctx, "_ledger", None) if ctx is not None else None
    path = getattr(ledger, "path", None)
    if path is None:
        try:
            from ..paths import find_ledger

            path = find_ledger(getattr(ctx.args, "db", None) if ctx is not None else None)
        except Exception:  # noqa: BLE001 - only a better message is at stake
            path = None
    return explain(exc, path)
