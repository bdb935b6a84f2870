"""Gas Town / Beads formula constructs: parallel steps, extends from siblings, aspect formulas,
--search-path, overlays, --NAME=VALUE; each cooked in both modes and poured into a real ledger."""

import json
import textwrap

import pytest

from gastown_server.formulas import molecule, search
from gastown_server.formulas.cook import cook, loader_for
from gastown_server.formulas.errors import FormulaError

BUILTINS = sorted(p.name[: -len(".formula.toml")] for p in search.builtin_dir().glob("*.formula.toml"))


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _json(proc):
    return json.loads(proc.stdout)


def _both(formula, given, **kw):
    """(compile proto, runtime proto)."""
    return (cook(formula, {}, load=loader_for(), mode="compile", **kw),
            cook(formula, given, load=loader_for(), **kw))


PARALLEL = '''
    [vars.pkg]
    required = true
    [[steps]]
    id = "build"
    title = "Build {{pkg}}"
    [[steps]]
    id = "checks"
    type = "parallel"
    title = "Checks for {{pkg}}"
    needs = ["build"]
    [[steps.steps]]
    id = "lint"
    run = "true"
    [[steps.steps]]
    id = "unit"
    run = "true"
    [[steps.children]]
    id = "docs"
    run = "true"
    [[steps]]
    id = "ship"
    needs = ["checks"]
    run = "true"
'''


def test_parallel_container_children_run_at_once_and_it_closes_when_they_do(fdir, ledger):
    fdir("par", PARALLEL)
    compiled, proto = _both(search.load("par"), {"pkg": "core"})
    assert [(s.local, s.key, s.needs, s.parallel) for s in compiled.steps()] == [
        ("1", "build", [], False), ("2", "checks", ["1"], True), ("2.1", "lint", [], False),
        ("2.2", "unit", [], False), ("2.3", "docs", [], False), ("3", "ship", ["2"], False)]
    assert compiled.missing == ["pkg"]
    root = molecule.pour(ledger, proto, actor="t")
    container = ledger.get(f"{root.id}.2")
    assert container.issue_type == "epic" and container.title == "Checks for core"
    ledger.close(f"{root.id}.1", actor="t")
    assert [b.id for b in molecule.current(ledger, root.id)] == [f"{root.id}.2.{i}" for i in (1, 2, 3)]
    outcomes = molecule.advance(ledger, root.id, actor="t")
    assert [(o.step_id, o.action) for o in outcomes] == [
        (f"{root.id}.2.1", "ran"), (f"{root.id}.2.2", "ran"), (f"{root.id}.2.3", "ran"), (f"{root.id}.3", "ran")]
    assert ledger.get(f"{root.id}.2").close_reason == "parallel: all children closed"
    assert molecule.progress(ledger, root.id).complete


def test_bd_close_of_the_last_child_closes_the_parallel_container(cli):
    (cli.home / "formulas").mkdir()
    (cli.home / "formulas" / "par.formula.toml").write_text(textwrap.dedent(PARALLEL))
    mol = _json(cli("bd", "--json", "mol", "pour", "par", "--var", "pkg=core"))["id"]
    cli("bd", "close", f"{mol}.1")
    cur = _json(cli("bd", "--json", "mol", "current", mol))
    assert [s["id"] for s in cur["steps"]] == [f"{mol}.2.1", f"{mol}.2.2", f"{mol}.2.3"]
    cli("bd", "close", f"{mol}.2.1", f"{mol}.2.3")
    assert _json(cli("bd", "--json", "show", f"{mol}.2"))[0]["status"] == "open"
    cli("bd", "close", f"{mol}.2.2")
    container = _json(cli("bd", "--json", "show", f"{mol}.2"))[0]
    assert container["status"] == "closed" and container["close_reason"] == "parallel: all children closed"
    assert [s["id"] for s in _json(cli("bd", "--json", "mol", "current", mol))["steps"]] == [f"{mol}.3"]


