"""``formula/list``, ``formula/show``, ``mol/status``: workflows and their molecules."""

from __future__ import annotations

from typing import Any

from ...formulas import molecule
from .. import types as t
from ..registry import method


@method("formula/list", t.FormulaListParams, t.FormulaListResult)
def formula_list(call, p: t.FormulaListParams) -> t.FormulaListResult:
    """Formulas in the search path (built-in, town, rig) with layer, type and description."""
    from ...formulas.service import list_formulas

    items = list_formulas(call.town_root, p.rig)
    return t.FormulaListResult([t.FormulaEntry(**item) for item in items])


@method("formula/show", t.FormulaShowParams, dict[str, Any])
def formula_show(call, p: t.FormulaShowParams) -> dict[str, Any]:
    """A formula as data: name, version, type, layer, source, description, vars, steps/template/legs, squash."""
    from ...formulas import search
    from ...formulas.service import describe

    return describe(search.load(p.name, call.town_root, p.rig))


@method("mol/status", t.MolStatusParams, t.MolStatusResult)
def mol_status(call, p: t.MolStatusParams) -> t.MolStatusResult:
    """A molecule's progress, its current (ready) steps and its steps in pour order."""
    led = call.ledger
    root = molecule.require_molecule(led, p.molecule, call.actor)
    meta = molecule.meta_of(root)
    progress = molecule.progress(led, root.id)
    steps = molecule.steps(led, root.id, limit=p.steps) if p.steps else []
    return t.MolStatusResult(
        root=root,
        formula=str(meta.get("formula", "")),
        vars=dict(meta.get("vars", {})),
        progress=t.MolProgress(**progress.as_dict()),
        current=molecule.current(led, root.id, limit=50),
        steps=steps,
    )
