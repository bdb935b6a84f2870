"""Mail for an agent's context: what ``gt mail check --inject`` adds to a Claude Code prompt.

The SessionStart and UserPromptSubmit hooks of the town's Claude settings
run ``gt mail check --inject``; its stdout becomes context for the model.
Each unread message is injected once per agent (ids remembered in
``<state>/mail-injected/<address>.json``); a new session starts afresh
(SessionStart passes ``fresh``), so a successor sees everything unread.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from . import hooks


def _state_file(state_dir: Path, address: str) -> Path:
    return Path(state_dir) / "mail-injected" / (re.sub(r"[^A-Za-z0-9_.-]", "_", address) + ".json")


def to_inject(ledger, state_dir: Path, address: str, *, fresh: bool = False) -> list:
    """Unread messages not injected yet (all unread ones when ``fresh``); remembers them."""
    unread = hooks.unread_mail(ledger, address)
    path = _state_file(state_dir, address)
    seen: set[str] = set()
    if not fresh:
        try:
            seen = set(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            seen = set()
    new = [m for m in unread if m.id not in seen]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(sorted({m.id for m in unread} & (seen | {m.id for m in new}))))
    os.replace(tmp, path)
    return new


def render(messages: list, address: str) -> str:
    """The context block (empty when there is nothing new)."""
    if not messages:
        return ""
    lines = [f"<system-reminder>", f"You have {len(messages)} new message(s) (gt mail inbox; read one with gt mail read <id>):"]
    for m in messages:
        lines.append(f"- {m.id} from {m.sender or '?'}: {m.title}")
        body = (m.description or "").strip().splitlines()[:6]
        lines += [f"    {b}" for b in body]
    lines.append("</system-reminder>")
    return "\n".join(lines)
