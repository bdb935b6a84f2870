"""Cooking: a formula plus variables becomes a protomolecule.

The protomolecule is the list of template beads a pour will create: each
step with its final text, its place in the tree (``local`` id, so step
``3.1`` becomes bead ``<root>.3.1``) and the steps it needs.  Structural
rewriting happens first (expansions, aspects, convoy legs, cook-time
``condition``s), then numbering, then ``{{var}}`` substitution.  Looped
steps are kept symbolic and rendered lazily, one iteration at a time, so a
million-step Towers of Hanoi is never held in memory.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import msgspec

from ..beads.models import ISSUE_TYPES, PRIORITY_MAX, PRIORITY_MIN
from . import generators
from .errors import FormulaError
from .loader import all_steps, step_needs, unknown_step_type
from .model import AdviceStep, Formula, Step
from .template import Template
from .vars import evaluate, lookup, missing_required, resolve, substitute, text_of

_TARGET_RE = re.compile(r"(?<!\{)\{target(\.title|\.description)?\}(?!\})")
_STEP_RE = re.compile(r"(?<!\{)\{step(\.id|\.title|\.description)?\}(?!\})")


class ProtoStep(msgspec.Struct, omit_defaults=True):
    """One template bead."""

    local: str  # "3", "3.1": the bead id is "<root>.<local>"
    key: str  # the formula's step id ("implement", "move.17")
    title: str
    description: str = ""
    acceptance: str = ""
    issue_type: str = "task"
    priority: int = 2
    labels: list[str] = msgspec.field(default_factory=list)
    assignee: str = ""
    needs: list[str] = msgspec.field(default_factory=list)  # locals
    run: str = ""
    gate: dict | None = None
    container: bool = False
    context: dict | None = None  # loop value, convoy leg
    always: bool = False
    #: Compile mode only: the cook-time condition and the loop, kept as written.
    condition: str = ""
    loop: dict | None = None
    #: A ``type = "parallel"`` container: closed by the walk once its children are.
    parallel: bool = False


class _Loop(msgspec.Struct):
    step: Step
    prefix: str
    start: int
    count: int
    values: Callable[[], Iterator[Any]]
    first_needs: list[str]
    context_name: str
    scope: dict


class Protomolecule:
    """The cooked formula: metadata plus a re-iterable stream of steps."""

    def __init__(
        self,
        formula: Formula,
        values: dict[str, Any],
        plan: list,
        count: int,
        title: str,
        description: str,
        mode: str = "runtime",
        missing: list[str] = (),
    ):
        self.formula = formula
        self.vars = values
        self._plan = plan
        self.count = count
        self.title = title
        self.description = description
        #: ``compile``: text kept with its placeholders, loops and conditions
        #: unexpanded, required variables maybe missing: a plan, not pourable.
        self.mode = mode
        self.missing = list(missing)

    @property
    def name(self) -> str:
        return self.formula.formula

    @property
    def mol_type(self) -> str:
        f = self.formula
        if f.mol_type:
            return f.mol_type
        if "patrol" in f.formula or f.formula in ("mol-boot-triage",):
            return "patrol"
        return "swarm" if f.type == "convoy" or (f.type == "aspect" and f.aspects) else "work"

    @property
    def wisp_default(self) -> bool:
        return self.formula.phase == "vapor"

    def steps(self) -> Iterator[ProtoStep]:
        src = self.formula.source
        for entry in self._plan:
            if isinstance(entry, ProtoStep):
                yield entry
                continue
            loop: _Loop = entry
            step = loop.step
            name = loop.context_name
            key = f"steps.{step.id}"
            title_t = Template(step.title or f"{step.id} {{{{{name}}}}}", src, f"{key}.title")
            desc_t = Template(step.description, src, f"{key}.description")
            acc_t, run_t = Template(step.acceptance, src, f"{key}.acceptance"), Template(step.run, src, f"{key}.run")
            base = _base_fields(step, src)
            label_ts = [Template(label, src, f"{key}.labels") for label in step.labels]
            assignee_t = Template(step.assignee, src, f"{key}.assignee")
            values = dict(loop.scope)
            prev = None
            for k, value in enumerate(loop.values()):
                values[name] = value
                local = f"{loop.prefix}{loop.start + k}"
                if k == 0 or not step.loop.sequential:
                    needs = loop.first_needs
                else:
                    needs = [prev]
                yield ProtoStep(
                    local,
                    f"{step.id}.{k + 1}",
                    title_t.render(values),
                    desc_t.render(values),
                    acc_t.render(values),
                    base["issue_type"],
                    base["priority"],
                    [t.render(values) for t in label_ts],
                    assignee_t.render(values),
                    needs,
                    run_t.render(values),
                    None,
                    False,
                    {name: value},
                    step.always,
                )
                prev = local

    def to_builtins(self, limit: int | None = None) -> dict:
        steps = []
        for i, s in enumerate(self.steps()):
            if limit is not None and i >= limit:
                break
            steps.append(msgspec.to_builtins(s))
        out = {
            "formula": self.name,
            "mode": self.mode,
            "type": self.formula.type,
            "version": self.formula.version,
            "title": self.title,
            "description": self.description,
            "source": self.formula.source,
            "vars": self.vars,
            "mol_type": self.mol_type,
            "step_count": self.count,
            "steps": steps,
        }
        if self.mode == "compile":
            out["placeholders"] = self.placeholders()
            out["missing"] = self.missing
        return out

    def placeholders(self) -> list[str]:
        """Compile mode: the formula's variables its text refers to, in order of use."""
        declared = self.formula.vars
        seen: dict[str, None] = {}
        texts = [self.title, self.description]
        for s in self.steps():
            texts += [s.title, s.description, s.acceptance, s.run, s.assignee, s.condition, *s.labels]
            if s.gate:
                texts += [str(s.gate.get("condition", "")), str(s.gate.get("run", ""))]
        for text in texts:
            if text and "{{" in text:
                for name in Template(text).names:
                    head = name.partition(".")[0]
                    if name in declared or head in declared:
                        seen[name if name in declared else head] = None
        return list(seen)


