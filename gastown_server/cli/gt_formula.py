"""``gt formula``: list, show, run (pour and walk mechanically), hanoi."""

from __future__ import annotations

import sys

from ..errors import GastownError, InvalidInput
from .bd_mol import _ASPECT, _RIG, _TARGET, _VAR, formula_list, formula_show
from .framework import Registry, arg

COMMANDS = Registry()

COMMANDS.command("formula list", "Formulas in the search path (built-in, town, rig)", _RIG)(formula_list)
COMMANDS.command("formula show", "A formula's variables and steps", arg("formula"), _RIG)(formula_show)


def flag_vars(extra: list[str]) -> dict[str, str]:
    """``--name=value`` / ``--name value`` options left over by argparse: formula variables
    (the form Gas Town's formula headers document, besides ``--var name=value``)."""
    out: dict[str, str] = {}
    i = 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--") or token == "--" or len(token) < 3:
            raise InvalidInput(f"unexpected argument {token!r} (formula variables: --NAME=VALUE or --var NAME=VALUE)")
        name, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 < len(extra) and not extra[i + 1].startswith("--"):
                value = extra[i + 1]
                i += 1
            else:
                raise InvalidInput(f"--{name} needs a value (--{name}=VALUE)")
        out[name] = value
        i += 1
    return out


@COMMANDS.command(
    "formula run",
    "Pour a formula (or take a molecule) and walk it: gates decided, step commands run",
    arg("formula", nargs="?", help="formula name or path (omit with --mol)"),
    _VAR,
    _RIG,
    _TARGET,
    _ASPECT,
    arg("--mol", help="continue this molecule instead of pouring a new one"),
    arg("--wisp", action="store_true", help="pour as a wisp (default for phase = \"vapor\" formulas)"),
    arg("--pour", action="store_true", help="pour as a persistent molecule even if the formula is vapor"),
    arg("--close-prose", action="store_true", help="also close steps that have no command (dry walk)"),
    arg("--cwd", help="directory step commands run in (default: the current one)"),
    arg("-a", "--assignee", help="who walks the molecule"),
    arg("--prefix", help="id prefix for a new molecule"),
    description="Pour a formula (or take a molecule) and walk it: gates decided, step commands run.\n\n"
    "Formula variables: --var NAME=VALUE, or --NAME=VALUE (the form Gas Town's formula headers use);\n"
    "--rig R also sets a declared 'rig' variable that is not otherwise given.",
    extra=True,
)
def formula_run(ctx, args):
    from ..formulas import molecule
    from ..formulas.vars import parse_assignments
    from .bd_mol import _rig, _town, cook_from_args

    ledger = ctx.ledger
    if args.mol:
        if args.formula:
            raise InvalidInput("give a formula or --mol, not both")
        if args._extra or args.var:
            raise InvalidInput("variables are fixed when a molecule is poured: --mol takes none")
        root = molecule.root_of(ledger, args.mol)
        poured = False
    else:
        if not args.formula:
            raise InvalidInput("name a formula to run (or --mol <molecule>)")
        given = {**flag_vars(args._extra), **parse_assignments(args.var)}
        if args.rig and "rig" not in given:
            from ..formulas import search

            if "rig" in search.load(args.formula, _town(args), _rig(args)).vars:
                given["rig"] = args.rig
        proto = cook_from_args(ctx, args, given=given)
        wisp = args.wisp or (proto.wisp_default and not args.pour)
        root = molecule.pour(ledger, proto, actor=ctx.actor, wisp=wisp, assignee=args.assignee or "", prefix=args.prefix)
        poured = True
    outcomes = molecule.advance(ledger, root.id, actor=ctx.actor, close_prose=args.close_prose, cwd=args.cwd)
    failed = [o for o in outcomes if o.action == "failed"]
    waiting = [o for o in outcomes if o.action == "waiting"]
    digest = molecule.finish(ledger, root.id, actor=ctx.actor) if not failed and not waiting else None
    p = None if digest is not None and root.ephemeral else molecule.progress(ledger, root.id)
    if ctx.json:
        ctx.emit_json(
            {
                "molecule": root.id,
                "poured": poured,
                "outcomes": [o._asdict() for o in outcomes],
                "complete": digest is not None or bool(p and p.complete),
                "digest": digest.id if digest else None,
            }
        )
    else:
        ctx.out(f"{'Poured' if poured else 'Walking'} {root.id}: {root.title}")
        for o in outcomes:
            ctx.out(f"  {o.action:<12} {o.step_id}" + (f"  {o.detail}" if o.detail else ""))
        if digest is not None:
            ctx.out(f"Complete; squashed into {digest.id}: {digest.title}")
        elif p and p.complete:
            ctx.out(f"Complete ({p.closed}/{p.total} steps)")
        elif waiting:
            ctx.out(f"Waiting on {len(waiting)} step(s) for an agent: bd mol current {root.id}")
    if failed:
        raise GastownError(f"step {failed[0].step_id} failed ({failed[0].detail}); see its comments, fix, then: gt formula run --mol {root.id}")


