"""``gt feed`` and ``gt trail``: what happened in the town lately.

The feed is the ledger's ``events`` table (every mutation writes one row).
The trail is a summary per kind: ``beads`` (recently changed beads),
``hooks`` (hook and unhook events) and ``commits`` (each rig's recent commits,
from its canonical clone's ``git log --all``).
"""

from __future__ import annotations

import subprocess

import msgspec

from ..beads import clock
from ..beads.models import Event
from ..errors import InvalidInput

TRAIL_KINDS = ("all", "beads", "hooks", "commits")
_HOOK_KINDS = ("hooked", "unhooked", "slung", "molecule_attached")


def feed(ledger, *, since_s: float | None = None, limit: int = 100, actor: str = "", kinds: list[str] | None = None) -> list[Event]:
    """Events, oldest first: the last ``limit`` of them, within ``since_s`` seconds when given."""
    if limit is not None and limit < 0:
        raise InvalidInput("--limit must not be negative")
    where, params = ["1=1"], []
    if since_s is not None:
        where.append("at >= ?")
        params.append(clock.ago(since_s))
    if actor:
        where.append("actor = ?")
        params.append(actor)
    if kinds:
        where.append(f"kind IN ({','.join('?' * len(kinds))})")
        params.extend(kinds)
    sql = f"SELECT id, at, actor, kind, bead_id, payload FROM events WHERE {' AND '.join(where)} ORDER BY id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = ledger.conn.execute(sql, params).fetchall()
    return [Event(r[0], r[1], r[2], r[3], r[4], msgspec.json.decode(r[5])) for r in reversed(rows)]


class TrailItem(msgspec.Struct, omit_defaults=False):
    kind: str
    at: str
    actor: str
    id: str
    text: str
    rig: str = ""


def trail(town, kind: str = "all", *, since_s: float | None = None, limit: int = 20) -> list[TrailItem]:
    if kind not in TRAIL_KINDS:
        raise InvalidInput(f"unknown trail {kind!r} (one of {', '.join(TRAIL_KINDS)})")
    ledger = town.ledger
    items: list[TrailItem] = []
    cutoff = clock.ago(since_s) if since_s is not None else ""
    if kind in ("all", "beads"):
        sql = ("SELECT id, updated_at, COALESCE(assignee, ''), status, title FROM issues WHERE status != 'tombstone' "
               "AND issue_type NOT IN ('agent', 'role', 'rig') AND updated_at >= ? ORDER BY updated_at DESC LIMIT ?")
        for i, at, who, status, title in ledger.conn.execute(sql, (cutoff, limit)):
            items.append(TrailItem(kind="bead", at=at, actor=who, id=i, text=f"[{status}] {title}"))
    if kind in ("all", "hooks"):
        for e in feed(ledger, since_s=since_s, limit=limit, kinds=list(_HOOK_KINDS)):
            who = e.payload.get("assignee") or e.payload.get("address") or ""
            items.append(TrailItem(kind="hook", at=e.at, actor=e.actor, id=e.bead_id, text=f"{e.kind} {who}".strip()))
    if kind in ("all", "commits"):
        for rig in town.rigs():
            items += _commits(rig, since_s, limit)
    items.sort(key=lambda x: x.at, reverse=True)
    return items[:limit] if limit else items


def _commits(rig, since_s: float | None, limit: int) -> list[TrailItem]:
    argv = ["git", "-C", rig.repo, "log", "--all", f"-n{max(1, limit)}", "--date=iso-strict", "--format=%H%x09%cI%x09%an%x09%s"]
    if since_s is not None:
        argv.append(f"--since={int(since_s)} seconds ago")
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    items = []
    for line in out.splitlines():
        sha, at, who, subject = (line.split("\t", 3) + ["", "", ""])[:4]
        try:
            at = clock.parse(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if at else at
        except ValueError:
            pass
        items.append(TrailItem(kind="commit", at=at, actor=who, id=sha[:12], text=subject, rig=rig.name))
    return items
