"""Reading and validating ``*.formula.toml`` files; resolving ``extends``.

Loading is two passes: each file is decoded and checked on its own (so an
error names the file that has it), then an ``extends`` chain is merged
parent-first (steps, legs and templates by id, variables by name, other
keys replaced) and the merged formula is checked again.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from .errors import FormulaError
from ..beads.models import ISSUE_TYPES
from .model import FORMULA_TYPES, STEP_KINDS, Formula, Step

_STEP_LISTS = ("steps", "template", "legs", "advice", "aspects")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_PATH_RE = re.compile(r"`\$((?:\.[A-Za-z_][\w-]*|\[\d+\])*)`")


def read_raw(path: Path) -> dict[str, Any]:
    """Decode one file into normalised TOML data (no ``extends`` applied)."""
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormulaError(source, "", "no such formula file") from None
    except UnicodeDecodeError as exc:
        raise FormulaError(source, "", f"not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise FormulaError(source, "", f"invalid TOML: {exc}") from None
    return normalise(data, source)


def normalise(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Fold the aliases the original tools accept into one shape."""
    data = dict(data)
    merged: dict[str, Any] = {}
    for section in ("inputs", "vars"):  # [vars] wins over [inputs] on a clash
        table = data.pop(section, None)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise FormulaError(source, section, "must be a table of variables")
        for name, spec in table.items():
            if not isinstance(spec, dict):  # shorthand: name = "default"
                spec = {"default": spec}
            merged[name] = spec
    if merged:
        data["vars"] = merged
    if isinstance(data.get("extends"), str):
        data["extends"] = [data["extends"]]
    for section in ("steps", "template", "legs", "aspects"):
        if isinstance(data.get(section), list):
            data[section] = [_normalise_step(s) for s in data[section]]
    return data


def _normalise_step(step: Any) -> Any:
    """A container's children may be written ``[[steps.steps]]`` (Gas Town) or ``[[steps.children]]``."""
    if not isinstance(step, dict):
        return step
    step = dict(step)
    if isinstance(step.get("steps"), list):  # both spellings in one step: [[steps.steps]] first
        step["children"] = [*step.pop("steps"), *(step.get("children") or [])]
    if isinstance(step.get("children"), list):
        step["children"] = [_normalise_step(k) for k in step["children"]]
    return step


def decode(data: dict[str, Any], source: str, *, partial: bool = False) -> Formula:
    """Type-check normalised data into a :class:`Formula` and validate it.

    ``partial``: a file that extends others may name their steps and
    variables, so only its own shape is checked until it is merged.
    """
    try:
        formula = msgspec.convert(data, Formula, strict=False)
    except msgspec.ValidationError as exc:
        raise _validation_error(source, exc, data) from None
    if not formula.formula:
        formula.formula = _name_from_path(source)
    formula.source = source
    if not partial:
        validate(formula)
    return formula


def _validation_error(source: str, exc: msgspec.ValidationError, data: dict) -> FormulaError:
    text = str(exc)
    match = _PATH_RE.search(text)
    key = ""
    if match:
        key = match.group(1).lstrip(".")
        text = text[: match.start()].rstrip(" -")
    text = text.replace("`", "")
    text = text[0].lower() + text[1:] if text else "invalid value"
    return FormulaError(source, _describe_key(key, data), text)


def _describe_key(key: str, data: dict) -> str:
    """``steps[1].needs`` -> ``steps[1] (id "b").needs`` when the step has an id."""
    m = re.match(r"^(steps|template|legs)\[(\d+)\](.*)$", key)
    if m:
        items = data.get(m.group(1))
        i = int(m.group(2))
        if isinstance(items, list) and i < len(items) and isinstance(items[i], dict) and items[i].get("id"):
            return f'{m.group(1)}[{i}] (id "{items[i]["id"]}"){m.group(3)}'
    return key


