"""``bd cook``, ``bd mol ...`` and ``bd formula ...``: formulas and molecules.

Names and flags follow Beads (``bd mol pour <proto> --var k=v``) so that
formulas and prompts written for Gas Town work unchanged.
"""

from __future__ import annotations

import os

from .framework import Registry, arg

COMMANDS = Registry()

_VAR = arg("--var", action="append", metavar="NAME=VALUE", help="set a formula variable (repeatable)")
_RIG = arg("--rig", help="rig whose formulas/ layer applies (default: $GT_RIG)")
_TARGET = arg("--target", metavar="BEAD", help="for expansion formulas: the bead to expand (fills {target}, {target.title}...)")
_ASPECT = arg("--aspect", action="append", metavar="NAME", help="apply an aspect formula (repeatable)")


def _rig(args) -> str | None:
    return getattr(args, "rig", None) or os.environ.get("GT_RIG") or None


def _town(args):
    from ..formulas.service import town_for

    return town_for(getattr(args, "db", None))


def cook_from_args(ctx, args, *, mode: str = "runtime", given: dict | None = None):
    """Cook the formula the command names; pour, wisp and run always cook in runtime mode."""
    from ..formulas.service import cook_named
    from ..formulas.vars import parse_assignments

    target = None
    if getattr(args, "target", None):
        bead = ctx.ledger.get(args.target)
        target = {"id": bead.id, "title": bead.title, "description": bead.description}
    return cook_named(
        args.formula,
        parse_assignments(args.var) if given is None else given,
        town=_town(args),
        rig=_rig(args),
        target=target,
        aspects=args.aspect or [],
        mode=mode,
        search_path=getattr(args, "search_path", None) or [],
    )


# -- cook ---------------------------------------------------------------------------


@COMMANDS.command(
    "cook",
    "Cook a formula into a protomolecule (printed, nothing written)",
    arg("formula", help="formula name (search path) or path to a .formula.toml"),
    _VAR,
    _RIG,
    _TARGET,
    _ASPECT,
    arg("--mode", choices=("compile", "runtime"),
        help="compile (default): keep {{var}} placeholders, required variables may be missing; "
             "runtime (default when any --var is given): substitute, every required variable needed"),
    arg("--search-path", action="append", metavar="DIR", help="also look for formulas in DIR (repeatable)"),
    arg("-n", "--limit", type=int, default=0, help="print at most N steps (0 = all)"),
    description="Cook a formula into a protomolecule (printed, nothing written).\n\n"
    "Compile mode (the default, as in Beads) prints the formula's structure with its text as written;\n"
    "runtime mode (--mode=runtime, or any --var) renders it as a pour would.",
)  # fmt: skip
def cook(ctx, args):
    mode = args.mode or ("runtime" if args.var else "compile")
    proto = cook_from_args(ctx, args, mode=mode)
    limit = args.limit or None
    if ctx.json:
        ctx.emit_json(proto.to_builtins(limit))
        return
    ctx.out(f"Protomolecule {proto.name} ({proto.formula.type}, {proto.count} steps, {mode} mode): {proto.title}")
    if proto.mode == "compile":
        held = proto.placeholders()
        if held:
            ctx.out("  placeholders: " + ", ".join(f"{{{{{n}}}}}" + (" (required, missing)" if n in proto.missing else "")
                                                   for n in held))
    for i, s in enumerate(proto.steps()):
        if limit is not None and i >= limit:
            ctx.out(f"  ... {proto.count - limit} more")
            break
        needs = f"  needs {', '.join(s.needs)}" if s.needs else ""
        run = f"  run: {s.run}" if s.run else ""
        extra = "  (parallel)" if s.parallel else ""
        extra += f"  if: {s.condition}" if s.condition else ""
        if s.loop:
            import msgspec

            extra += "  loop: " + ", ".join(
                f"{k}={v if isinstance(v, str) else msgspec.json.encode(v).decode()}" for k, v in s.loop.items())
        ctx.out(f"  {s.local:<8} {s.key}: {s.title}{needs}{run}{extra}")


# -- pour / wisp --------------------------------------------------------------------


def _pour(ctx, args, wisp: bool):
    from ..formulas import molecule

    proto = cook_from_args(ctx, args)
    root = molecule.pour(
        ctx.ledger, proto, actor=ctx.actor, wisp=wisp, assignee=args.assignee or "", prefix=args.prefix
    )
    cur = molecule.current(ctx.ledger, root.id, limit=20)
    if ctx.json:
        ctx.emit_json(
            {"id": root.id, "formula": proto.name, "steps": proto.count, "ephemeral": wisp, "current": [b.id for b in cur]}
        )
        return
    kind = "wisp" if wisp else "molecule"
    ctx.out(f"Poured {kind} {root.id}: {root.title} ({proto.count} steps)")
    for b in cur:
        ctx.out(f"  now: {b.id} {b.title}")


