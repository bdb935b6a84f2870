"""Human-readable output shared by ``bd`` commands."""

from __future__ import annotations

from ..errors import InvalidInput

_STATUS_MARK = {
    "open": "○",
    "in_progress": "◐",
    "blocked": "⊘",
    "deferred": "◌",
    "closed": "●",
    "pinned": "◆",
    "hooked": "⚓",
    "tombstone": "✝",
}


def parse_priority(value: str | int) -> int:
    text = str(value).strip().upper()
    if text.startswith("P"):
        text = text[1:]
    if not text.isdigit() or not 0 <= int(text) <= 4:
        raise InvalidInput(f"invalid priority {value!r} (0..4 or P0..P4)")
    return int(text)


def bead_line(bead) -> str:
    who = f" @{bead.assignee}" if bead.assignee else ""
    mark = _STATUS_MARK.get(bead.status, "?")
    return f"{mark} {bead.id} [P{bead.priority}] [{bead.issue_type}] {bead.status}{who} - {bead.title}"


def print_beads(ctx, beads, *, empty: str, heading: str | None = None) -> None:
    if ctx.json:
        ctx.emit_json(ctx.ledger.embed_many(beads))
        return
    if not beads:
        ctx.out(empty)
        return
    if heading:
        ctx.out(heading)
    for bead in beads:
        ctx.out(bead_line(bead))


def show_bead(ctx, ledger, bead) -> None:
    ctx.out(bead_line(bead))
    for label, value in (
        ("Assignee", bead.assignee),
        ("Created", f"{bead.created_at} by {bead.created_by}" if bead.created_by else bead.created_at),
        ("Updated", bead.updated_at),
        ("Closed", f"{bead.closed_at} ({bead.close_reason})" if bead.close_reason else bead.closed_at),
        ("Parent", bead.parent),
        ("Labels", ", ".join(bead.labels)),
        ("External", bead.external_ref),
        ("Defer until", bead.defer_until),
    ):
        if value:
            ctx.out(f"  {label + ':':<12} {value}")
    if ledger.is_blocked(bead.id):
        ctx.out(f"  {'Blocked by:':<12} {', '.join(ledger.blockers(bead.id))}")
    for title, text in (
        ("Description", bead.description),
        ("Design", bead.design),
        ("Acceptance", bead.acceptance_criteria),
        ("Notes", bead.notes),
    ):
        if text:
            ctx.out(f"\n{title}:")
            ctx.out("\n".join("  " + line for line in text.splitlines()))
    if bead.dependencies:
        ctx.out("\nDepends on:")
        for dep in bead.dependencies:
            ctx.out(f"  {dep.depends_on_id} ({dep.type})")
    dependents = ledger.dependents(bead.id)
    if dependents:
        ctx.out("\nDependents:")
        for dep in dependents:
            ctx.out(f"  {dep.issue_id} ({dep.type})")
    if bead.comments:
        ctx.out("\nComments:")
        for c in bead.comments:
            ctx.out(f"  [{c.created_at}] {c.author}: {c.text}")
