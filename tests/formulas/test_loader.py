"""Parsing and validating formula files: every type and key in SPEC.md, and bad input."""

import pytest

from gastown_server.formulas import search
from gastown_server.formulas.cook import cook, loader_for
from gastown_server.formulas.errors import FormulaError
from gastown_server.formulas.loader import load_file

BUILTINS = sorted(p.name[: -len(".formula.toml")] for p in search.builtin_dir().glob("*.formula.toml"))


def test_builtins_are_the_ones_promised():
    for name in ("mol-polecat-work", "mol-deacon-patrol", "mol-witness-patrol", "mol-refinery-patrol",
                 "mol-boot-triage", "rule-of-five", "code-review", "release", "towers-of-hanoi"):
        assert name in BUILTINS


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_loads_and_validates(name, fdir):
    f = search.load(name)
    assert f.formula == name
    assert f.layer == "builtin"
    assert f.description


def test_gas_town_style_file_loads(fdir):
    """A file shaped like Gas Town's own (inputs, depends_on, unknown keys) loads."""
    fdir("gt-style", '''
        description = """Full lifecycle"""
        formula = "gt-style"
        version = 4
        some_future_key = { anything = true }

        [inputs]
        [inputs.issue]
        description = "The issue"
        required = true

        [vars]
        mode = "fast"

        [[steps]]
        id = "load-context"
        title = "Load {{issue}}"
        description = "Read it ({{mode}})"
        unknown_step_key = 3

        [[steps]]
        id = "work"
        title = "Work"
        depends_on = ["load-context"]
        ''')
    f = search.load("gt-style")
    assert set(f.vars) == {"issue", "mode"}
    assert f.vars["mode"].default == "fast"
    proto = cook(f, {"issue": "gt-1"})
    steps = list(proto.steps())
    assert [s.title for s in steps] == ["Load gt-1", "Work"]
    assert steps[1].needs == ["1"]


def _err(fdir, text, name="bad", **vars_):
    path = fdir(name, text)
    with pytest.raises(FormulaError) as exc:
        f = search.load(name)
        cook(f, vars_, load=loader_for())
    assert str(path) in exc.value.message or name in exc.value.message
    assert "\n" not in exc.value.message
    return exc.value


def test_invalid_toml_names_file_and_line(fdir):
    e = _err(fdir, 'formula = "bad"\n[[steps]\nid = "a"\n')
    assert "invalid TOML" in e.message and "line 2" in e.message


def test_wrong_type_names_the_key(fdir):
    e = _err(fdir, '''
        [[steps]]
        id = "a"
        [[steps]]
        id = "b"
        needs = "a"
        ''')
    assert e.key == 'steps[1] (id "b").needs'
    assert "expected array" in e.message


def test_needs_unknown_step(fdir):
    e = _err(fdir, '''
        [[steps]]
        id = "a"
        needs = ["nope"]
        ''')
    assert e.key == 'steps[0] (id "a").needs' and "'nope'" in e.message


def test_cycle_in_needs(fdir):
    e = _err(fdir, '''
        [[steps]]
        id = "a"
        needs = ["c"]
        [[steps]]
        id = "b"
        needs = ["a"]
        [[steps]]
        id = "c"
        needs = ["b"]
        ''')
    assert "cycle in needs" in e.message and e.key.endswith(".needs")
    assert "a -> " in e.message or "b -> " in e.message


def test_duplicate_step_id(fdir):
    e = _err(fdir, '''
        [[steps]]
        id = "a"
        [[steps]]
        id = "x"
        [[steps.children]]
        id = "a"
        ''')
    assert "duplicate step id 'a'" in e.message


def test_unknown_variable_in_text(fdir):
    e = _err(fdir, '''
        [[steps]]
        id = "a"
        title = "Do {{what}}"
        ''')
    assert e.key == "steps.a.title" and "unknown variable {{what}}" in e.message


def test_unknown_variable_given(fdir):
    e = _err(fdir, '''
        [vars.x]
        default = "1"
        [[steps]]
        id = "a"
        ''', y="2")
    assert e.key == "vars.y" and "unknown variable 'y'" in e.message


def test_missing_required_variable(fdir):
    e = _err(fdir, '''
        [vars.issue]
        required = true
        [[steps]]
        id = "a"
        title = "{{issue}}"
        ''')
    assert e.key == "vars.issue" and "missing required variable 'issue'" in e.message


def test_required_unless(fdir):
    text = '''
        [inputs.pr]
        required_unless = ["branch"]
        [inputs.branch]
        [[steps]]
        id = "a"
        '''
    e = _err(fdir, text)
    assert "give it or one of branch" in e.message
    f = search.load("bad")
    assert cook(f, {"branch": "feature"}).vars == {"branch": "feature"}


