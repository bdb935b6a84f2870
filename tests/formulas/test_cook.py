"""Cooking: expansions, aspects, convoys, parallel, children, loops, conditions, gates."""

import pytest

from gastown_server.formulas import search
from gastown_server.formulas.cook import cook, loader_for
from gastown_server.formulas.errors import FormulaError
from gastown_server.formulas.generators import hanoi


def _cook(name, target=None, aspects=(), **vars_):
    return cook(search.load(name), vars_, load=loader_for(), target=target, aspects=list(aspects))


def _table(proto):
    return [(s.local, s.key, s.needs) for s in proto.steps()]


def test_expansion_applied_to_a_target_bead():
    proto = _cook("rule-of-five", target={"id": "gt-42", "title": "Fix login", "description": "It 500s"})
    steps = list(proto.steps())
    assert [s.key for s in steps] == [
        "gt-42.draft", "gt-42.refine-correctness", "gt-42.refine-clarity", "gt-42.refine-edges", "gt-42.refine-excellence"]
    assert steps[0].title == "Draft: Fix login" and "It 500s" in steps[0].description
    assert [s.needs for s in steps] == [[], ["1"], ["2"], ["3"], ["4"]]


def test_step_expand_and_compose_rewire_needs(fdir):
    fdir("feature", '''
        [[steps]]
        id = "design"
        [[steps]]
        id = "implement"
        title = "Implement login"
        needs = ["design"]
        expand = "rule-of-five"
        [[steps]]
        id = "ship"
        needs = ["implement"]
        ''')
    t = _table(_cook("feature"))
    keys = [k for _, k, _ in t]
    assert keys == ["design", "implement.draft", "implement.refine-correctness", "implement.refine-clarity",
                    "implement.refine-edges", "implement.refine-excellence", "ship"]
    assert t[1][2] == ["1"]  # the draft inherits implement's needs
    assert t[6][2] == ["6"]  # ship waits for the last refinement
    fdir("feature2", '''
        [[steps]]
        id = "implement"
        title = "Implement"
        [[steps]]
        id = "ship"
        needs = ["implement"]
        [[compose.expand]]
        target = "implement"
        with = "rule-of-five"
        ''')
    assert [k for _, k, _ in _table(_cook("feature2"))][-1] == "ship"
    assert len(_table(_cook("feature2"))) == 6


def test_expand_with_non_expansion_is_an_error(fdir):
    fdir("wrong", '''
        [[steps]]
        id = "a"
        expand = "release"
        ''')
    with pytest.raises(FormulaError) as exc:
        _cook("wrong")
    assert exc.value.key == "steps.a.expand" and "not an expansion" in exc.value.message


def test_convoy_legs_run_in_parallel_then_synthesis():
    proto = _cook("code-review", subject="PR 7")
    steps = list(proto.steps())
    legs, syn = steps[:-1], steps[-1]
    assert len(legs) == 5 and all(not s.needs for s in legs)
    assert syn.key == "synthesis" and syn.needs == ["1", "2", "3", "4", "5"]
    assert "Logic errors" in legs[0].description and "PR 7" in legs[0].description
    assert legs[0].context["leg"]["id"] == "correctness"
    assert proto.mol_type == "swarm"


def test_parallel_type_with_synthesis(fdir):
    fdir("fan", '''
        type = "parallel"
        [[steps]]
        id = "x"
        [[steps]]
        id = "y"
        [[steps]]
        id = "z"
        needs = ["x"]
        [synthesis]
        id = "join"
        title = "Join"
        ''')
    assert _table(_cook("fan")) == [("1", "x", []), ("2", "y", []), ("3", "z", ["1"]), ("4", "join", ["1", "2", "3"])]