_POUR_ARGS = (
    arg("formula", help="formula name (search path) or path to a .formula.toml"),
    _VAR,
    _RIG,
    _TARGET,
    _ASPECT,
    arg("-a", "--assignee", help="who walks the molecule (recorded on the root)"),
    arg("--prefix", help="id prefix for the root (default: the ledger's)"),
)


@COMMANDS.command("mol pour", "Instantiate a formula as a persistent molecule", *_POUR_ARGS)
def mol_pour(ctx, args):
    _pour(ctx, args, wisp=False)


@COMMANDS.command("mol wisp", "Instantiate a formula as a wisp (ephemeral, never exported)", *_POUR_ARGS)
def mol_wisp(ctx, args):
    _pour(ctx, args, wisp=True)


# -- walking --------------------------------------------------------------------------


def _step_line(bead) -> str:
    from ..formulas.molecule import meta_of

    meta = meta_of(bead)
    extra = f"  [run: {meta['run']}]" if meta.get("run") else ""
    if "gate" in meta:
        extra += f"  [gate: {meta['gate'].get('type', 'conditional')}]"
    if meta.get("parallel"):
        extra += "  [parallel: every child closed; close it (gt formula run --mol closes it)]"
    return f"{bead.id}  {meta.get('step', '')}: {bead.title}{extra}"


def _step_json(bead) -> dict:
    import msgspec

    from ..formulas.molecule import meta_of

    obj = msgspec.to_builtins(bead)
    meta = meta_of(bead)
    obj["step"] = meta.get("step", "")
    if meta.get("run"):
        obj["run"] = meta["run"]
    if "gate" in meta:
        obj["gate"] = meta["gate"]
    if meta.get("parallel"):
        obj["parallel"] = True
    return obj


@COMMANDS.command(
    "mol current",
    "The step(s) to do now in a molecule",
    arg("molecule", nargs="?", help="molecule root or any of its steps (default: yours, if you have one)"),
    arg("-n", "--limit", type=int, default=50, help="at most N steps (0 = all)"),
)
def mol_current(ctx, args):
    from ..formulas import molecule

    root = molecule.require_molecule(ctx.ledger, args.molecule, ctx.actor)
    beads = molecule.current(ctx.ledger, root.id, limit=args.limit or None)
    if ctx.json:
        ctx.emit_json({"molecule": root.id, "complete": not beads and molecule.progress(ctx.ledger, root.id).complete,
                       "steps": [_step_json(b) for b in beads]})
        return
    if not beads:
        p = molecule.progress(ctx.ledger, root.id)
        ctx.out(f"{root.id}: complete ({p.closed}/{p.total} steps closed)" if p.complete
                else f"{root.id}: nothing to do now ({p.closed}/{p.total} closed; the rest wait on others)")
        return
    for bead in beads:
        ctx.out(_step_line(bead))
        if bead.description:
            ctx.out("\n".join("    " + line for line in bead.description.strip().splitlines()))


@COMMANDS.command(
    "mol progress",
    "How far a molecule is: closed / total, what's next",
    arg("molecule", nargs="?", help="molecule root or any of its steps"),
)
def mol_progress(ctx, args):
    from ..formulas import molecule

    root = molecule.require_molecule(ctx.ledger, args.molecule, ctx.actor)
    p = molecule.progress(ctx.ledger, root.id)
    if ctx.json:
        ctx.emit_json({"molecule": root.id, "title": root.title, **p.as_dict()})
        return
    d = p.as_dict()
    ctx.out(f"{root.id}: {root.title}")
    ctx.out(f"  {p.closed}/{p.total} steps closed ({d['percent']}%), {p.ready} ready now, {p.blocked} waiting"
            + ("  -- complete" if p.complete else ""))


@COMMANDS.command(
    "mol show",
    "A molecule: root, variables and steps with their status",
    arg("molecule", help="molecule root or any of its steps"),
    arg("-n", "--limit", type=int, default=200, help="show at most N steps (0 = all)"),
)
def mol_show(ctx, args):
    from ..formulas import molecule
    from .render import bead_line

    ledger = ctx.ledger
    root = molecule.root_of(ledger, args.molecule)
    meta = molecule.meta_of(root)
    steps = molecule.steps(ledger, root.id, limit=args.limit or None)
    p = molecule.progress(ledger, root.id)
    if ctx.json:
        import msgspec

        ctx.emit_json({"root": msgspec.to_builtins(root), "formula": meta.get("formula"), "vars": meta.get("vars", {}),
                       "progress": p.as_dict(), "steps": [_step_json(b) for b in steps]})
        return
    ctx.out(bead_line(root))
    ctx.out(f"  formula {meta.get('formula')} v{meta.get('version')}  vars {meta.get('vars', {})}"
            + ("  (wisp)" if root.ephemeral else ""))
    ctx.out(f"  {p.closed}/{p.total} closed")
    for b in steps:
        depth = b.id[len(root.id) + 1 :].count(".")
        ctx.out("  " + "  " * depth + bead_line(b))
    if len(steps) < p.total:
        ctx.out(f"  ... {p.total - len(steps)} more (use --limit 0)")


