"""An agent's own work, as Gas Town's ``gt mol ...`` / ``gt hook ...`` verbs see it.

The hook (SPEC: beads with status ``hooked`` assigned to the agent) carries
either a molecule root itself (a slung formula) or an issue whose
``metadata.molecule`` names the molecule poured for it (``gt sling`` of a
bead).  :func:`status` reads both; :func:`step_done` closes a step and says
what comes next (finishing the molecule when it was the last);
:func:`attach`/:func:`detach` edit ``metadata.molecule``;
:func:`attach_from_mail` takes the molecule (or formula) a message names.
"""

from __future__ import annotations

import re

import msgspec

from ..beads.models import Bead
from ..errors import Conflict, InvalidInput, NotFound
from . import hooks


class StepView(msgspec.Struct, omit_defaults=False):
    id: str
    title: str
    status: str
    description: str = ""


class HookedWork(msgspec.Struct, omit_defaults=False):
    bead: str
    title: str
    issue_type: str
    status: str
    #: The molecule attached to (or being) this bead; "" when none.
    molecule: str = ""
    formula: str = ""
    total: int = 0
    closed: int = 0
    complete: bool = False
    current: list[StepView] = msgspec.field(default_factory=list)


class MolStatus(msgspec.Struct, omit_defaults=False):
    address: str
    hook: list[HookedWork]


class StepDone(msgspec.Struct, omit_defaults=False):
    step: str
    molecule: str
    complete: bool
    next: list[StepView]
    #: The digest bead when finishing squashed the molecule.
    digest: str = ""


def _meta(bead: Bead) -> dict:
    try:
        data = msgspec.json.decode(bead.metadata) if bead.metadata else {}
    except msgspec.DecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _is_molecule(bead: Bead) -> bool:
    return bead.issue_type == "molecule" and "formula" in _meta(bead)


def molecule_of(ledger, bead: Bead) -> str:
    """The molecule ``bead`` is (its root) or carries in ``metadata.molecule``; "" when none."""
    if _is_molecule(bead):
        return bead.id
    mol = _meta(bead).get("molecule")
    return mol if isinstance(mol, str) and mol and ledger.exists(mol) else ""


def _view(b: Bead) -> StepView:
    return StepView(id=b.id, title=b.title, status=b.status, description=b.description)


def status(ledger, address: str, *, limit: int = 5) -> MolStatus:
    from ..formulas import molecule

    out = []
    for bead in hooks.hooked_work(ledger, address):
        item = HookedWork(bead=bead.id, title=bead.title, issue_type=bead.issue_type, status=bead.status)
        mol = molecule_of(ledger, bead)
        if mol:
            root = ledger.get(mol)
            p = molecule.progress(ledger, mol)
            item.molecule, item.formula = mol, str(molecule.meta_of(root).get("formula", ""))
            item.total, item.closed, item.complete = p.total, p.closed, p.complete
            item.current = [_view(b) for b in molecule.current(ledger, mol, limit=limit)]
        out.append(item)
    return MolStatus(address=address, hook=out)


def my_molecule(ledger, address: str, ref: str | None = None) -> Bead:
    """``ref``'s molecule; else the one on ``address``'s hook; else the only molecule assigned to it."""
    from ..formulas import molecule

    if ref:
        return molecule.root_of(ledger, ref)
    found = [m for m in (molecule_of(ledger, b) for b in hooks.hooked_work(ledger, address)) if m]
    if len(found) == 1:
        return ledger.get(found[0])
    if len(found) > 1:
        raise InvalidInput(f"{address} has {len(found)} molecules on its hook: name one ({', '.join(found)})")
    return molecule.require_molecule(ledger, None, address)


def step_done(ledger, step_id: str, *, actor: str, reason: str = "done") -> StepDone:
    """Close a step; the molecule's next steps (or, if it was the last, finish the molecule)."""
    from ..formulas import molecule

    root = molecule.root_of(ledger, step_id)
    if step_id == root.id:
        raise InvalidInput(f"{step_id} is the molecule itself: close its steps (gt mol current shows them)")
    step = ledger.get(step_id)
    if step.status == "closed":
        raise Conflict(f"step {step_id} is already closed")
    ledger.close(step_id, actor=actor, reason=reason)
    nxt = molecule.current(ledger, root.id, limit=5)
    digest = None
    if not nxt:
        digest = molecule.finish(ledger, root.id, actor=actor)
    complete = molecule.progress(ledger, root.id).complete if ledger.exists(root.id) else True
    return StepDone(step=step_id, molecule=root.id, complete=complete, next=[_view(b) for b in nxt],
                    digest=digest.id if digest is not None else "")  # fmt: skip