@pytest.mark.parametrize(
    "step, problem",
    [
        ('id = "x"\ntype = "sideways"', 'steps[0] (id "x").type: unknown step type \'sideways\''),
        ('id = "x"\ntype = "parallel"', 'steps[0] (id "x").type: a parallel step needs children'),
    ],
)
def test_bad_step_types_are_one_line_naming_file_and_step(fdir, step, problem):
    path = fdir("bad", f"[[steps]]\n{step}\n")
    with pytest.raises(FormulaError) as err:
        search.load("bad")
    assert err.value.message.startswith(f"{path}: ") and problem in err.value.message
    assert "\n" not in err.value.message


def test_extends_finds_siblings_first_then_the_search_path(tmp_path, fdir, ledger):
    lib = tmp_path / "lib"
    _write(lib / "base.formula.toml", '''
        [vars.who]
        default = "ann"
        [[steps]]
        id = "prepare"
        title = "Prepare for {{who}} (sibling base)"
        ''')
    _write(lib / "feature.formula.toml", '''
        extends = ["base", "common"]
        [[steps]]
        id = "work"
        needs = ["prepare", "lint"]
        ''')
    # a "base" on the search path too: the sibling wins; "common" is only on the search path
    fdir("base", '[[steps]]\nid = "wrong"\n')
    fdir("common", '[[steps]]\nid = "lint"\n')
    formula = search.load(str(lib / "feature.formula.toml"))
    compiled, proto = _both(formula, {"who": "bo"})
    assert [s.key for s in compiled.steps()] == ["prepare", "lint", "work"]
    assert compiled.steps().__next__().title == "Prepare for {{who}} (sibling base)"
    root = molecule.pour(ledger, proto, actor="t")
    assert [b.title for b in molecule.steps(ledger, root.id)] == ["Prepare for bo (sibling base)", "lint", "work"]


def test_extends_cycle_is_one_line_naming_the_chain(tmp_path, fdir):
    a = _write(tmp_path / "c" / "a.formula.toml", 'extends = ["b"]\n[[steps]]\nid = "x"\n')
    _write(tmp_path / "c" / "b.formula.toml", 'extends = ["c"]\n[[steps]]\nid = "y"\n')
    c = _write(tmp_path / "c" / "c.formula.toml", 'extends = ["a"]\n[[steps]]\nid = "z"\n')
    with pytest.raises(FormulaError) as err:
        search.load(str(a))
    assert err.value.message == f"{c}: extends[0]: extends loop: a -> b -> c -> a"
    me = _write(tmp_path / "d" / "self.formula.toml", 'extends = ["self"]\n[[steps]]\nid = "x"\n')
    with pytest.raises(FormulaError, match="extends loop: self -> self .a formula cannot extend itself"):
        search.load(str(me))


ASPECTS = '''
    type = "aspect"
    description = "Audit {{target}} from several angles"
    [vars.target]
    required = true
    [[aspects]]
    id = "security"
    title = "Security of {{target}}"
    focus = "authz and secrets"
    description = "Look at {{aspect.title}}{{#if deep}}, line by line{{/if}}."
    [[aspects]]
    id = "cost"
    focus = "spend"
    description = "Look at {{aspect.id}}."
    [vars.deep]
    type = "bool"
    default = true
    [synthesis]
    title = "Merge the findings on {{target}}"
'''


def test_gas_town_aspect_formula_cooks_and_pours_as_a_parallel_analysis(fdir, ledger):
    fdir("audit", ASPECTS)
    compiled, proto = _both(search.load("audit"), {"target": "billing"})
    assert [(s.key, s.needs) for s in compiled.steps()] == [("security", []), ("cost", []), ("synthesis", ["1", "2"])]
    assert list(compiled.steps())[0].description == "Focus: authz and secrets\n\nLook at {{aspect.title}}{{#if deep}}, line by line{{/if}}."
    steps = list(proto.steps())
    assert steps[0].description == "Focus: authz and secrets\n\nLook at Security of billing, line by line."
    assert steps[1].description == "Focus: spend\n\nLook at cost." and steps[2].title == "Merge the findings on billing"
    root = molecule.pour(ledger, proto, actor="t")
    assert ledger.get(root.id).mol_type == "swarm"
    assert [b.id for b in molecule.current(ledger, root.id)] == [f"{root.id}.1", f"{root.id}.2"]
    assert molecule.meta_of(ledger.get(f"{root.id}.1"))["aspect"]["id"] == "security"