def _base_fields(step: Step, src: str) -> dict:
    if step.type == "parallel":
        issue_type = "epic"  # Beads' container type: the children are the work
    else:
        issue_type = step.type or ("gate" if step.gate is not None else "task")
    if issue_type not in ISSUE_TYPES:
        raise FormulaError(src, f"steps.{step.id}.type", unknown_step_type(issue_type))
    priority = 2 if step.priority is None else step.priority
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise FormulaError(src, f"steps.{step.id}.priority", f"must be {PRIORITY_MIN}..{PRIORITY_MAX}, got {priority}")
    return {"issue_type": issue_type, "priority": priority}


class _AnyFields(dict):
    """Compile mode: a loop variable whose fields are not known until pour time."""

    def __contains__(self, key) -> bool:
        return True

    def __getitem__(self, key):
        return ""


# -- entry point ------------------------------------------------------------------


Loader = Callable[[str], Formula]


MODES = ("compile", "runtime")


def cook(
    formula: Formula,
    given: Mapping[str, Any] | None = None,
    *,
    load: Loader | None = None,
    target: Mapping[str, str] | None = None,
    aspects: list[str] = (),
    mode: str = "runtime",
) -> Protomolecule:
    """Cook ``formula``; ``load(name)`` fetches formulas it composes with.

    ``mode = "runtime"`` (what pouring needs): every required variable has a
    value, text is rendered, conditions and loops are applied.
    ``mode = "compile"`` (``bd cook``'s default, as in Beads): the structure
    only; text keeps its ``{{...}}`` as written, required variables may be
    missing, conditional steps are kept (with their ``condition``), a loop is
    one step (with its ``loop``).  Both modes check the templates.
    """
    src = formula.source
    if mode not in MODES:
        raise FormulaError(src, "--mode", f"unknown mode {mode!r} (compile or runtime)")
    runtime = mode == "runtime"
    values = resolve(formula, dict(given or {}), require=runtime)
    missing = [] if runtime else [name for name, _ in missing_required(formula, values)]
    # Declared variables without a value render empty and are false in blocks.
    scope = {**{name: None for name in formula.vars}, **values}
    contexts: dict[str, dict] = {}
    if formula.type == "aspect":
        if not formula.aspects:
            raise FormulaError(
                src, "type", "an aspect formula of [[advice]] is applied to another formula (compose.aspects or --aspect)"
            )
        steps = _copy(formula.aspects)  # Gas Town: a parallel analysis, one step per aspect
        for step in steps:
            contexts[step.id] = {"aspect": _context(step, scope, src, "aspects", runtime)}
        steps += _synthesis(formula, [step.id for step in steps])
    elif formula.type == "expansion":
        tgt = dict(target or {})
        tgt.setdefault("id", "work")
        tgt.setdefault("title", formula.title or formula.formula)
        tgt.setdefault("description", "")
        steps, _ = _apply_expansion(Step(id=tgt["id"], title=tgt["title"], description=tgt["description"]), formula, {}, values)
    elif formula.type == "convoy":
        steps = _copy(formula.legs)
        for leg in steps:
            contexts[leg.id] = {"leg": _context(leg, scope, src, "legs", runtime)}
        steps += _synthesis(formula, [leg.id for leg in steps])
    else:
        steps = _copy(formula.steps or formula.legs)
        if formula.type == "parallel" and formula.synthesis:
            steps += _synthesis(formula, [s.id for s in steps])
    if formula.type in ("workflow", "parallel"):
        steps = _expand_all(formula, steps, load, runtime)
        for name in [*(formula.compose.aspects if formula.compose else []), *aspects]:
            steps = _apply_aspect(_load(load, name, src, "compose.aspects"), steps)
    elif aspects:
        for name in aspects:
            steps = _apply_aspect(_load(load, name, src, "--aspect"), steps)
    if runtime:
        steps = _filter_conditions(formula, steps, scope)
    plan, count = _plan(formula, steps, scope, contexts, runtime)
    title = _text(formula.title, scope, src, "title", runtime) if formula.title else _default_title(formula, values)
    description = _text(formula.description, scope, src, "description", runtime)
    return Protomolecule(formula, values, plan, count, title, description, mode, missing)


