"""Plain functions the CLI and RPC adapters share: find, describe, cook, pour."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from . import search
from .cook import Protomolecule, cook, loader_for
from .loader import all_steps, step_needs
from .model import Formula


def town_for(db: str | None = None) -> Path | None:
    """The town whose formulas apply: the one owning ``db``, else found from the cwd."""
    if db:
        p = Path(db).expanduser().resolve()
        if p.parent.name == ".gastown":
            return p.parent.parent
    from ..paths import find_town_root

    return find_town_root()


def list_formulas(town: Path | None, rig: str | None) -> list[dict]:
    """Every visible formula with its layer, type and description line."""
    from .loader import read_raw
    from .errors import FormulaError

    from . import overlays

    out = []
    for entry in search.catalog(town, rig).values():
        item: dict[str, Any] = {"name": entry.name, "layer": entry.layer, "path": str(entry.path)}
        overlay = overlays.find(town, entry.name)
        if overlay is not None:
            item["overlay"] = str(overlay)
        try:
            raw = read_raw(entry.path)
            item["type"] = raw.get("type", "workflow")
            if raw.get("mol_type"):
                item["mol_type"] = str(raw["mol_type"])
            item["description"] = str(raw.get("description", "")).strip().splitlines()[0:1]
            item["description"] = item["description"][0] if item["description"] else ""
        except FormulaError as exc:
            item["error"] = exc.message
        out.append(item)
    return out


def describe(formula: Formula) -> dict:
    """A formula as data: variables, steps (with needs), legs, squash."""

    def step_dict(s) -> dict:
        d: dict[str, Any] = {"id": s.id, "title": s.title or s.id}
        if step_needs(s):
            d["needs"] = step_needs(s)
        for key in ("type", "run", "expand", "condition"):
            if getattr(s, key, ""):
                d[key] = getattr(s, key)
        if getattr(s, "gate", None) is not None:
            d["gate"] = {k: v for k, v in (("type", s.gate.type), ("condition", s.gate.condition), ("run", s.gate.run)) if v}
        if getattr(s, "loop", None) is not None:
            import msgspec

            d["loop"] = msgspec.to_builtins(s.loop)
        if getattr(s, "children", None):
            d["children"] = [step_dict(c) for c in s.children]
        return d

    import msgspec

    info: dict[str, Any] = {
        "name": formula.formula,
        "type": formula.type,
        "version": formula.version,
        "description": formula.description.strip(),
        "source": formula.source,
        "layer": formula.layer,
        **({"overlay": formula.overlay} if formula.overlay else {}),
        "vars": {k: msgspec.to_builtins(v) for k, v in formula.vars.items()},
    }
    if formula.steps:
        info["steps"] = [step_dict(s) for s in formula.steps]
    if formula.template:
        info["template"] = [step_dict(s) for s in formula.template]
    if formula.legs:
        info["legs"] = [step_dict(s) for s in formula.legs]
    if formula.synthesis:
        info["synthesis"] = {"id": formula.synthesis.id, "title": formula.synthesis.title, "needs": step_needs(formula.synthesis)}
    if formula.aspects:
        info["aspects"] = [step_dict(s) for s in formula.aspects]
    if formula.advice:
        info["advice"] = [msgspec.to_builtins(a) for a in formula.advice]
    if formula.squash:
        info["squash"] = msgspec.to_builtins(formula.squash)
    if formula.phase:
        info["phase"] = formula.phase
    info["step_count"] = sum(1 for _ in all_steps(formula.steps or formula.legs or formula.template or formula.aspects))
    return info


def cook_named(
    name: str,
    given: Mapping[str, Any] | None = None,
    *,
    town: Path | None = None,
    rig: str | None = None,
    target: Mapping[str, str] | None = None,
    aspects: list[str] = (),
    mode: str = "runtime",
    search_path: list[str] = (),
) -> Protomolecule:
    """Cook a formula found by name or path; ``mode="compile"`` for a plan (``bd cook``'s default)."""
    extra = tuple(search_path)
    formula = search.load(name, town, rig, extra)
    return cook(formula, given, load=loader_for(town, rig, extra), target=target, aspects=list(aspects), mode=mode)


# -- overlays -------------------------------------------------------------------------


def overlay_create(town: Path | None, name: str, *, text: str | None = None, force: bool = False) -> dict:
    """Write ``<town>/formulas/overlays/<name>.toml`` (a skeleton, or ``text``), checked first."""
    from . import overlays
    from .errors import FormulaError

    if name.endswith(".toml") or "/" in name:
        raise FormulaError(name, "", "an overlay changes a formula named on the search path, not a file")
    entry = search.resolve(name, town)
    _, raw = search.load_entry(entry, town)
    path = overlays.create(town, name, entry, raw, text=text, force=force)
    return {"name": name, "path": str(path), "formula": str(entry.path), "layer": entry.layer}


def overlay_show(town: Path | None, name: str) -> dict:
    """The overlay's file and data, and the formula as it loads with it."""
    from . import overlays
    from ..errors import NotFound

    path = overlays.find(town, name)
    if path is None:
        raise NotFound(f"no overlay for {name!r} (gt formula overlay create {name})")
    data = overlays.read(path)
    entry = search.resolve(name, town)
    effective = describe(search.load(name, town))
    return {
        "name": name,
        "path": str(path),
        "formula": str(entry.path),
        "layer": entry.layer,
        "text": path.read_text(encoding="utf-8"),
        "overlay": data,
        "effective": effective,
    }


def overlay_remove(town: Path | None, name: str) -> dict:
    from . import overlays

    return {"name": name, "removed": str(overlays.remove(town, name))}
