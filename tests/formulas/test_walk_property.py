"""Property: for random step graphs (needs + nesting), the poured blocked flags
are exact and `current` equals a brute-force reading of the formula, at every
point of a random walk."""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gastown_server.beads import readiness
from gastown_server.beads.store import Ledger
from gastown_server.formulas import molecule
from gastown_server.formulas.cook import cook
from gastown_server.formulas.loader import decode


@st.composite
def graphs(draw):
    """Steps s0..sN: each may need earlier top-level steps; some have children."""
    n = draw(st.integers(1, 7))
    steps = []
    for i in range(n):
        needs = draw(st.lists(st.sampled_from([f"s{j}" for j in range(i)]), max_size=3, unique=True)) if i else []
        kids = []
        for k in range(draw(st.integers(0, 3)) if draw(st.booleans()) else 0):
            kid_needs = draw(st.lists(st.sampled_from([f"s{i}k{m}" for m in range(k)]), max_size=2, unique=True)) if k else []
            kids.append({"id": f"s{i}k{k}", "needs": kid_needs})
        steps.append({"id": f"s{i}", "needs": needs, "children": kids})
    return steps, draw(st.integers(0, 2**32 - 1))


def _expected_current(steps, closed):
    by_id = {s["id"]: s for s in steps}
    parent = {k["id"]: s["id"] for s in steps for k in s["children"]}
    for s in steps:
        for k in s["children"]:
            by_id[k["id"]] = k

    def blocked(sid):
        node = by_id[sid]
        if any(n not in closed for n in node["needs"]):
            return True
        return sid in parent and blocked(parent[sid])

    out = set()
    for sid, node in by_id.items():
        if sid in closed or blocked(sid):
            continue
        if any(k["id"] not in closed for k in node.get("children", [])):
            continue
        out.add(sid)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graphs())
def test_pour_and_walk_match_brute_force(tmp_path_factory, case):
    steps, seed = case
    led = Ledger(tmp_path_factory.mktemp("walk") / "l.db", create=True)
    try:
        proto = cook(decode({"formula": "g", "steps": steps}, "g.formula.toml"))
        root = molecule.pour(led, proto, actor="t", wisp=bool(seed % 2))
        key_of = {b.id: molecule.meta_of(b)["step"] for b in molecule.steps(led, root.id)}
        flags = dict(led.conn.execute("SELECT id, is_blocked FROM issues"))
        with led.atomic():
            readiness.rebuild(led.conn)
        assert flags == dict(led.conn.execute("SELECT id, is_blocked FROM issues"))
        rng = random.Random(seed)
        closed = set()
        while True:
            cur = {key_of[i] for i in molecule.current_ids(led, root.id)}
            assert cur == _expected_current(steps, closed)
            if not cur:
                break
            pick = rng.choice(sorted(cur))
            led.close(next(i for i, k in key_of.items() if k == pick), actor="t")
            closed.add(pick)
        assert molecule.progress(led, root.id).complete
    finally:
        led.disconnect()
