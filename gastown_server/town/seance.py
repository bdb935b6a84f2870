"""Seance listings: an agent's sessions from the ledger, completed from the runtimes' own files.

A town session (``session_started`` event) whose runtime writes session
files gastown reads (Claude Code, Codex) gets what its file says: the
runtime's own id (Codex), the last prompt, the number of user messages.
Sessions found only in those files (Claude Code's project directory of the
agent's working directory: a human's ``claude`` there, or sessions from
before the town recorded them) are listed too, ``source = "runtime"``, and
can be asked like the others (``gt seance <agent> --talk <id>``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import NotFound
from .core import Town
from .identity import Identity
from .lifecycle import SessionRecord, sessions_of


def _preset(town: Town, name: str):
    from . import config

    try:
        return config.resolve_agent(town.config, name or None)
    except Exception:  # a runtime removed from the config since: list the record as it is
        return None


def predecessors(town: Town, ident: Identity) -> list[SessionRecord]:
    """The agent's sessions, newest first: the town's, then those only its runtime's files know."""
    from ..runtime import native

    records = sessions_of(town, ident)
    project_dirs: dict[str, object] = {}
    for rec in records:
        preset = _preset(town, rec.runtime)
        if preset is None or not preset.log_format or not rec.logs:
            continue
        files = native.session_files(preset.log_format, rec.logs)
        ns = next((n for n in (native.read_session(preset.log_format, p) for p in files) if n is not None), None)
        if ns is not None:
            if ns.native_id != rec.session_id:
                rec.native_id = ns.native_id
            rec.summary, rec.messages, rec.bad_lines = ns.last_prompt, ns.user_messages, ns.bad_lines
        if preset.log_format == "claude":
            project_dirs.setdefault(str(Path(rec.logs).parent), preset)
            # Town sessions have a config dir of their own; a human's `claude` in the agent's
            # directory writes to the human's (``$CLAUDE_CONFIG_DIR`` or ``~/.claude``).
            mine = native.claude_project_dir(dict(os.environ), Path(rec.cwd)) if rec.cwd else None
            if mine is not None:
                project_dirs.setdefault(str(mine), preset)
    known = {r.session_id for r in records}
    extra = []
    for project, preset in project_dirs.items():
        for p in sorted(Path(project).glob("*.jsonl")):
            if p.stem in known:
                continue
            ns = native.read_session("claude", p)
            if ns is None:
                continue
            known.add(ns.native_id)
            extra.append(SessionRecord(
                event_id=0, at=ns.started or ns.updated, address=ident.address, session=ident.session,
                session_id=ns.native_id, runtime=preset.name, cwd=ns.cwd or ident.cwd, logs=str(p), source="runtime",
                summary=ns.last_prompt, messages=ns.user_messages, bad_lines=ns.bad_lines,
            ))  # fmt: skip
    return sorted(records + extra, key=lambda r: r.at, reverse=True) if extra else records


def runtime_only_session(town: Town, ident: Identity, session_id: str) -> SessionRecord:
    """A session of ``ident`` known only from its runtime's files, by id or unique prefix."""
    found = [r for r in predecessors(town, ident) if r.source == "runtime" and r.session_id.startswith(session_id.strip())]
    if len(found) != 1:
        what = "is ambiguous" if found else "is neither in this town's history nor in its runtime's session files"
        raise NotFound(f"session {session_id!r} of {ident.address} {what} (see gt seance {ident.address})")
    return found[0]