def _record(ledger, bead_id: str, molecule_id: str, *, actor: str) -> None:
    from .sling import record_molecule

    record_molecule(ledger, bead_id, molecule_id, actor=actor)


def _target_bead(ledger, address: str, bead_id: str | None) -> Bead:
    if bead_id:
        return ledger.get(bead_id)
    hooked = hooks.hooked_work(ledger, address)
    if len(hooked) == 1:
        return hooked[0]
    if not hooked:
        raise NotFound(f"nothing on {address}'s hook to attach to: name the bead (gt mol attach <bead> <molecule>)")
    raise InvalidInput(f"{address} has {len(hooked)} hooked beads: name one ({', '.join(b.id for b in hooked)})")


def attach(ledger, address: str, molecule_ref: str, *, bead_id: str | None = None, actor: str) -> HookedWork:
    """Attach molecule ``molecule_ref`` to ``bead_id`` (default: the bead on the hook).

    With an empty hook and no bead named, the molecule itself goes on the hook.
    """
    from ..formulas import molecule

    root = molecule.root_of(ledger, molecule_ref)
    with ledger.mutation("molecule_attached", actor, root.id, {"address": address}):
        if bead_id is None and not hooks.hooked_work(ledger, address):
            hooks.hook(ledger, root.id, address, actor=actor)
            target = ledger.get(root.id)
        else:
            target = _target_bead(ledger, address, bead_id)
            if target.id != root.id:
                _record(ledger, target.id, root.id, actor=actor)
    return _hooked(ledger, target.id)


def detach(ledger, address: str, *, bead_id: str | None = None, actor: str) -> HookedWork:
    """Forget the molecule attached to ``bead_id`` (default: the bead on the hook); the molecule stays."""
    target = _target_bead(ledger, address, bead_id)
    meta = _meta(target)
    if not meta.get("molecule"):
        raise Conflict(f"{target.id} has no molecule attached")
    old = meta.pop("molecule")
    meta["molecules"] = [*(meta.get("molecules") or []), old]
    ledger.update(target.id, actor=actor, metadata=msgspec.json.encode(meta).decode())
    return _hooked(ledger, target.id)


def _hooked(ledger, bead_id: str) -> HookedWork:
    b = ledger.get(bead_id)
    return HookedWork(bead=b.id, title=b.title, issue_type=b.issue_type, status=b.status,
                      molecule=molecule_of(ledger, b))  # fmt: skip


_MOL_LINE = re.compile(r"^\s*(?:molecule|mol|attached_molecule)\s*:\s*(\S+)", re.I | re.M)
_FORMULA_LINE = re.compile(r"^\s*formula\s*:\s*(\S+)", re.I | re.M)


def attach_from_mail(town, address: str, mail_id: str, *, actor: str) -> HookedWork:
    """Attach the molecule a message names (``Molecule: <id>``), or pour the formula it names
    (``Formula: <name>``, with ``Var: k=v`` lines); the message is marked read."""
    from ..formulas.molecule import pour
    from ..formulas.vars import parse_assignments
    from . import mail

    ledger = town.ledger
    msg = mail.show(ledger, mail_id)
    text = f"{msg.subject}\n{msg.body}"
    m = _MOL_LINE.search(text)
    if m:
        result = attach(ledger, address, m.group(1), actor=actor)
    else:
        f = _FORMULA_LINE.search(text)
        if not f:
            raise InvalidInput(f"message {mail_id} names no molecule ('Molecule: <id>') or formula ('Formula: <name>')")
        from ..formulas.service import cook_named

        values = parse_assignments(re.findall(r"^\s*var\s*:\s*(\S+=.*)$", text, re.I | re.M))
        rig = address.split("/")[0] if address.count("/") == 2 else None
        proto = cook_named(f.group(1), values, town=town.root, rig=rig)
        root = pour(ledger, proto, actor=actor, assignee=address)
        result = attach(ledger, address, root.id, actor=actor)
    mail.read(ledger, mail_id, actor=address)
    return result
