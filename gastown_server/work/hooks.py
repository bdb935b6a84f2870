"""Hooks, the read side (what ``gt prime``/``gt hook`` and the script agent need).

SPEC: an agent's hook is a bead with status ``hooked`` whose ``assignee``
is the agent's address.  Mail is beads of type ``message`` assigned to the
address.  The work-lifecycle issue (sling, done) extends this module; the
names here stay.
"""

from __future__ import annotations

from ..beads.models import Bead
from ..errors import Conflict, InvalidInput

HOOKED = "hooked"


def _addr(address: str) -> str:
    addr = (address or "").strip().rstrip("/")
    if not addr:
        raise InvalidInput("an agent address is required")
    return addr


def hooked_work(ledger, address: str) -> list[Bead]:
    """The beads on ``address``'s hook, oldest first."""
    return ledger.list(status=HOOKED, assignee=_addr(address))


def hooks_by_agent(ledger) -> dict[str, list[str]]:
    """Every hooked bead id grouped by assignee (one query, for status views)."""
    out: dict[str, list[str]] = {}
    for row in ledger.conn.execute("SELECT assignee, id FROM issues WHERE status = 'hooked' ORDER BY created_at, id"):
        out.setdefault(row[0], []).append(row[1])
    return out


def hook(ledger, bead_id: str, address: str, *, actor: str) -> Bead:
    """Put ``bead_id`` on ``address``'s hook (status ``hooked``, assignee = address).

    Also mirrors it in the agent bead's ``hook_bead`` when that agent has one.
    """
    addr = _addr(address)
    with ledger.mutation("hooked", actor, bead_id, {"assignee": addr}):
        bead = ledger.get(bead_id)
        if bead.status in ("closed", "tombstone"):
            raise Conflict(f"{bead_id} is {bead.status}: cannot hook it")
        if bead.status == HOOKED and bead.assignee and bead.assignee != addr:
            raise Conflict(f"{bead_id} is already on {bead.assignee}'s hook")
        bead = ledger.update(bead_id, actor=actor, status=HOOKED, assignee=addr)
        agent = _agent_bead(ledger, addr)
        if agent is not None:
            ledger.update(agent, actor=actor, hook_bead=bead_id)
    return bead


def unhook(ledger, bead_id: str, *, actor: str, status: str = "open") -> Bead:
    with ledger.mutation("unhooked", actor, bead_id):
        bead = ledger.get(bead_id)
        if bead.status != HOOKED:
            raise Conflict(f"{bead_id} is not hooked (status {bead.status})")
        out = ledger.update(bead_id, actor=actor, status=status)
        agent = _agent_bead(ledger, bead.assignee)
        if agent is not None and ledger.get(agent).hook_bead == bead_id:
            ledger.update(agent, actor=actor, hook_bead="")
    return out


def unread_mail(ledger, address: str) -> list[Bead]:
    """Unread mail of ``address`` as beads, oldest first: ``mail.unread_beads`` decides (one rule)."""
    from . import mail

    return mail.unread_beads(ledger, _addr(address))


def _agent_bead(ledger, address: str) -> str | None:
    row = ledger.conn.execute(
        "SELECT id FROM issues WHERE issue_type = 'agent' AND title = ? AND status != 'tombstone' LIMIT 1",
        (address,),
    ).fetchone()
    return row[0] if row else None