def test_beads_advice_aspect_still_applies_and_cannot_be_used_as_a_gas_town_one(fdir):
    fdir("advice", '''
        type = "aspect"
        [[advice]]
        target = "ship"
        [advice.before]
        id = "{step.id}-check"
        ''')
    fdir("app", '[[steps]]\nid = "ship"\n[compose]\naspects = ["advice"]\n')
    assert [s.key for s in cook(search.load("app"), {}, load=loader_for()).steps()] == ["ship-check", "ship"]
    with pytest.raises(FormulaError, match=r"an aspect formula of \[\[advice\]\] is applied to another formula"):
        cook(search.load("advice"), {})
    fdir("audit", ASPECTS)
    with pytest.raises(FormulaError, match="not advice"):
        cook(search.load("app"), {}, load=loader_for(), aspects=["audit"])


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_cooks_in_both_modes_and_pours(name, ledger, monkeypatch):
    monkeypatch.delenv("GT_FORMULA_PATH", raising=False)
    formula = search.load(name)
    given = {n: "1.2.3" if v.pattern else "x-1" for n, v in formula.vars.items() if v.required and v.default is None}
    compiled, proto = _both(formula, {**given, **({"disks": 3} if name == "towers-of-hanoi" else {})})
    assert compiled.count == len(list(compiled.steps())) > 0
    assert all("{{" not in s.title for s in proto.steps())
    root = molecule.pour(ledger, proto, actor="t", wisp=proto.wisp_default)
    assert molecule.progress(ledger, root.id).total == proto.count


# -- command line ---------------------------------------------------------------------------