def test_aspect_wraps_matching_steps(fdir):
    fdir("audit", '''
        type = "aspect"
        [[advice]]
        target = "impl*"
        [advice.around]
        [[advice.around.before]]
        id = "{step.id}-prescan"
        title = "Prescan before {step.title}"
        [[advice.around.after]]
        id = "{step.id}-postscan"
        title = "Postscan"
        ''')
    fdir("work", '''
        [[steps]]
        id = "plan"
        [[steps]]
        id = "implement"
        title = "Implement"
        needs = ["plan"]
        [[steps]]
        id = "ship"
        needs = ["implement"]
        [compose]
        aspects = ["audit"]
        ''')
    t = _table(_cook("work"))
    assert t == [
        ("1", "plan", []),
        ("2", "implement-prescan", ["1"]),
        ("3", "implement", ["2"]),
        ("4", "implement-postscan", ["3"]),
        ("5", "ship", ["4"]),
    ]
    assert next(s for s in _cook("work").steps() if s.key == "implement-prescan").title == "Prescan before Implement"
    fdir("plainwork", '[[steps]]\nid = "implement"\n')
    assert len(_table(_cook("plainwork", aspects=["audit"]))) == 3
    with pytest.raises(FormulaError):
        _cook("audit")


def test_children_are_nested_and_conditions_drop_steps():
    on = _table(_cook("release", version="1.2.3"))
    assert [l for l, _, _ in on] == ["1", "2", "2.1", "2.2", "2.3", "3", "4", "5", "6", "7"]
    off = _table(_cook("release", version="1.2.3", publish="false"))
    assert "publish" not in [k for _, k, _ in off]
    announce = next(t for t in off if t[1] == "announce")
    build = next(t for t in off if t[1] == "build")
    assert announce[2] == [build[0]]  # announce inherits the dropped step's needs
    gate = next(s for s in _cook("release", version="1.2.3").steps() if s.key == "go-no-go")
    assert gate.gate == {"type": "human"} and gate.issue_type == "gate"


def test_condition_forms(fdir):
    fdir("cond", '''
        [vars.mode]
        default = "fast"
        [vars.flag]
        type = "bool"
        default = false
        [[steps]]
        id = "always"
        [[steps]]
        id = "fast-only"
        condition = "{{mode}} == fast"
        [[steps]]
        id = "not-slow"
        condition = "mode != slow"
        [[steps]]
        id = "flagged"
        condition = "{{flag}}"
        [[steps]]
        id = "unflagged"
        condition = "!{{flag}}"
        ''')
    assert [k for _, k, _ in _table(_cook("cond"))] == ["always", "fast-only", "not-slow", "unflagged"]
    assert [k for _, k, _ in _table(_cook("cond", mode="slow", flag="true"))] == ["always", "flagged"]


def test_loops_count_range_over_parallel(fdir):
    fdir("loops", '''
        [vars.n]
        type = "int"
        default = 3
        [vars.names]
        type = "list"
        default = ["ann", "bob"]
        [[steps]]
        id = "start"
        [[steps]]
        id = "count"
        title = "Round {{i}} of {{n}}"
        needs = ["start"]
        loop = { count = "{{n}}" }
        [[steps]]
        id = "greet"
        title = "Hello {{who}}"
        needs = ["count"]
        loop = { over = "{{names}}", var = "who", sequential = false }
        [[steps]]
        id = "rng"
        title = "r{{i}}"
        loop = { range = "5..6" }
        [[steps]]
        id = "end"
        needs = ["greet", "rng"]
        ''')
    proto = _cook("loops")
    steps = list(proto.steps())
    assert proto.count == len(steps) == 1 + 3 + 2 + 2 + 1
    assert [(s.local, s.key, s.title, s.needs) for s in steps] == [
        ("1", "start", "start", []),
        ("2", "count.1", "Round 1 of 3", ["1"]),
        ("3", "count.2", "Round 2 of 3", ["2"]),
        ("4", "count.3", "Round 3 of 3", ["3"]),
        ("5", "greet.1", "Hello ann", ["4"]),
        ("6", "greet.2", "Hello bob", ["4"]),
        ("7", "rng.1", "r5", []),
        ("8", "rng.2", "r6", ["7"]),
        ("9", "end", "end", ["5", "6", "8"]),
    ]