def test_variable_types_enum_pattern(fdir):
    fdir("typed", '''
        [vars.n]
        type = "int"
        default = 3
        [vars.flag]
        type = "bool"
        default = "false"
        [vars.color]
        enum = ["red", "blue"]
        default = "red"
        [vars.ver]
        pattern = '\\d+\\.\\d+'
        default = "1.0"
        [[steps]]
        id = "a"
        title = "{{n}} {{flag}} {{color}} {{ver}}"
        ''')
    f = search.load("typed")
    assert next(cook(f, {"n": "7", "flag": "yes"}).steps()).title == "7 true red 1.0"
    for bad, where in (({"n": "x"}, "vars.n"), ({"flag": "maybe"}, "vars.flag"),
                       ({"color": "green"}, "vars.color"), ({"ver": "v1"}, "vars.ver")):
        with pytest.raises(FormulaError) as exc:
            cook(f, bad)
        assert exc.value.key == where


def test_unknown_formula_type(fdir):
    e = _err(fdir, 'type = "nonsense"\n[[steps]]\nid = "a"\n')
    assert e.key == "type"


def test_extends_merges_parent_first(fdir):
    fdir("base", '''
        [vars.who]
        default = "base"
        [[steps]]
        id = "a"
        title = "A by {{who}}"
        [[steps]]
        id = "b"
        title = "B"
        needs = ["a"]
        ''')
    fdir("child", '''
        extends = ["base"]
        [vars.who]
        default = "child"
        [[steps]]
        id = "b"
        title = "B replaced"
        needs = ["a"]
        [[steps]]
        id = "c"
        needs = ["b"]
        ''')
    f = search.load("child")
    assert f.formula == "child"
    steps = list(cook(f).steps())
    assert [(s.key, s.title) for s in steps] == [("a", "A by child"), ("b", "B replaced"), ("c", "c")]


def test_extends_loop(fdir):
    fdir("one", 'extends = "two"\n[[steps]]\nid = "a"\n')
    path = fdir("two", 'extends = ["one"]\n[[steps]]\nid = "b"\n')
    with pytest.raises(FormulaError) as exc:
        search.load("one")
    assert "extends loop" in exc.value.message and exc.value.key.startswith("extends[")
    assert "one -> two -> one" in exc.value.message
    assert str(path) in exc.value.message


def test_extends_unknown(fdir):
    e = _err(fdir, 'extends = ["ghost"]\n[[steps]]\nid = "a"\n')
    assert e.key == "extends[0]" and "ghost" in e.message


def test_load_file_without_search_path(tmp_path):
    p = tmp_path / "solo.formula.toml"
    p.write_text('[[steps]]\nid = "only"\n')
    f, _ = load_file(p)
    assert f.formula == "solo" and f.steps[0].id == "only"


def test_search_path_layers_override_by_name(tmp_path, monkeypatch):
    from gastown_server.paths import ledger_path

    town = tmp_path / "town"
    ledger_path(town).parent.mkdir(parents=True)
    ledger_path(town).write_bytes(b"")
    (town / "formulas").mkdir()
    (town / "rig1" / "formulas").mkdir(parents=True)
    (town / "formulas" / "release.formula.toml").write_text('formula = "release"\ndescription = "town"\n[[steps]]\nid = "t"\n')
    (town / "formulas" / "town-only.formula.toml").write_text('[[steps]]\nid = "t"\n')
    (town / "rig1" / "formulas" / "release.formula.toml").write_text('formula = "release"\ndescription = "rig"\n[[steps]]\nid = "r"\n')
    monkeypatch.delenv("GT_FORMULA_PATH", raising=False)
    monkeypatch.delenv("GT_RIG", raising=False)
    monkeypatch.setenv("GT_TOWN", str(town))
    cat = search.catalog()
    assert cat["release"].layer == "town" and cat["town-only"].layer == "town"
    assert cat["towers-of-hanoi"].layer == "builtin"
    assert search.load("release").description == "town"
    assert search.load("release", rig="rig1").description == "rig"
    monkeypatch.setenv("GT_RIG", "rig1")
    assert search.catalog()["release"].layer == "rig"


def test_other_variable_types_are_strings(fdir):
    fdir("paths", '''
        [vars.where]
        type = "path"
        default = "/tmp/x"
        [[steps]]
        id = "a"
        title = "in {{where}}"
        ''')
    assert next(cook(search.load("paths")).steps()).title == "in /tmp/x"