def test_overlay_create_show_apply_remove_and_survive_an_upgrade(cli, tmp_path):
    shipped = tmp_path / "shipped"  # stands for the built-in layer: "upgraded" below
    base = _write(shipped / "patrol.formula.toml", '''
        description = "Shipped patrol v1"
        [vars.max]
        type = "int"
        default = 60
        description = "Back-off ceiling"
        [[steps]]
        id = "inbox"
        run = "true"
        [[steps]]
        id = "plugins"
        needs = ["inbox"]
        [[steps]]
        id = "backoff"
        needs = ["plugins"]
        title = "Back off {{max}}s"
        ''')
    env = {"GT_FORMULA_PATH": str(shipped)}
    bad = tmp_path / "bad.toml"
    bad.write_text('remove_steps = ["nope"]\n')
    refused = cli("gt", "formula", "overlay", "create", "patrol", "--file", str(bad), env=env, check=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "names unknown step 'nope'" in refused.stderr
    assert not (cli.home / "formulas" / "overlays" / "patrol.toml").exists()
    skeleton = _json(cli("gt", "--json", "formula", "overlay", "create", "patrol", env=env))
    assert skeleton["path"] == str(cli.home / "formulas" / "overlays" / "patrol.toml") and skeleton["layer"] == "path"
    again = cli("gt", "formula", "overlay", "create", "patrol", env=env, check=False)
    assert again.returncode == 1 and "exists: edit it, or give --force" in again.stderr
    change = tmp_path / "change.toml"
    change.write_text(textwrap.dedent('''
        description = "Our patrol"
        remove_steps = ["plugins"]
        [vars.max]
        default = 5
        [[steps]]
        id = "report"
        needs = ["backoff"]
        run = "echo report"
        '''))
    cli("gt", "formula", "overlay", "create", "patrol", "--file", str(change), "--force", env=env)
    assert {i["name"]: i for i in _json(cli("bd", "--json", "formula", "list", env=env))}["patrol"]["overlay"] == skeleton["path"]
    assert "[overlay]" in cli("gt", "formula", "list", env=env).stdout
    shown = _json(cli("gt", "formula", "overlay", "show", "patrol", "--json", env=env))
    assert shown["overlay"]["remove_steps"] == ["plugins"] and shown["formula"] == str(base)
    eff = shown["effective"]
    assert eff["description"] == "Our patrol" and eff["vars"]["max"] == {"description": "Back-off ceiling", "default": 5, "type": "int"}
    assert [(s["id"], s.get("needs")) for s in eff["steps"]] == [("inbox", None), ("backoff", ["inbox"]), ("report", ["backoff"])]
    proto = _json(cli("bd", "--json", "cook", "patrol", "--mode=runtime", env=env))
    assert [s["title"] for s in proto["steps"]] == ["inbox", "Back off 5s", "report"]
    # the shipped formula is upgraded: the town's overlay still applies to the new version
    base.write_text(base.read_text().replace("Shipped patrol v1", "Shipped patrol v2").replace(
        'id = "backoff"', 'id = "backoff"\nrun = "true"'))
    run = _json(cli("gt", "--json", "formula", "run", "patrol", env=env))
    assert [o["action"] for o in run["outcomes"]] == ["ran", "ran", "ran"] and run["complete"]
    listed = _json(cli("gt", "--json", "formula", "overlay", "list", env=env))
    assert [i["name"] for i in listed] == ["patrol"]
    removed = _json(cli("gt", "--json", "formula", "overlay", "remove", "patrol", env=env))
    assert removed["removed"] == skeleton["path"]
    assert [s["title"] for s in _json(cli("bd", "--json", "cook", "patrol", "--mode=runtime", env=env))["steps"]] == [
        "inbox", "plugins", "Back off 60s"]
    gone = cli("gt", "formula", "overlay", "show", "patrol", env=env, check=False)
    assert gone.returncode == 1 and "no overlay for 'patrol'" in gone.stderr


def test_search_path_flag_and_formula_run_var_flags(cli, tmp_path):
    extra = _write(tmp_path / "more" / "greet.formula.toml", f'''
        phase = "vapor"
        [vars.who]
        required = true
        [vars.times]
        type = "int"
        default = 1
        [vars.rig]
        default = ""
        [[steps]]
        id = "say"
        run = "echo {{{{who}}}} {{{{times}}}} {{{{rig}}}} >> {tmp_path / 'said.log'}"
        ''')
    missing = cli("bd", "cook", "greet", check=False)
    assert missing.returncode == 1 and "no such formula" in missing.stderr
    proto = _json(cli("bd", "--json", "cook", "greet", "--search-path", str(extra.parent)))
    assert proto["mode"] == "compile" and proto["missing"] == ["who"]
    env = {"GT_FORMULA_PATH": str(extra.parent)}
    cli("gt", "formula", "run", "greet", "--who=ann", "--times", "2", env=env)
    cli("gt", "formula", "run", "greet", "--var", "who=bo", "--rig", "r1", env=env)  # --rig fills the rig variable
    assert (tmp_path / "said.log").read_text() == "ann 2\nbo 1 r1\n"
    typo = cli("gt", "formula", "run", "greet", "--who=ann", "--tims=2", env=env, check=False)
    assert typo.returncode == 1 and "unknown variable 'tims'" in typo.stderr and typo.stderr.count("\n") == 1
    dangling = cli("gt", "formula", "run", "greet", "--who", env=env, check=False)
    assert dangling.returncode == 1 and "--who needs a value" in dangling.stderr
    other = cli("bd", "cook", "greet", "--who=ann", env=env, check=False)  # only gt formula run takes --NAME=VALUE
    assert other.returncode == 1 and "unrecognized arguments: --who=ann" in other.stderr


def test_loop_over_a_declared_list_without_a_value_makes_no_steps(fdir):
    fdir("each", '[vars.names]\ntype = "list"\n[[steps]]\nid = "hi"\ntitle = "Hi {{who}}"\nloop = { over = "{{names}}", var = "who" }\n')
    assert cook(search.load("each"), {}).count == 0
    assert [s.title for s in cook(search.load("each"), {"names": "a, b"}).steps()] == ["Hi a", "Hi b"]