def _context(step: Step, scope: Mapping[str, Any], src: str, section: str, runtime: bool) -> dict:
    """What a convoy leg's / an aspect's text sees as ``{{leg.*}}`` / ``{{aspect.*}}`` (rendered)."""
    key = f"{section}.{step.id}"
    return {
        "id": step.id,
        "title": _text(step.title or step.id, scope, src, f"{key}.title", runtime),
        "focus": _text(step.focus, scope, src, f"{key}.focus", runtime),
    }


def _text(raw: str, scope: Mapping[str, Any], src: str, key: str, runtime: bool) -> str:
    """Runtime: rendered.  Compile: checked, kept as written."""
    if "{{" not in raw:
        return raw
    t = Template(raw, src, key)
    t.check(scope)
    return t.render(scope) if runtime else raw


def _default_title(formula: Formula, values: dict) -> str:
    shown = ", ".join(f"{k}={text_of(v)}" for k, v in values.items() if not isinstance(v, (list, dict)) and len(str(v)) <= 40)
    return f"{formula.formula} ({shown})" if shown else formula.formula


def _copy(steps: list[Step]) -> list[Step]:
    return msgspec.convert(msgspec.to_builtins(steps), list[Step])


def _load(load: Loader | None, name: str, src: str, key: str) -> Formula:
    if load is None:
        raise FormulaError(src, key, f"cannot load {name!r} (no search path)")
    try:
        return load(name)
    except FormulaError as exc:
        if exc.source == name:  # not found: say where it was referenced
            raise FormulaError(src, key, f"unknown formula {name!r}") from None
        raise


def _synthesis(formula: Formula, ids: list[str]) -> list[Step]:
    syn = formula.synthesis
    if syn is None:
        return []
    needs = step_needs(syn) or list(ids)
    return [Step(id=syn.id, title=syn.title, description=syn.description, needs=needs, acceptance=syn.acceptance, run=syn.run)]


def _rewire(steps: list[Step], old: str, new: list[str], skip: set[str] = frozenset()) -> None:
    for s in all_steps(steps):
        if s.id in skip:
            continue
        for attr in ("needs", "depends_on"):
            needs = getattr(s, attr)
            if old in needs:
                i = needs.index(old)
                setattr(s, attr, list(dict.fromkeys(needs[:i] + new + needs[i + 1 :])))


# -- expansions ---------------------------------------------------------------


