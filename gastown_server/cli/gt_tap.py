"""``gt tap guard``: the PreToolUse guard the town's Claude Code settings call.

Reads the hook's JSON on stdin (``{"tool_name": "Bash", "tool_input":
{"command": ...}}``) or takes ``--command``; a refused command exits 2 with
the reason on stderr, which Claude Code shows the agent and does not run
the tool.  Thin over :mod:`gastown_server.runtime.guards`.
"""

from __future__ import annotations

import sys

from .framework import Registry, arg

COMMANDS = Registry()


@COMMANDS.command(
    "tap guard",
    "Refuse dangerous shell commands (sudo, package installs, force-pushes): exit 2 with the reason",
    arg("--command", dest="shell_command", help="check this command instead of the hook JSON on stdin"),
)
def tap_guard(ctx, args):
    import json

    from ..errors import InvalidInput
    from ..runtime.guards import refusal

    command = args.shell_command
    if command is None:
        raw = sys.stdin.read() if not sys.stdin.isatty() else ""
        try:
            event = json.loads(raw or "{}")
        except ValueError:
            raise InvalidInput("gt tap guard: stdin is not the hook's JSON (or pass --command)") from None
        tool_input = event.get("tool_input") if isinstance(event, dict) else None
        command = str(tool_input.get("command", "")) if isinstance(tool_input, dict) else ""
    reason = refusal(command)
    if ctx.json:
        ctx.emit_json({"allowed": not reason, "reason": reason})
    if reason:
        print(f"gt tap guard: refused: {reason}", file=sys.stderr)
        return 2
    return 0
