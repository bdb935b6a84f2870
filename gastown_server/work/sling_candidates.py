"""What a sling picker offers: real work first, internals only when asked.

Seen in both editors: the pickers offered molecule step beads ("Submit with
gt done", a step of some polecat's workflow) and patrol formulas as work.
A step is walked by the agent whose molecule it belongs to, and a patrol
formula is the Deacon's, Witness's or Refinery's loop: slinging either
elsewhere is almost never what the user means, so they are hidden unless
``include_internal`` (and then listed after the real work, marked why).
So is a convoy bead: it tracks work (sling its beads), it is not work itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

from ..beads.store import Ledger
from .convoys import CONVOY_TYPE

#: Formula ``mol_type`` values that are a role's own loop, not work to hand out.
INTERNAL_MOL_TYPES = frozenset({"patrol"})


class SlingCandidate(msgspec.Struct, omit_defaults=True):
    #: ``bead`` (ready work) or ``formula`` (poured, then slung).
    kind: Literal["bead", "formula"]
    #: A bead id or a formula name: what ``sling`` takes as ``bead`` / ``formula``.
    id: str
    title: str
    status: str = ""
    priority: int | None = None
    issue_type: str = ""
    #: A molecule step or a patrol formula (only listed with ``include_internal``).
    internal: bool = False
    #: Why it is internal: ``molecule step of <root>``, ``patrol formula``, ``convoy``.
    why: str = ""


def _molecule_roots(ledger: Ledger, ids: list[str]) -> dict[str, str]:
    """For each dotted id whose top ancestor is a molecule: that root's id."""
    tops = {i: i.split(".", 1)[0] for i in ids if "." in i}
    if not tops:
        return {}
    roots = sorted(set(tops.values()))
    marks = ",".join("?" * len(roots))
    molecules = {r for (r,) in ledger.conn.execute(
        f"SELECT id FROM issues WHERE issue_type = 'molecule' AND id IN ({marks})", roots)}
    return {i: top for i, top in tops.items() if top in molecules}


def candidates(ledger: Ledger, town_root: Path | None, *, include_internal: bool = False,
               limit: int = 200) -> list[SlingCandidate]:
    """Ready beads, then formulas; molecule steps and patrol formulas only with ``include_internal``."""
    from ..formulas.service import list_formulas

    ready = ledger.ready(limit=None)
    steps = _molecule_roots(ledger, [b.id for b in ready])
    work, internal = [], []
    for b in ready:
        c = SlingCandidate("bead", b.id, b.title, b.status, b.priority, b.issue_type)
        if b.id in steps:
            c.internal, c.why = True, f"molecule step of {steps[b.id]}"
            internal.append(c)
        elif b.issue_type == CONVOY_TYPE:
            c.internal, c.why = True, "convoy (sling its beads)"
            internal.append(c)
        else:
            work.append(c)
    for f in list_formulas(town_root, None):
        if f.get("error"):
            continue
        c = SlingCandidate("formula", f["name"], f.get("description", ""), issue_type=f.get("type", ""))
        if f.get("mol_type") in INTERNAL_MOL_TYPES:
            c.internal, c.why = True, f"{f['mol_type']} formula"
            internal.append(c)
        else:
            work.append(c)
    out = work + (internal if include_internal else [])
    return out[:limit] if limit else out