@COMMANDS.command(
    "mol skip",
    "Close a step and every step that needs it (a failed gate, an unneeded branch)",
    arg("step", help="step bead id"),
    arg("-r", "--reason", default="skipped", help="why"),
)
def mol_skip(ctx, args):
    from ..formulas import molecule

    closed = molecule.skip(ctx.ledger, args.step, actor=ctx.actor, reason=args.reason)
    more = " ..." if len(closed) > 10 else ""
    ctx.emit({"closed": closed}, f"Skipped {len(closed)} step(s): {', '.join(closed[:10])}{more}")


@COMMANDS.command(
    "mol squash",
    "Reduce a molecule to a one-line digest bead with metrics (a wisp is then burned)",
    arg("molecule", help="molecule root or any of its steps"),
    arg("--summary", default="", help="the digest's description"),
)
def mol_squash(ctx, args):
    from ..formulas import molecule

    digest = molecule.squash(ctx.ledger, args.molecule, actor=ctx.actor, summary=args.summary)
    if ctx.json:
        ctx.emit_json(ctx.ledger.embed_many([digest])[0])
    else:
        ctx.out(f"Squashed into {digest.id}: {digest.title}")


@COMMANDS.command(
    "mol burn",
    "Delete a wisp and its steps (a poured molecule only with --force)",
    arg("molecule", help="molecule root or any of its steps"),
    arg("--force", action="store_true", help="also delete a poured (persistent) molecule"),
)
def mol_burn(ctx, args):
    from ..formulas import molecule

    root = molecule.root_of(ctx.ledger, args.molecule)
    count = molecule.burn(ctx.ledger, root.id, actor=ctx.actor, force=args.force)
    ctx.emit({"molecule": root.id, "deleted": count}, f"Burned {root.id} ({count} beads)")


# -- formula list / show ---------------------------------------------------------------


def formula_list(ctx, args):
    from ..formulas.service import list_formulas

    items = list_formulas(_town(args), _rig(args))
    if ctx.json:
        ctx.emit_json(items)
        return
    if not items:
        ctx.out("No formulas.")
        return
    width = max(len(i["name"]) for i in items)
    for i in items:
        desc = i.get("error") or i.get("description", "")
        mark = " [overlay]" if i.get("overlay") else ""
        ctx.out(f"{i['name']:<{width}}  {i['layer']:<7} {i.get('type', '?'):<9} {desc}{mark}")


def formula_show(ctx, args):
    from ..formulas import search
    from ..formulas.service import describe

    info = describe(search.load(args.formula, _town(args), _rig(args)))
    if ctx.json:
        ctx.emit_json(info)
        return
    ctx.out(f"{info['name']} v{info['version']} ({info['type']}, {info['layer']}): {info['source']}")
    if info["description"]:
        ctx.out("\n".join("  " + line for line in info["description"].splitlines()))
    if info["vars"]:
        ctx.out("\nVariables:")
        for name, v in info["vars"].items():
            flags = " required" if v.get("required") else ""
            default = f" (default {v['default']!r})" if "default" in v else ""
            ctx.out(f"  {name}: {v.get('type', 'string')}{flags}{default}  {v.get('description', '')}")
    if info.get("overlay"):
        ctx.out(f"  with the town's overlay {info['overlay']} (gt formula overlay show {info['name']})")
    for section in ("steps", "template", "legs", "aspects"):
        if section in info:
            ctx.out(f"\n{section.capitalize()}:")
            _print_steps(ctx, info[section], 1)
    if "synthesis" in info:
        ctx.out(f"\nSynthesis: {info['synthesis']['title']} (needs {', '.join(info['synthesis']['needs']) or 'all legs'})")
    if "squash" in info:
        ctx.out(f"\nSquash: {info['squash']}")


def _print_steps(ctx, steps, depth):
    for s in steps:
        extra = []
        if s.get("needs"):
            extra.append("needs " + ", ".join(s["needs"]))
        if s.get("run"):
            extra.append("run: " + s["run"])
        if s.get("loop"):
            extra.append("loop " + ", ".join(f"{k}={v}" for k, v in s["loop"].items()))
        if s.get("gate"):
            extra.append("gate " + s["gate"].get("type", ""))
        ctx.out("  " * depth + f"{s['id']}: {s['title']}" + (f"  ({'; '.join(extra)})" if extra else ""))
        if s.get("children"):
            _print_steps(ctx, s["children"], depth + 1)


COMMANDS.command("formula list", "Formulas in the search path (built-in, town, rig)", _RIG)(formula_list)
COMMANDS.command("formula show", "A formula's variables and steps", arg("formula"), _RIG)(formula_show)