@COMMANDS.command(
    "formula hanoi",
    "Write the expanded towers-of-hanoi formula for N disks (not needed to run it)",
    arg("--disks", type=int, required=True, help="number of disks (1..24)"),
    arg("-o", "--output", help="file to write (default: stdout)"),
)
def formula_hanoi(ctx, args):
    from ..formulas.generators import hanoi

    try:
        gen = hanoi(args.disks)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        write = out.write
        write(f'formula = "towers-of-hanoi-{args.disks}"\nversion = 1\ntype = "workflow"\nphase = "vapor"\n')
        write(f'description = "Towers of Hanoi, {args.disks} disks, {gen.count} moves (expanded)."\n')
        prev = None
        for move in gen.values():
            n = move["n"]
            write(f'\n[[steps]]\nid = "move-{n}"\ntitle = "Move disk {move["disk"]} from {move["from"]} to {move["to"]}"\n')
            if prev:
                write(f'needs = ["{prev}"]\n')
            prev = f"move-{n}"
    finally:
        if args.output:
            out.close()
    if args.output and not ctx.json:
        print(f"Wrote {args.output}: {gen.count} steps", file=sys.stderr)


@COMMANDS.command(
    "formula overlay",
    "A town's changes to a formula, kept in <town>/formulas/overlays/ (create | show | remove | list)",
    arg("action", choices=("create", "show", "remove", "list"), help="what to do"),
    arg("name", nargs="?", help="the formula the overlay changes (by name, as on the search path)"),
    arg("--file", help="create: the overlay's TOML (default: a commented skeleton to edit)"),
    arg("--force", action="store_true", help="create: replace an existing overlay"),
    description="A town's changes to a formula (usually a built-in) kept in <town>/formulas/overlays/<name>.toml:\n"
    "they survive upgrades and apply whenever the formula is loaded by name.  Top-level keys replace the\n"
    "formula's; [vars.X] and [[steps]] entries merge field by field by name / id (new ones are added);\n"
    "remove_steps = [\"id\"] drops steps.  The overlay is checked before it is written.",
)  # fmt: skip
def formula_overlay(ctx, args):
    from ..formulas import overlays, service
    from .bd_mol import _town

    town = _town(args)
    if args.action == "list":
        items = overlays.list_overlays(town)
        if ctx.json:
            ctx.emit_json(items)
        else:
            ctx.out("\n".join(f"{i['name']}  {i['path']}" for i in items) if items else "No overlays.")
        return
    if not args.name:
        raise InvalidInput(f"gt formula overlay {args.action} needs a formula name")
    if args.action == "create":
        text = None
        if args.file:
            try:
                with open(args.file, encoding="utf-8") as fh:
                    text = fh.read()
            except OSError as exc:
                raise InvalidInput(f"cannot read {args.file}: {exc.strerror}") from None
        info = service.overlay_create(town, args.name, text=text, force=args.force)
        ctx.emit(info, f"Created {info['path']} (changes {info['layer']} formula {info['formula']})")
    elif args.action == "remove":
        info = service.overlay_remove(town, args.name)
        ctx.emit(info, f"Removed {info['removed']}")
    else:
        info = service.overlay_show(town, args.name)
        if ctx.json:
            ctx.emit_json(info)
            return
        eff = info["effective"]
        ctx.out(f"Overlay {info['path']} on {info['layer']} formula {info['formula']}")
        ctx.out(info["text"].rstrip())
        ctx.out(f"\nEffective: {eff['name']} ({eff['type']}, {eff['step_count']} steps): {eff['description'].splitlines()[0] if eff['description'] else ''}")