def _name_from_path(source: str) -> str:
    name = Path(source).name
    for suffix in (".formula.toml", ".toml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def unknown_step_type(kind: str) -> str:
    return f"unknown step type {kind!r} (a bead type: {', '.join(ISSUE_TYPES)}; or parallel)"


# -- validation -------------------------------------------------------------


def all_steps(steps: list[Step]):
    """Every step, children included, depth first."""
    for step in steps:
        yield step
        yield from all_steps(step.children)


def step_needs(step) -> list[str]:
    return list(dict.fromkeys([*step.needs, *getattr(step, "depends_on", [])]))


def validate(formula: Formula) -> None:
    src = formula.source
    if formula.type not in FORMULA_TYPES:
        raise FormulaError(src, "type", f"unknown formula type {formula.type!r} (one of: {', '.join(FORMULA_TYPES)})")
    for name, var in formula.vars.items():
        key = f"vars.{name}"
        if not _VAR_NAME.match(name):
            raise FormulaError(src, key, "invalid variable name")
        unless = [var.required_unless] if isinstance(var.required_unless, str) else var.required_unless
        for other in unless:
            if other not in formula.vars:
                raise FormulaError(src, f"{key}.required_unless", f"names unknown variable {other!r}")
    if formula.squash and formula.squash.trigger not in ("on_complete", "manual", "never"):
        raise FormulaError(src, "squash.trigger", f"unknown trigger {formula.squash.trigger!r} (on_complete, manual, never)")
    if formula.type == "expansion":
        if not formula.template:
            raise FormulaError(src, "template", "an expansion formula needs [[template]] steps")
        _check_graph(src, "template", formula.template)
    elif formula.type == "convoy":
        if not formula.legs:
            raise FormulaError(src, "legs", "a convoy formula needs [[legs]]")
        _check_graph(src, "legs", formula.legs, extra=_synthesis_ids(formula))
        _check_synthesis(formula, [leg.id for leg in formula.legs])
    elif formula.type == "aspect":
        if not formula.advice and not formula.aspects:
            raise FormulaError(src, "aspects", "an aspect formula needs [[aspects]] (Gas Town) or [[advice]] rules (Beads)")
        for i, rule in enumerate(formula.advice):
            if not rule.target:
                raise FormulaError(src, f"advice[{i}].target", "must name a step id or glob")
        if formula.aspects:
            _check_graph(src, "aspects", formula.aspects, extra=_synthesis_ids(formula))
            _check_synthesis(formula, [a.id for a in formula.aspects])
    else:
        steps = formula.steps or formula.legs
        if not steps and not formula.extends:
            raise FormulaError(src, "steps", f"a {formula.type} formula needs [[steps]]")
        _check_graph(src, "steps", steps)
        if formula.synthesis:
            _check_synthesis(formula, [s.id for s in steps])


def _synthesis_ids(formula: Formula) -> list[str]:
    return [formula.synthesis.id] if formula.synthesis else []


def _check_synthesis(formula: Formula, ids: list[str]) -> None:
    for need in step_needs(formula.synthesis):
        if need not in ids:
            raise FormulaError(formula.source, "synthesis.needs", f"names unknown step {need!r}")


def _check_graph(src: str, section: str, steps: list[Step], extra: list[str] = ()) -> None:
    """Ids present and unique, ``needs`` known, no cycle."""
    seen: dict[str, str] = {}
    flat = list(_keyed(section, steps))
    for key, step in flat:
        if not step.id.strip():
            raise FormulaError(src, f"{key}.id", "must not be empty")
        if step.id in seen:
            raise FormulaError(src, f"{key}.id", f"duplicate step id {step.id!r} (also at {seen[step.id]})")
        seen[step.id] = key
        if step.loop is not None and step.children:
            raise FormulaError(src, f"{key}.loop", "a looped step cannot have children")
        if step.type and step.type not in STEP_KINDS and step.type not in ISSUE_TYPES:
            raise FormulaError(src, f"{key}.type", unknown_step_type(step.type))
        if step.type == "parallel" and not step.children:
            raise FormulaError(src, f"{key}.type", "a parallel step needs children ([[steps.children]]) to run at once")
    known = set(seen) | set(extra)
    for key, step in flat:
        for need in step_needs(step):
            if need not in known:
                raise FormulaError(src, f"{key}.needs", f"names unknown step {need!r}")
            if need == step.id:
                raise FormulaError(src, f"{key}.needs", "a step cannot need itself")
    cycle = _find_cycle({s.id: step_needs(s) for _, s in flat})
    if cycle:
        raise FormulaError(src, f"{seen[cycle[0]]}.needs", "cycle in needs: " + " -> ".join(cycle))


def _keyed(section: str, steps: list[Step]):
    for i, step in enumerate(steps):
        key = f'{section}[{i}] (id "{step.id}")' if step.id else f"{section}[{i}]"
        yield key, step
        yield from _keyed(f"{key}.children", step.children)


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle as [a, b, ..., a], or None (iterative DFS, colours)."""
    colour: dict[str, int] = {}
    for start in graph:
        if colour.get(start):
            continue
        stack = [(start, iter(graph.get(start, ())))]
        path = [start]
        colour[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
                continue
            state = colour.get(nxt, 0)
            if state == 1:
                return path[path.index(nxt):] + [nxt]
            if state == 0 and nxt in graph:
                colour[nxt] = 1
                stack.append((nxt, iter(graph[nxt])))
                path.append(nxt)
    return None


# -- extends ------------------------------------------------------------------


def merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """``child`` extends ``base``: lists of steps by id, vars by name, rest replaced."""
    out = dict(base)
    for key, value in child.items():
        if key == "extends":
            continue
        if key in _STEP_LISTS and isinstance(value, list) and isinstance(out.get(key), list):
            by_id = {item.get("id", f"#{i}"): item for i, item in enumerate(out[key]) if isinstance(item, dict)}
            order = list(by_id)
            for i, item in enumerate(value):
                ident = item.get("id", f"+{i}") if isinstance(item, dict) else f"+{i}"
                if ident not in by_id:
                    order.append(ident)
                by_id[ident] = item
            out[key] = [by_id[i] for i in order]
        elif key == "vars" and isinstance(out.get("vars"), dict):
            out["vars"] = {**out["vars"], **value}
        else:
            out[key] = value
    return out


def load_file(path: Path, resolve_name=None, *, _stack: tuple[tuple[str, str], ...] = ()) -> tuple[Formula, dict]:
    """Load a file and its ``extends`` chain.

    ``resolve_name(name, extending_path) -> Path | None`` finds a parent (the
    search path looks next to the extending file first).  A chain that comes
    back to a file already in it is refused with the chain in the message.
    """
    source = str(path)
    raw = read_raw(path)
    parents = raw.get("extends") or []
    decode(raw, source, partial=bool(parents))  # errors name this file, before any merge
    if not parents:
        return decode(raw, source), raw
    merged: dict[str, Any] = {}
    me = _name_from_path(source)
    here = (*_stack, (me, str(Path(path).resolve())))
    for i, name in enumerate(parents):
        key = f"extends[{i}]"
        if not isinstance(name, str) or not name:
            raise FormulaError(source, key, "must be a formula name")
        if resolve_name is None:
            raise FormulaError(source, key, f"cannot resolve {name!r} (no search path)")
        parent_path = resolve_name(name, Path(path))
        if parent_path is None:
            raise FormulaError(
                source, key, f"extends unknown formula {name!r} (looked next to this file, then along the search path)"
            )
        resolved = str(Path(parent_path).resolve())
        if any(seen == resolved for _, seen in here):
            chain = " -> ".join([n for n, _ in here] + [name])
            hint = ""
            if resolved == here[-1][1]:
                hint = " (a formula cannot extend itself; to change a built-in formula use 'gt formula overlay create')"
            raise FormulaError(source, key, f"extends loop: {chain}{hint}")
        _, parent_raw = load_file(Path(parent_path), resolve_name, _stack=here)
        merged = merge(merged, parent_raw) if merged else dict(parent_raw)
    merged = merge(merged, raw)
    merged.pop("extends", None)
    merged.setdefault("formula", raw.get("formula") or me)
    return decode(merged, source), merged