def _expand_all(formula: Formula, steps: list[Step], load: Loader | None, runtime: bool = True) -> list[Step]:
    """Apply ``expand`` keys and ``compose`` rules.

    Compose rules match the formula's own steps only (not the steps an
    expansion produced); a template step may itself say ``expand``, up to
    8 levels deep.
    """
    src = formula.source
    rules = []
    if formula.compose:
        rules += [(r.target, None, r.with_, r.vars, "compose.expand") for r in formula.compose.expand]
        rules += [(None, r.select, r.with_, r.vars, "compose.map") for r in formula.compose.map]
    own = {s.id for s in all_steps(steps)}
    depth: dict[str, int] = {}
    while True:
        for s in all_steps(steps):
            name, extra, key = s.expand, s.expand_vars, f"steps.{s.id}.expand"
            if not name and s.id in own:
                for tgt, select, with_, rule_vars, rkey in rules:
                    if (tgt and s.id == tgt) or (select and fnmatch.fnmatchcase(s.id, select)):
                        name, extra, key = with_, rule_vars, rkey
                        break
            if name:
                break
        else:
            return steps
        level = depth.get(s.id, 0) + 1
        if level > 8:
            raise FormulaError(src, key, "expansions nest more than 8 levels deep")
        exp = _load(load, name, src, key)
        if exp.type != "expansion":
            raise FormulaError(src, key, f"{name!r} is a {exp.type} formula, not an expansion")
        if s.children:
            raise FormulaError(src, key, f"cannot expand step {s.id!r}: it has children")
        new, sinks = _apply_expansion(s, exp, extra, None, runtime)
        own.discard(s.id)
        for n in new:
            depth[n.id] = level
        steps = _replace(steps, s.id, new)
        _rewire(steps, s.id, sinks, skip={n.id for n in new})


def _replace(steps: list[Step], old_id: str, new: list[Step]) -> list[Step]:
    out = []
    for s in steps:
        if s.id == old_id:
            out.extend(new)
        else:
            if s.children:
                s.children = _replace(s.children, old_id, new)
            out.append(s)
    return out


def _apply_expansion(target: Step, exp: Formula, extra: Mapping[str, Any], values: dict | None, runtime: bool = True):
    """The expansion's template for ``target``: (steps, sink ids)."""
    local = values if values is not None else resolve(exp, {k: v for k, v in extra.items()}, require=runtime)

    def fill(text: str) -> str:
        def target_field(m: re.Match) -> str:
            return {None: target.id, ".title": target.title or target.id, ".description": target.description}[m.group(1)]

        text = _TARGET_RE.sub(target_field, text)
        if values is None and "{{" in text:  # the expansion's own variables; the rest stay for the outer cook
            text = re.sub(
                r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}",
                lambda m: str(local[m.group(1)]) if m.group(1) in local else m.group(0),
                text,
            )
        return text

    steps = _copy(exp.template)
    for s in all_steps(steps):
        s.id = fill(s.id)
        s.title, s.description, s.acceptance, s.run = fill(s.title), fill(s.description), fill(s.acceptance), fill(s.run)
        s.needs = [fill(n) for n in step_needs(s)]
        s.depends_on = []
    needed = {n for s in steps for n in s.needs}
    for s in steps:
        if not s.needs:
            s.needs = list(step_needs(target))
    sinks = [s.id for s in steps if s.id not in needed] or [steps[-1].id]
    return steps, sinks


# -- aspects --------------------------------------------------------------------


def _apply_aspect(aspect: Formula, steps: list[Step]) -> list[Step]:
    if aspect.type != "aspect":
        raise FormulaError(aspect.source, "type", f"{aspect.formula!r} is not an aspect formula")
    if not aspect.advice:
        raise FormulaError(
            aspect.source, "aspects",
            f"{aspect.formula!r} is a Gas Town aspect formula (a parallel analysis, cooked on its own), not advice",
        )
    for rule in aspect.advice:
        for target in [s for s in all_steps(steps) if fnmatch.fnmatchcase(s.id, rule.target)]:
            before = _advice_list(rule.before) + (rule.around.before if rule.around else [])
            after = _advice_list(rule.after) + (rule.around.after if rule.around else [])
            made_before = [_advice_step(a, target, []) for a in before]
            chain = list(step_needs(target))
            for b in made_before:
                b.needs = chain
                chain = [b.id]
            made_after = []
            prev = [target.id]
            for a in after:
                made_after.append(_advice_step(a, target, prev))
                prev = [made_after[-1].id]
            if made_after:
                _rewire(steps, target.id, prev, skip={target.id, *(m.id for m in made_after)})
            if made_before:
                target.needs, target.depends_on = chain, []
            steps = _insert_around(steps, target.id, made_before, made_after)
    return steps


