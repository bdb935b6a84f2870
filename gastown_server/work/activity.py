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
    events = ledger.recent_events(
        limit=limit or None, kinds=kinds or (), actor=actor,
        since=clock.ago(since_s) if since_s is not None else "",
    )  # fmt: skip
    return list(reversed(events))


#: Patrol bookkeeping that buries the news (every patrol cycle pours and burns a wisp): feeds hide
#: it by default, with any event about a wisp (``<prefix>-wisp-...``).
PATROL_NOISE_KINDS = ("wisp_poured", "molecule_burned", "molecule_squashed", "heartbeat")


def is_patrol_noise(event: Event) -> bool:
    return event.kind in PATROL_NOISE_KINDS or "-wisp-" in (event.bead_id or "")


def news(ledger, *, limit: int = 100, kind: str = "", rig=None, noise: bool = False) -> list[Event]:
    """The newest events, newest first (the dashboard's feed): of one ``kind``, of one ``rig`` (its
    beads' prefix or its agents), patrol noise left out unless ``noise``."""
    return ledger.recent_events(
        limit=limit, kinds=[kind] if kind else (), exclude_kinds=() if noise else PATROL_NOISE_KINDS,
        exclude_ephemeral=not noise, prefix=rig.prefix if rig else "", actor_prefix=rig.name + "/" if rig else "",
    )  # fmt: skip


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