def test_loop_errors(fdir):
    fdir("badloop", '''
        [[steps]]
        id = "x"
        title = "{{i}} {{nope}}"
        loop = { count = 2 }
        ''')
    with pytest.raises(FormulaError) as exc:
        _cook("badloop")
    assert exc.value.key == "steps.x.title" and "{{nope}}" in exc.value.message
    fdir("badgen", '[[steps]]\nid = "x"\nloop = { generator = "fibonacci" }\n')
    with pytest.raises(FormulaError) as exc:
        _cook("badgen")
    assert "unknown generator" in exc.value.message
    with pytest.raises(FormulaError) as exc:
        _cook("towers-of-hanoi", disks=0)
    assert exc.value.key == "steps.move.loop.args"


def test_gate_condition_is_substituted(fdir):
    fdir("gated", '''
        [vars.deploy]
        type = "bool"
        default = true
        [[steps]]
        id = "check"
        gate = { type = "conditional", condition = "{{deploy}}" }
        [[steps]]
        id = "deploy"
        needs = ["check"]
        run = "echo deploying"
        ''')
    gate = next(_cook("gated", deploy="false").steps())
    assert gate.gate == {"type": "conditional", "condition": "false"}


@pytest.mark.parametrize("n", range(1, 11))
def test_hanoi_generator_solves(n):
    """Replay the generated moves on three pegs: legal and solved, A to C."""
    gen = hanoi(n)
    pegs = {"A": list(range(n, 0, -1)), "B": [], "C": []}
    moves = 0
    for m in gen.values():
        src, dst = pegs[m["from"]], pegs[m["to"]]
        assert src and src[-1] == m["disk"]
        assert not dst or dst[-1] > m["disk"]
        dst.append(src.pop())
        moves += 1
    assert moves == gen.count == 2**n - 1
    assert pegs["C"] == list(range(n, 0, -1))


def test_hanoi_twenty_disks_is_lazy():
    proto = _cook("towers-of-hanoi", disks=20)
    assert proto.count == 1_048_575
    it = proto.steps()
    first = next(it)
    assert first.key == "move.1" and first.title == "Move disk 1 from A to B"


def test_compose_map_expands_every_matching_step(fdir):
    fdir("many", '''
        [[steps]]
        id = "impl-a"
        [[steps]]
        id = "impl-b"
        [[steps]]
        id = "ship"
        needs = ["impl-a", "impl-b"]
        [[compose.map]]
        select = "impl-*"
        with = "rule-of-five"
        ''')
    t = _table(_cook("many"))
    assert len(t) == 11
    ship = t[-1]
    assert ship[1] == "ship" and ship[2] == ["5", "10"]  # both last refinements


def test_aspect_single_before_and_after_tables(fdir):
    fdir("log", '''
        type = "aspect"
        [[advice]]
        target = "deploy"
        before = { id = "announce-{step.id}", title = "Announce" }
        after = { id = "verify-{step.id}", run = "curl -f http://x/{step.id}" }
        ''')
    fdir("app", '[[steps]]\nid = "deploy"\n')
    steps = list(_cook("app", aspects=["log"]).steps())
    assert [(s.key, s.needs) for s in steps] == [("announce-deploy", []), ("deploy", ["1"]), ("verify-deploy", ["2"])]
    assert steps[2].run == "curl -f http://x/deploy"


def test_recursive_expansion_is_an_error(fdir):
    fdir("forever", '''
        type = "expansion"
        [[template]]
        id = "{target}.again"
        expand = "forever"
        ''')
    fdir("uses", '[[steps]]\nid = "a"\nexpand = "forever"\n')
    with pytest.raises(FormulaError) as exc:
        _cook("uses")
    assert "nest more than 8 levels" in exc.value.message