def _advice_list(value) -> list[AdviceStep]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _advice_step(a: AdviceStep, target: Step, needs: list[str]) -> Step:
    def fill(text: str) -> str:
        return _STEP_RE.sub(
            lambda m: {None: target.id, ".id": target.id, ".title": target.title or target.id,
                       ".description": target.description}[m.group(1)],
            text,
        )

    return Step(id=fill(a.id), title=fill(a.title), description=fill(a.description), type=a.type, run=fill(a.run), needs=list(needs))


def _insert_around(steps: list[Step], target_id: str, before: list[Step], after: list[Step]) -> list[Step]:
    out = []
    for s in steps:
        if s.id == target_id:
            out.extend([*before, s, *after])
        else:
            if s.children:
                s.children = _insert_around(s.children, target_id, before, after)
            out.append(s)
    return out


# -- conditions ---------------------------------------------------------------------


def _filter_conditions(formula: Formula, steps: list[Step], values: dict) -> list[Step]:
    removed: dict[str, list[str]] = {}

    def keep(items: list[Step], inherited: list[str] | None) -> list[Step]:
        out = []
        for s in items:
            if inherited is not None or (
                s.condition and not evaluate(s.condition, values, formula.source, f"steps.{s.id}.condition")
            ):
                removed[s.id] = step_needs(s) if inherited is None else inherited
                keep(s.children, removed[s.id])
                continue
            s.children = keep(s.children, None)
            out.append(s)
        return out

    kept = keep(steps, None)
    if not removed:
        return kept

    def resolve_need(n: str, seen: frozenset = frozenset()) -> list[str]:
        if n not in removed or n in seen:
            return [n] if n not in removed else []
        return [x for m in removed[n] for x in resolve_need(m, seen | {n})]

    for s in all_steps(kept):
        s.needs = list(dict.fromkeys(x for n in step_needs(s) for x in resolve_need(n)))
        s.depends_on = []
    return kept


# -- numbering and text --------------------------------------------------------------


def _plan(formula: Formula, steps: list[Step], scope: dict, contexts: dict[str, dict], runtime: bool = True) -> tuple[list, int]:
    src = formula.source
    locals_of: dict[str, list[str]] = {}
    layout: list[tuple[Step, str, Any]] = []  # (step, local or prefix, loop info)
    count = 0

    def number(items: list[Step], prefix: str) -> None:
        nonlocal count
        n = 0
        for s in items:
            if s.loop is not None and runtime:
                loop_count, make_values, name = _loop_source(formula, s, scope)
                start = n + 1
                n += loop_count
                count += loop_count
                locs_last = f"{prefix}{n}"
                if s.loop.sequential:
                    locals_of[s.id] = [locs_last] if loop_count else []
                else:
                    locals_of[s.id] = [f"{prefix}{i}" for i in range(start, n + 1)]
                layout.append((s, prefix, (start, loop_count, make_values, name)))
            else:
                n += 1
                count += 1
                local = f"{prefix}{n}"
                locals_of[s.id] = [local]
                layout.append((s, local, None))
                if s.children:
                    number(s.children, local + ".")

    number(steps, "")

    def needs_of(s: Step) -> list[str]:
        out: list[str] = []
        for need in step_needs(s):
            if need not in locals_of:
                raise FormulaError(src, f"steps.{s.id}.needs", f"names unknown step {need!r}")
            out.extend(locals_of[need])
        return list(dict.fromkeys(out))

    plan: list = []
    for s, where, loop in layout:
        key = f"steps.{s.id}"
        if loop is not None:
            start, loop_count, make_values, name = loop
            if loop_count:
                _base_fields(s, src)
                sample = {**scope, name: next(iter(make_values()))}
                for field in ("title", "description", "acceptance", "run", "assignee"):
                    _text(getattr(s, field), sample, src, f"{key}.{field}", True)
                for label in s.labels:
                    _text(label, sample, src, f"{key}.labels", True)
                if s.gate is not None:
                    raise FormulaError(src, f"{key}.gate", "a looped step cannot be a gate")
                plan.append(_Loop(s, where, start, loop_count, make_values, needs_of(s), name, scope))
            continue
        ctx = contexts.get(s.id)
        sc = {**scope, **ctx} if ctx else scope
        if s.loop is not None:  # compile mode: one step standing for the loop
            sc = {**sc, (s.loop.var or "i"): _AnyFields()}
        base = _base_fields(s, src)
        gate = None
        if s.gate is not None:
            gate = {k: v for k, v in msgspec.to_builtins(s.gate).items()}
            for field in ("condition", "run"):
                if gate.get(field):
                    gate[field] = _text(gate[field], sc, src, f"{key}.gate.{field}", runtime)
        description = _text(s.description, sc, src, f"{key}.description", runtime)
        if s.focus:
            focus = _text(s.focus, sc, src, f"{key}.focus", runtime) if ctx else s.focus
            description = f"Focus: {focus}\n\n{description}".strip()
        if not runtime and s.condition:
            _text(s.condition, sc, src, f"{key}.condition", False)
        plan.append(
            ProtoStep(
                where,
                s.id,
                _text(s.title or s.id, sc, src, f"{key}.title", runtime),
                description,
                _text(s.acceptance, sc, src, f"{key}.acceptance", runtime),
                base["issue_type"],
                base["priority"],
                [_text(label, sc, src, f"{key}.labels", runtime) for label in s.labels],
                _text(s.assignee, sc, src, f"{key}.assignee", runtime),
                needs_of(s),
                _text(s.run, sc, src, f"{key}.run", runtime),
                gate,
                bool(s.children),
                ctx,
                s.always,
                "" if runtime else s.condition,
                None if runtime or s.loop is None else msgspec.to_builtins(s.loop),
                s.type == "parallel",
            )
        )
    return plan, count


