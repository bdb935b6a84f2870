"""``formula/list``, ``formula/show``, ``mol/status``: workflows and their molecules."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidInput
from ...formulas import molecule
from .. import types as t
from ..registry import method


def _plain_name(kind: str, value: str | None) -> str | None:
    """Over RPC a formula or rig is named, never a path: the CLI reads formula files, a client may not."""
    if value is not None and ("/" in value or "\\" in value or value in (".", "..") or value.endswith(".toml")):
        raise InvalidInput(f"{kind} must be a name (see formula/list), not a path: {value!r}")
    return value


@method("formula/list", t.FormulaListParams, t.FormulaListResult)
def formula_list(call, p: t.FormulaListParams) -> t.FormulaListResult:
    """Formulas in the search path (built-in, town, rig) with layer, type and description."""
    from ...formulas.service import list_formulas

    items = list_formulas(call.town_root, _plain_name("rig", p.rig))
    return t.FormulaListResult([t.FormulaEntry(**item) for item in items])


@method("formula/show", t.FormulaShowParams, dict[str, Any])
def formula_show(call, p: t.FormulaShowParams) -> dict[str, Any]:
    """A formula as data: name, version, type, layer, source, description, vars, steps/template/legs, squash."""
    from ...formulas import search
    from ...formulas.service import describe

    name = _plain_name("formula", p.name)
    return describe(search.load(name, call.town_root, _plain_name("rig", p.rig)))


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
