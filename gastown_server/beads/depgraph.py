"""A bead's dependencies as a tree (blockers / dependents) and as a laid-out graph.

Both editors draw the same picture (VS Code as SVG, Emacs as text or SVG),
so the layout is computed once, here: nodes get a layer (blockers to the
left of what they block: the longest path from a source, cycles cut) and
an order within the layer (one barycenter pass, fewer crossings); each
client only maps (layer, order) to coordinates.

Edges point from the blocker to what it blocks: ``A depends on B`` is the
edge ``B -> A``.
"""

from __future__ import annotations

from collections import defaultdict

import msgspec

from .models import BLOCKING_DEP_TYPES, DONE_STATUSES
from .store import Ledger

#: Most nodes a graph holds; past it the walk stops and says so (``truncated``).
MAX_NODES = 300


class DepNode(msgspec.Struct, omit_defaults=True):
    """One bead in a dependency tree, reached through a dependency of ``type``."""

    id: str
    title: str
    status: str
    type: str
    priority: int = 2
    issue_type: str = "task"
    assignee: str = ""
    #: This blocker still blocks (a blocking type, not done).
    blocking: bool = False
    #: Already shown higher up (a diamond or a cycle): not expanded again.
    repeated: bool = False
    children: list[DepNode] = []


class GraphNode(msgspec.Struct, omit_defaults=True):
    id: str
    title: str
    status: str
    layer: int
    order: int
    priority: int = 2
    issue_type: str = "task"
    root: bool = False


class GraphEdge(msgspec.Struct, omit_defaults=True):
    #: The blocker (``depends_on_id``).
    source: str
    #: The bead that depends on it (``issue_id``).
    target: str
    type: str
    blocking: bool = False


class DepGraph(msgspec.Struct):
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    layers: int
    truncated: bool = False


class DepTree(msgspec.Struct):
    id: str
    title: str
    status: str
    #: What this bead waits for, and what those wait for (to ``depth``).
    blockers: list[DepNode]
    #: What waits for this bead, and so on (to ``depth``).
    dependents: list[DepNode]
    graph: DepGraph


def _info(led: Ledger, ids: set[str]) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    keys = list(ids)
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for row in led.conn.execute(
            f"SELECT id, title, status, priority, issue_type, assignee FROM issues WHERE id IN ({marks})", chunk
        ):
            out[row[0]] = row
    return out


def _edges(led: Ledger, ids: list[str], *, up: bool) -> dict[str, list[tuple[str, str]]]:
    """For each id: (other id, dep type) of its blockers (``up``) or dependents."""
    mine, other = ("issue_id", "depends_on_id") if up else ("depends_on_id", "issue_id")
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for a, b, t in led.conn.execute(
            f"SELECT {mine}, {other}, type FROM dependencies WHERE {mine} IN ({marks}) ORDER BY {other}", chunk
        ):
            out[a].append((b, t))
    return out


def _blocking(dep_type: str, blocker_status: str) -> bool:
    return dep_type in BLOCKING_DEP_TYPES and blocker_status not in DONE_STATUSES


def _walk(led: Ledger, root: str, depth: int, *, up: bool, budget: list[int], edges: set) -> list[DepNode]:
    """Breadth-first to ``depth``; each bead is expanded once (later sightings are ``repeated``)."""
    seen = {root}
    level = [root]
    nodes_of: dict[str, list[DepNode]] = {root: []}
    for _ in range(depth):
        if not level:
            break
        links = _edges(led, level, up=up)
        info = _info(led, {b for ids in links.values() for b, _t in ids})
        nxt: list[str] = []
        for parent in level:
            for other, dep_type in links.get(parent, ()):
                row = info.get(other)
                if row is None:
                    continue  # a dangling dependency (its bead was purged)
                if budget[0] <= 0:
                    budget[1] = 1  # a bead left out: the picture is cut short (not merely full)
                    break
                repeated = other in seen
                if not repeated:
                    budget[0] -= 1
                node = DepNode(
                    id=other,
                    title=row[1],
                    status=row[2],
                    type=dep_type,
                    priority=row[3],
                    issue_type=row[4],
                    assignee=row[5],
                    blocking=_blocking(dep_type, row[2] if up else ""),
                    repeated=repeated,
                )
                if not up:
                    status = led.conn.execute("SELECT status FROM issues WHERE id = ?", (parent,)).fetchone()
                    node.blocking = _blocking(dep_type, status[0] if status else "closed")
                nodes_of[parent].append(node)
                edges.add((other, parent, dep_type, node.blocking) if up else (parent, other, dep_type, node.blocking))
                if not repeated:
                    seen.add(other)
                    nodes_of[other] = node.children
                    nxt.append(other)
        level = nxt
    return nodes_of[root]


