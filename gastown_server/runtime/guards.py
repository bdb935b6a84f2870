"""PreToolUse guards: shell commands a town agent must not run, and why (``gt tap guard``).

Gas Town's Claude settings refuse, before the tool runs, what an unattended
agent must never do on its own: become root (``sudo``/``doas``/``su``),
install packages (system, language or global installs change the machine
for every agent), and rewrite shared history (force-pushes).  The reason is
what the agent reads back, so it says what to do instead.

The town's Claude settings run this file itself (``python -I -S
.../guards.py``, :func:`hook_command`), not ``gt tap guard``: the hook runs
before every Bash call an agent makes, and a bare interpreter without
site-packages starts in a fraction of the time the full CLI needs (measured
in docs/benchmarks.md), so it imports nothing but ``re``, ``json`` and
``sys``.  Same verdicts, messages and exit codes as ``gt tap guard``.
"""

from __future__ import annotations

import json
import re
import shlex
import sys

_SEP = r"(?:^|[;&|(`]\s*|\$\(\s*|\bthen\s+|\bdo\s+|\bxargs\s+(?:-\S+\s+)*|\benv\s+(?:\S+=\S*\s+)*)"
RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(_SEP + r"(?:sudo|doas|su)\b"),
     "root is not for agents: no sudo/doas/su in a town session. If the machine needs a change, "
     "ask the Overseer (gt escalate \"...\")."),
    (re.compile(_SEP + r"(?:apt|apt-get|aptitude|dpkg|yum|dnf|apk|pacman|zypper|brew|snap)\s+(?:-\S+\s+)*"
                r"(?:install|add|reinstall|-i\b|-S\b)"),
     "package installs are refused in town sessions (they change the machine for every agent). "
     "Ask the Overseer to add it (gt escalate \"need package ...\")."),
    (re.compile(_SEP + r"(?:python3?\s+-m\s+)?(?:pip3?|pipx|uv\s+pip|poetry|gem|cargo)\s+(?:-\S+\s+)*(?:install|add)\b"),
     "package installs are refused in town sessions. Add the dependency to the project's manifest in "
     "your change and say so in the issue; the Overseer installs it."),
    (re.compile(_SEP + r"(?:npm|pnpm|yarn|bun)\s+(?:-\S+\s+)*(?:install|i|add)\s+(?:\S+\s+)*?(?:-g|--global)\b"
                r"|" + _SEP + r"(?:npm|pnpm|yarn|bun)\s+(?:-\S+\s+)*(?:install|i|add)\s+[^-\s;&|]"),
     "package installs are refused in town sessions (npm install <pkg>, global installs). Use what the "
     "project already has; ask the Overseer for new packages."),
    (re.compile(_SEP + r"git\s+(?:-\S+\s+(?:\S+\s+)?)*push\b[^;&|]*(?:\s--force\b|\s--force-with-lease\b|\s-f\b|\s\+\S)"),
     "force-pushes are refused: they can destroy other agents' work. Push normally; `gt done` "
     "submits your branch to the Refinery."),
]


def refusal(command: str) -> str:
    """Why ``command`` is refused ('' = allowed)."""
    text = command or ""
    for pattern, reason in RULES:
        if pattern.search(text):
            return reason
    return ""


def hook_command() -> str:
    """The PreToolUse hook's shell command: this file under this interpreter, isolated and without site."""
    return f"{shlex.quote(sys.executable)} -I -S {shlex.quote(__file__)}"


def main() -> int:
    """The hook: Claude Code's PreToolUse JSON on stdin; exit 2 with the reason on stderr to refuse."""
    raw = sys.stdin.read() if not sys.stdin.isatty() else ""
    try:
        event = json.loads(raw or "{}")
    except ValueError:
        print("gt: error: gt tap guard: stdin is not the hook's JSON (or pass --command)", file=sys.stderr)
        return 1
    tool_input = event.get("tool_input") if isinstance(event, dict) else None
    reason = refusal(str(tool_input.get("command", "")) if isinstance(tool_input, dict) else "")
    if reason:
        print(f"gt tap guard: refused: {reason}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
