"""PreToolUse guards: shell commands a town agent must not run, and why (``gt tap guard``).

Gas Town's Claude settings refuse, before the tool runs, what an unattended
agent must never do on its own: become root (``sudo``/``doas``/``su``),
install packages (system, language or global installs change the machine
for every agent), and rewrite shared history (force-pushes).  The reason is
what the agent reads back, so it says what to do instead.
"""

from __future__ import annotations

import re

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