def tree(led: Ledger, bead_id: str, *, depth: int = 3, max_nodes: int = MAX_NODES) -> DepTree:
    """``bead_id``'s blockers and dependents to ``depth`` levels, and their graph laid out."""
    with led.snapshot():
        root = led.get(bead_id)
        budget = [max_nodes, 0]  # beads still allowed, and whether one was left out
        edges: set[tuple[str, str, str, bool]] = set()
        blockers = _walk(led, bead_id, depth, up=True, budget=budget, edges=edges)
        dependents = _walk(led, bead_id, depth, up=False, budget=budget, edges=edges)
        ids = {bead_id} | {e[0] for e in edges} | {e[1] for e in edges}
        info = _info(led, ids)
    graph = layout(root.id, info, sorted(edges))
    graph.truncated = budget[1] == 1
    return DepTree(root.id, root.title, root.status, blockers, dependents, graph)


def layout(root: str, info: dict[str, tuple], edges: list[tuple[str, str, str, bool]]) -> DepGraph:
    """Layers by longest path from a source (cycles cut where met), orders by barycenter."""
    ids = sorted(info)
    preds: dict[str, set[str]] = defaultdict(set)
    succs: dict[str, set[str]] = defaultdict(set)
    for s, t, _ty, _b in edges:
        if s != t:
            preds[t].add(s)
            succs[s].add(t)
    layer: dict[str, int] = {}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def depth_of(n: str) -> int:
        # Iterative DFS: a long chain of dependencies must not hit Python's recursion limit.
        stack = [(n, iter(sorted(preds[n])))]
        state[n] = 1
        best = {n: 0}
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[node] = 2
                layer[node] = best[node]
                if stack:
                    parent = stack[-1][0]
                    best[parent] = max(best[parent], layer[node] + 1)
                continue
            if state.get(nxt) == 2:
                best[node] = max(best[node], layer[nxt] + 1)
            elif state.get(nxt) != 1:  # visiting: a cycle, cut here
                state[nxt] = 1
                best[nxt] = 0
                stack.append((nxt, iter(sorted(preds[nxt]))))
        return layer[n]

    for n in ids:
        if n not in layer:
            depth_of(n)
    by_layer: dict[int, list[str]] = defaultdict(list)
    for n in ids:
        by_layer[layer[n]].append(n)
    order: dict[str, int] = {}
    for k in sorted(by_layer):
        members = by_layer[k]

        def bary(n: str) -> tuple[float, str]:
            ps = [order[p] for p in preds[n] if p in order]
            return (sum(ps) / len(ps) if ps else -1.0, n)

        members.sort(key=bary)
        for i, n in enumerate(members):
            order[n] = i
    nodes = [
        GraphNode(
            id=n,
            title=info[n][1],
            status=info[n][2],
            layer=layer[n],
            order=order[n],
            priority=info[n][3],
            issue_type=info[n][4],
            root=n == root,
        )
        for n in sorted(ids, key=lambda n: (layer[n], order[n]))
    ]
    return DepGraph(
        nodes=nodes,
        edges=[GraphEdge(s, t, ty, b) for s, t, ty, b in edges],
        layers=(max(layer.values()) + 1) if layer else 0,
    )
