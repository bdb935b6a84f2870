"""Variables: resolving given values against declarations, ``{{var}}`` text.

Given values arrive as strings (``--var disks=10``) or typed (RPC); they
are checked against the declared ``type``, ``enum`` and ``pattern``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .errors import FormulaError
from .model import Formula
from .template import Template, lookup, text_of  # noqa: F401 - re-exported

VAR_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
_FALSE = {"", "0", "false", "no", "off", "none", "null"}


def parse_assignments(items: list[str] | None) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}``."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise FormulaError("--var", item, "expected NAME=VALUE")
        out[name.strip()] = value
    return out


def resolve(formula: Formula, given: Mapping[str, Any], *, require: bool = True) -> dict[str, Any]:
    """Declared variables with defaults applied, given values type-checked.

    ``require``: every required variable must have a value (runtime mode);
    compile mode passes False and keeps the missing ones as placeholders.
    """
    src = formula.source
    declared = formula.vars
    for name in given:
        if name not in declared:
            names = ", ".join(sorted(declared)) or "none"
            raise FormulaError(src, f"vars.{name}", f"unknown variable {name!r} (the formula declares: {names})")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in given and given[name] is not None:
            values[name] = _coerce(src, name, spec.type, given[name])
        elif spec.default is not None:
            values[name] = _coerce(src, name, spec.type, spec.default)
    missing = missing_required(formula, values)
    if require and missing:
        name, unless = missing[0]
        if unless:
            raise FormulaError(src, f"vars.{name}", f"missing variable {name!r}: give it or one of {', '.join(unless)}")
        plain = [n for n, u in missing if not u]
        if len(plain) == 1:
            raise FormulaError(src, f"vars.{name}", f"missing required variable {name!r} (pass --var {name}=...)")
        raise FormulaError(
            src,
            f"vars.{name}",
            "missing required variables " + ", ".join(repr(n) for n in plain)
            + " (pass " + " ".join(f"--var {n}=..." for n in plain) + ")",
        )
    for name, value in values.items():
        spec = declared[name]
        if spec.enum and value not in spec.enum and str(value) not in [str(e) for e in spec.enum]:
            raise FormulaError(src, f"vars.{name}", f"{value!r} is not one of {', '.join(map(str, spec.enum))}")
        if spec.pattern and not re.fullmatch(spec.pattern, str(value)):
            raise FormulaError(src, f"vars.{name}", f"{value!r} does not match pattern {spec.pattern!r}")
    return values


def missing_required(formula: Formula, values: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """Required variables without a value: (name, the ``required_unless`` alternatives)."""
    out = []
    for name, spec in formula.vars.items():
        if name in values:
            continue
        unless = [spec.required_unless] if isinstance(spec.required_unless, str) else spec.required_unless
        if (spec.required and not unless) or (unless and not any(o in values for o in unless)):
            out.append((name, list(unless)))
    return sorted(out, key=lambda item: bool(item[1]), reverse=True)


def _coerce(src: str, name: str, var_type: str, value: Any) -> Any:
    key = f"vars.{name}"
    try:
        if var_type in ("int", "integer"):
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if var_type in ("number", "float"):
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            return int(number) if number.is_integer() and not isinstance(value, float) and "." not in str(value) else number
        if var_type in ("bool", "boolean"):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes", "on"):
                return True
            if text in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if var_type in ("list", "array"):
            if isinstance(value, list):
                return value
            return [v.strip() for v in str(value).split(",") if v.strip()]
    except (TypeError, ValueError):
        raise FormulaError(src, key, f"variable {name!r} must be of type {var_type}, got {value!r}") from None
    return value if isinstance(value, str) else str(value) if not isinstance(value, (list, dict)) else value


def substitute(text: str, values: Mapping[str, Any], src: str, key: str) -> str:
    """Render ``text`` (``{{var}}`` and blocks) with ``values``; errors name ``src`` and ``key``."""
    if "{{" not in text:
        return text
    t = Template(text, src, key)
    t.check(values)
    return t.render(values)


def truthy(text: str) -> bool:
    return text.strip().lower() not in _FALSE


def evaluate(condition: str, values: Mapping[str, Any], src: str, key: str) -> bool:
    """``{{v}}``, ``!{{v}}``, ``{{v}} == x``, ``{{v}} != x`` (bare names allowed)."""
    expr = condition.strip()
    if not VAR_RE.search(expr):  # bare variable names: "skip_tests", "mode == fast"; else literals
        def bare(m: re.Match) -> str:
            try:
                lookup(values, m.group(2))
            except KeyError:
                return m.group(0)
            return f"{m.group(1)}{{{{{m.group(2)}}}}}"

        expr = re.sub(r"^(!?\s*)([A-Za-z_][\w.-]*)", bare, expr)
    for op in ("==", "!="):
        if op in expr:
            left, right = (s.strip().strip("'\"") for s in substitute(expr, values, src, key).split(op, 1))
            return (left == right) if op == "==" else (left != right)
    negate = expr.startswith("!")
    result = truthy(substitute(expr.lstrip("! "), values, src, key))
    return not result if negate else result
