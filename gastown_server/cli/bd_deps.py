"""``bd dep``, ``bd label`` and ``bd comment(s)``: what hangs off a bead."""

from __future__ import annotations

from ..errors import InvalidInput
from .framework import Registry, arg
from .render import bead_line

COMMANDS = Registry()

_TYPE_HELP = "dependency type (default blocks): blocks, parent-child, conditional-blocks, waits-for, related, tracks, ..."


@COMMANDS.command(
    "dep add",
    "ISSUE depends on DEPENDS_ON (DEPENDS_ON blocks ISSUE by default)",
    arg("issue"),
    arg("depends_on"),
    arg("-t", "--type", default="blocks", help=_TYPE_HELP),
    arg("--metadata", default="", help="JSON metadata, e.g. '{\"gate\": \"any-children\"}' for waits-for"),
)
def dep_add(ctx, args):
    dep = ctx.ledger.add_dependency(
        args.issue, args.depends_on, actor=ctx.actor, dep_type=args.type, metadata=args.metadata
    )
    ctx.emit(dep, f"Added: {dep.issue_id} depends on {dep.depends_on_id} ({dep.type})")


@COMMANDS.command("dep remove", "Remove a dependency", arg("issue"), arg("depends_on"))
def dep_remove(ctx, args):
    ctx.ledger.remove_dependency(args.issue, args.depends_on, actor=ctx.actor)
    ctx.emit({"issue_id": args.issue, "depends_on_id": args.depends_on, "removed": True},
             f"Removed: {args.issue} no longer depends on {args.depends_on}")


@COMMANDS.command(
    "dep list",
    "What a bead depends on, and what depends on it",
    arg("id"),
    arg("-t", "--type", help="only this dependency type"),
)
def dep_list(ctx, args):
    ledger = ctx.ledger
    ledger.get(args.id)
    deps = [d for d in ledger.dependencies(args.id) if not args.type or d.type == args.type]
    dependents = ledger.dependents(args.id, args.type)
    if ctx.json:
        ctx.emit_json({"dependencies": deps, "dependents": dependents})
        return
    ctx.out(f"{args.id} depends on:" if deps else f"{args.id} depends on nothing.")
    for d in deps:
        ctx.out(f"  {d.depends_on_id} ({d.type})")
    ctx.out("Depended on by:" if dependents else "Nothing depends on it.")
    for d in dependents:
        ctx.out(f"  {d.issue_id} ({d.type})")


@COMMANDS.command(
    "dep tree",
    "The tree of what a bead depends on (--reverse: what depends on it)",
    arg("id"),
    arg("--reverse", action="store_true", help="walk dependents instead of dependencies"),
    arg("-t", "--type", help="only follow this dependency type"),
    arg("-d", "--max-depth", type=int, default=50, help="stop at this depth (default 50)"),
)
def dep_tree(ctx, args):
    ledger = ctx.ledger
    root = ledger.get(args.id)
    nodes = []  # (depth, parent_id, dep_type, bead, repeated)

    def walk(bead, depth: int, path: set[str]) -> None:
        if depth >= args.max_depth:
            return
        edges = ledger.dependents(bead.id) if args.reverse else ledger.dependencies(bead.id)
        for dep in edges:
            if args.type and dep.type != args.type:
                continue
            other_id = dep.issue_id if args.reverse else dep.depends_on_id
            if not ledger.exists(other_id):
                continue
            other = ledger.get(other_id)
            repeated = other_id in path
            nodes.append((depth + 1, bead.id, dep.type, other, repeated))
            if not repeated:
                walk(other, depth + 1, path | {other_id})

    walk(root, 0, {root.id})
    if ctx.json:
        import msgspec

        out = [dict(msgspec.to_builtins(root), depth=0, parent_id="", dep_type="")]
        for depth, parent_id, dep_type, bead, _ in nodes:
            out.append(dict(msgspec.to_builtins(bead), depth=depth, parent_id=parent_id, dep_type=dep_type))
        ctx.emit_json(out)
        return
    ctx.out(bead_line(root))
    _print_tree(ctx, nodes)


def _print_tree(ctx, nodes) -> None:
    """Draw box-drawing branches for a pre-order list of (depth, ...)."""
    for i, (depth, _, dep_type, bead, repeated) in enumerate(nodes):
        prefix = ""
        for level in range(1, depth):
            prefix += "│   " if _has_later_sibling(nodes, i, level) else "    "
        branch = "├── " if _has_later_sibling(nodes, i, depth) else "└── "
        tail = " (see above)" if repeated else ""
        kind = "" if dep_type == "blocks" else f" <{dep_type}>"
        ctx.out(f"{prefix}{branch}{bead_line(bead)}{kind}{tail}")


def _has_later_sibling(nodes, index: int, level: int) -> bool:
    for depth, *_ in nodes[index + 1 :]:
        if depth < level:
            return False
        if depth == level:
            return True
    return False


@COMMANDS.command("label add", "Add labels to a bead", arg("id"), arg("labels", nargs="+", metavar="LABEL"))
def label_add(ctx, args):
    with ctx.ledger.atomic():
        for label in args.labels:
            ctx.ledger.add_label(args.id, label, actor=ctx.actor)
    _print_labels(ctx, args.id)


@COMMANDS.command("label remove", "Remove labels from a bead", arg("id"), arg("labels", nargs="+", metavar="LABEL"))
def label_remove(ctx, args):
    with ctx.ledger.atomic():
        for label in args.labels:
            ctx.ledger.remove_label(args.id, label, actor=ctx.actor)
    _print_labels(ctx, args.id)


@COMMANDS.command("label list", "List a bead's labels", arg("id"))
def label_list(ctx, args):
    ctx.ledger.get(args.id)
    _print_labels(ctx, args.id)


def _print_labels(ctx, bead_id: str) -> None:
    labels = ctx.ledger.labels(bead_id)
    ctx.emit(labels, f"{bead_id}: {', '.join(labels) if labels else '(no labels)'}")


@COMMANDS.command("comment", "Add a comment to a bead", arg("id"), arg("text", nargs="+"))
def comment(ctx, args):
    _add_comment(ctx, args.id, " ".join(args.text))


@COMMANDS.command(
    "comments",
    "List a bead's comments ('bd comments add ID TEXT' adds one)",
    arg("id"),
    arg("text", nargs="*", help="with 'add': the bead id and the comment text"),
)
def comments(ctx, args):
    if args.id == "add" and args.text:
        _add_comment(ctx, args.text[0], " ".join(args.text[1:]))
        return
    if args.text:
        raise InvalidInput("to add a comment: bd comments add ID TEXT")
    ctx.ledger.get(args.id)
    items = ctx.ledger.comments(args.id)
    if ctx.json:
        ctx.emit_json(items)
        return
    if not items:
        ctx.out(f"{args.id} has no comments.")
    for c in items:
        ctx.out(f"[{c.created_at}] {c.author}: {c.text}")


def _add_comment(ctx, bead_id: str, text: str) -> None:
    if not text.strip():
        raise InvalidInput("comment text must not be empty")
    c = ctx.ledger.add_comment(bead_id, text, actor=ctx.actor)
    ctx.emit(c, f"Comment added to {bead_id}")