def _loop_source(formula: Formula, s: Step, values: dict):
    """(count, values factory, context variable name) of a looped step."""
    src, key = formula.source, f"steps.{s.id}.loop"
    loop = s.loop
    name = loop.var or "i"
    if loop.generator:
        gen = generators.GENERATORS.get(loop.generator)
        if gen is None:
            raise FormulaError(src, f"{key}.generator", f"unknown generator {loop.generator!r} (one of: {', '.join(generators.GENERATORS)})")
        args = {k: substitute(v, values, src, f"{key}.args.{k}") if isinstance(v, str) else v for k, v in loop.args.items()}
        try:
            g = gen(**args)
        except (TypeError, ValueError) as exc:
            raise FormulaError(src, f"{key}.args", str(exc)) from None
        return g.count, g.values, name
    if loop.over is not None:
        items = loop.over
        if isinstance(items, str):
            text = items.strip()
            m = re.fullmatch(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}", text)
            if m:
                try:
                    items = lookup(values, m.group(1))
                except KeyError:
                    raise FormulaError(src, f"{key}.over", f"unknown variable {{{{{m.group(1)}}}}}") from None
            else:
                items = substitute(text, values, src, f"{key}.over")
            if isinstance(items, str):
                items = [x.strip() for x in items.split(",") if x.strip()]
        items = [] if items is None else list(items) if isinstance(items, (list, tuple)) else [items]
        return len(items), lambda: iter(items), name
    if loop.range:
        text = substitute(loop.range, values, src, f"{key}.range")
        m = re.fullmatch(r"\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*", text)
        if not m:
            raise FormulaError(src, f"{key}.range", f"expected 'a..b' with integers, got {text!r}")
        a, b = int(m.group(1)), int(m.group(2))
        return max(0, b - a + 1), lambda: iter(range(a, b + 1)), name
    if loop.count is not None:
        raw = substitute(loop.count, values, src, f"{key}.count") if isinstance(loop.count, str) else loop.count
        try:
            n = int(raw)
        except (TypeError, ValueError):
            raise FormulaError(src, f"{key}.count", f"expected an integer, got {raw!r}") from None
        if n < 0:
            raise FormulaError(src, f"{key}.count", "must not be negative")
        return n, lambda: iter(range(1, n + 1)), name
    raise FormulaError(src, key, "a loop needs count, range, over or generator")


def loader_for(town: Path | None = None, rig: str | None = None, extra: tuple | list = ()) -> Loader:
    from .search import load

    return lambda name: load(name, town, rig, extra)
