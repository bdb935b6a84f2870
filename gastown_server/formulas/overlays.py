"""Overlays: a town's changes to a formula, kept in the town, applied on load.

``<town>/formulas/overlays/<name>.toml`` changes the formula ``<name>`` as
the search path finds it (usually a built-in), so a town can adjust a
shipped formula without copying it: an upgrade brings the new built-in and
the town's changes still apply.  Merge rules (docs/formulas.md "Overlays"):

- top-level keys (``description``, ``title``, ``phase``, ...) replace the
  formula's; tables (``[squash]``, ``[synthesis]``, ``[compose]``) merge key
  by key;
- ``[vars.<name>]`` merges field by field into the variable (a new name adds
  a variable);
- ``[[steps]]`` (and ``[[template]]``, ``[[legs]]``, ``[[aspects]]``) merge by
  ``id``: an existing step gets the keys the overlay gives (the others are
  kept; ``children`` is replaced whole), a new id is appended;
- ``remove_steps = ["id", ...]`` drops steps; what needed a dropped step
  needs what it needed.

``formula`` and ``extends`` cannot be changed by an overlay.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from ..errors import Conflict, NoTown, NotFound
from .errors import FormulaError

_STEP_LISTS = ("steps", "template", "legs", "aspects")
_TABLES = ("squash", "synthesis", "compose")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def directory(town: Path | None) -> Path | None:
    if town is None:
        from ..paths import find_town_root

        town = find_town_root()
    return None if town is None else Path(town) / "formulas" / "overlays"


def path_for(town: Path | None, name: str) -> Path:
    if not _NAME.match(name):
        raise FormulaError(name, "", "not a formula name")
    where = directory(town)
    if where is None:
        raise NoTown("overlays live in a town (<town>/formulas/overlays): run inside one or set GT_TOWN")
    return where / f"{name}.toml"


def find(town: Path | None, name: str) -> Path | None:
    where = directory(town)
    if where is None:
        return None
    path = where / f"{name}.toml"
    return path if path.is_file() else None


def read(path: Path) -> dict[str, Any]:
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormulaError(source, "", "no such overlay") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FormulaError(source, "", f"invalid TOML: {exc}") from None
    return check(data, source)


def check(data: dict[str, Any], source: str) -> dict[str, Any]:
    for key in ("formula", "extends"):
        if key in data:
            raise FormulaError(source, key, "an overlay cannot change a formula's name or parents")
    remove = data.get("remove_steps", [])
    if not isinstance(remove, list) or not all(isinstance(x, str) for x in remove):
        raise FormulaError(source, "remove_steps", "must be a list of step ids")
    for section in _STEP_LISTS:
        items = data.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            raise FormulaError(source, section, "must be an array of tables ([[...]])")
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
                raise FormulaError(source, f"{section}[{i}].id", "every overlay step needs an id")
    return data


def apply(base: dict[str, Any], overlay: Path | dict[str, Any], source: str = "overlay") -> dict[str, Any]:
    """``base`` (a formula's normalised data, extends merged) with the overlay applied."""
    from .loader import normalise

    source = str(overlay) if isinstance(overlay, Path) else source
    data = read(overlay) if isinstance(overlay, Path) else check(overlay, source)
    data = normalise(data, source)
    out = dict(base)
    removed = list(data.get("remove_steps", []))
    for key, value in data.items():
        if key == "remove_steps":
            continue
        if key == "vars" and isinstance(value, dict):
            merged = dict(out.get("vars") or {})
            for name, spec in value.items():
                merged[name] = {**merged.get(name, {}), **spec}
            out["vars"] = merged
        elif key in _STEP_LISTS and isinstance(value, list):
            out[key] = _merge_steps(list(out.get(key) or []), value)
        elif key in _TABLES and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    if removed:
        known = {s.get("id") for section in _STEP_LISTS for s in _walk(out.get(section) or [])}
        for ident in removed:
            if ident not in known:
                raise FormulaError(source, "remove_steps", f"names unknown step {ident!r}")
        for section in _STEP_LISTS:
            if out.get(section):
                out[section] = _remove(out[section], set(removed))
    return out


def _walk(steps: list):
    for s in steps:
        if isinstance(s, dict):
            yield s
            yield from _walk(s.get("children") or [])


def _merge_steps(base: list, changes: list) -> list:
    by_id = {s.get("id"): i for i, s in enumerate(base) if isinstance(s, dict)}
    out = [dict(s) if isinstance(s, dict) else s for s in base]
    for change in changes:
        i = by_id.get(change["id"])
        if i is None:
            by_id[change["id"]] = len(out)
            out.append(dict(change))
        else:
            out[i] = {**out[i], **change}
    return out


def _remove(steps: list, removed: set[str]) -> list:
    """Drop ``removed`` (anywhere in the tree); their dependants inherit their needs."""
    inherited: dict[str, list[str]] = {}
    for s in _walk(steps):
        if s.get("id") in removed:
            inherited[s["id"]] = list(dict.fromkeys([*s.get("needs", []), *s.get("depends_on", [])]))

    def resolve(need: str, seen: frozenset = frozenset()) -> list[str]:
        if need not in inherited:
            return [need]
        if need in seen:
            return []
        return [x for m in inherited[need] for x in resolve(m, seen | {need})]

    def prune(items: list) -> list:
        kept = []
        for s in items:
            if not isinstance(s, dict) or s.get("id") in removed:
                continue
            s = dict(s)
            needs = [*s.get("needs", []), *s.pop("depends_on", [])]
            if needs:
                s["needs"] = list(dict.fromkeys(x for n in needs for x in resolve(n)))
            if s.get("children"):
                s["children"] = prune(s["children"])
            kept.append(s)
        return kept

    return prune(steps)


SKELETON = """\
# Overlay for formula "{name}" ({layer}: {path})
#
# This file is this town's change to that formula.  It is applied whenever
# the formula is loaded by name, and it survives upgrades of the built-ins.
# Top-level keys replace the formula's; [vars.NAME] and [[steps]] entries
# merge field by field (by variable name / step id; new ones are added);
# remove_steps = ["id"] drops steps.  Examples:
#
# description = "Our town's version"
# [vars.backoff_max]
# default = 600
# [[steps]]
# id = "cleanup"
# run = "gt deacon cleanup --verbose"
"""


def create(town: Path | None, name: str, entry, raw: dict, *, text: str | None = None, force: bool = False) -> Path:
    """Write the overlay of ``entry`` (a search-path Entry whose data is ``raw``).

    The overlay is checked (TOML, shape, and the changed formula must be
    valid) before anything is written; the file is replaced atomically.
    """
    from .loader import decode

    path = path_for(town, name)
    if path.exists() and not force:
        raise Conflict(f"{path} exists: edit it, or give --force to replace it")
    body = text if text is not None else SKELETON.format(name=name, layer=entry.layer, path=entry.path)
    try:
        data = tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        raise FormulaError(str(path), "", f"invalid TOML: {exc}") from None
    check(data, str(path))
    decode(apply(raw, data, str(path)), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(path)
    return path


def remove(town: Path | None, name: str) -> Path:
    path = path_for(town, name)
    if not path.is_file():
        raise NotFound(f"no overlay for {name!r} (looked for {path})")
    path.unlink()
    return path


def list_overlays(town: Path | None) -> list[dict[str, str]]:
    where = directory(town)
    if where is None or not where.is_dir():
        return []
    return [{"name": p.name[: -len(".toml")], "path": str(p)} for p in sorted(where.glob("*.toml"))]
