"""bd cook's compile mode (the default) and runtime mode; Handlebars text rendered at pour time."""

import json

import pytest

from gastown_server.formulas import molecule, search
from gastown_server.formulas.cook import cook, loader_for
from gastown_server.formulas.errors import FormulaError
from gastown_server.errors import InvalidInput

REVIEW = '''
formula = "review"
description = "Review {{pr}}{{#if urgent}} (urgent){{/if}}"
[vars.pr]
required = true
[vars.urgent]
type = "bool"
default = false
[vars.files]
type = "list"
default = ["a.py", "b.py"]
[vars.owners]
default = [{ name = "ann", area = "db" }, { name = "bo", area = "ui" }]
[vars.note]
description = "optional, no default"

[[steps]]
id = "read"
title = "Read {{pr}}"
description = """
Files to read:
{{#each files}}
- {{this}} ({{@index}})
{{/each}}
{{#if note}}
Note: {{note}}
{{else}}
No note.
{{/if}}
Ask {{#each owners}}{{name}} ({{this.area}}){{#unless @last}}, {{/unless}}{{/each}}.
Leave {{convoy.title}} alone.
"""
[[steps]]
id = "fast-path"
needs = ["read"]
condition = "{{urgent}}"
title = "Merge {{pr}} fast"
[[steps]]
id = "approve"
needs = ["fast-path"]
title = "{{#unless urgent}}Approve{{else}}Rush{{/unless}} {{pr}}"
acceptance = "{{#if urgent}}on call paged{{else}}two approvals{{/if}}"
[[steps]]
id = "poll"
needs = ["approve"]
title = "Poll CI {{i}}/{{rounds}}"
loop = { count = "{{rounds}}" }
[vars.rounds]
type = "int"
default = 2
'''


def _load(fdir):
    fdir("review", REVIEW)
    return search.load("review")


def test_compile_mode_keeps_text_and_structure_with_missing_required(fdir):
    proto = cook(_load(fdir), {}, load=loader_for(), mode="compile")
    steps = list(proto.steps())
    assert proto.mode == "compile" and proto.missing == ["pr"]
    assert [s.key for s in steps] == ["read", "fast-path", "approve", "poll"]  # condition kept, loop one step
    assert steps[0].description.startswith("Files to read:\n{{#each files}}\n- {{this}} ({{@index}})")
    assert steps[1].condition == "{{urgent}}" and steps[1].title == "Merge {{pr}} fast"
    assert steps[3].loop == {"count": "{{rounds}}"} and steps[3].title == "Poll CI {{i}}/{{rounds}}"
    assert proto.description == "Review {{pr}}{{#if urgent}} (urgent){{/if}}"
    data = proto.to_builtins()
    assert data["mode"] == "compile" and data["missing"] == ["pr"]
    assert data["placeholders"] == ["pr", "urgent", "files", "note", "owners", "rounds"]


def test_runtime_mode_renders_blocks_and_pours(fdir, ledger):
    formula = _load(fdir)
    with pytest.raises(FormulaError, match="vars.pr: missing required variable 'pr'"):
        cook(formula, {}, load=loader_for())
    proto = cook(formula, {"pr": "#7", "urgent": "false"}, load=loader_for())
    steps = {s.key: s for s in proto.steps()}
    assert set(steps) == {"read", "approve", "poll.1", "poll.2"}  # fast-path dropped by its condition
    assert steps["read"].description == (
        "Files to read:\n- a.py (0)\n- b.py (1)\nNo note.\nAsk ann (db), bo (ui).\nLeave {{convoy.title}} alone.\n")
    assert steps["approve"].title == "Approve #7" and steps["approve"].acceptance == "two approvals"
    assert steps["approve"].needs == ["1"]  # inherited from the dropped fast-path
    assert steps["poll.2"].title == "Poll CI 2/2"
    root = molecule.pour(ledger, proto, actor="t")
    beads = {molecule.meta_of(b)["step"]: b for b in molecule.steps(ledger, root.id)}
    assert beads["approve"].title == "Approve #7" and beads["approve"].acceptance_criteria == "two approvals"
    assert "Ask ann (db), bo (ui)." in beads["read"].description and root.description == "Review #7"

    urgent = cook(formula, {"pr": "#8", "urgent": "true", "note": "hotfix", "files": "x.py"}, load=loader_for())
    steps = {s.key: s for s in urgent.steps()}
    assert "fast-path" in steps and steps["approve"].title == "Rush #8"
    assert steps["read"].description.startswith("Files to read:\n- x.py (0)\nNote: hotfix\nAsk")
    assert urgent.description == "Review #8 (urgent)"


def test_a_compiled_proto_cannot_be_poured(fdir, ledger):
    proto = cook(_load(fdir), {"pr": "#1"}, load=loader_for(), mode="compile")
    with pytest.raises(InvalidInput, match="compile-mode protomolecule cannot be poured"):
        molecule.pour(ledger, proto, actor="t")
    assert ledger.conn.execute("SELECT COUNT(*) FROM issues").fetchone()[0] == 0


def test_open_block_is_one_line_naming_file_and_step_in_both_modes(fdir):
    path = fdir("broken", '''
        [vars.x]
        default = "1"
        [[steps]]
        id = "build"
        description = "{{#if x}}never closed"
        ''')
    for mode in ("compile", "runtime"):
        with pytest.raises(FormulaError) as err:
            cook(search.load("broken"), {}, mode=mode)
        assert err.value.message == f"{path}: steps.build.description: block {{{{#if x}}}} is never closed (add {{{{/if}}}})"


def _json(proc):
    return json.loads(proc.stdout)


def test_bd_cook_modes_on_the_command_line(cli):
    (cli.home / "formulas").mkdir()
    (cli.home / "formulas" / "review.formula.toml").write_text(REVIEW)
    compiled = _json(cli("bd", "--json", "cook", "review"))  # no --var: compile mode
    assert compiled["mode"] == "compile" and compiled["missing"] == ["pr"]
    assert compiled["steps"][2]["title"] == "{{#unless urgent}}Approve{{else}}Rush{{/unless}} {{pr}}"
    text = cli("bd", "cook", "review").stdout
    assert "compile mode" in text and "{{pr}} (required, missing)" in text
    refused = cli("bd", "cook", "review", "--mode=runtime", check=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "missing required variable 'pr'" in refused.stderr
    run = _json(cli("bd", "--json", "cook", "review", "--var", "pr=#9"))  # any --var: runtime
    assert run["mode"] == "runtime" and run["steps"][1]["title"] == "Approve #9"
    both = _json(cli("bd", "--json", "cook", "review", "--var", "pr=#9", "--mode", "compile"))
    assert both["mode"] == "compile" and both["missing"] == [] and both["steps"][0]["title"] == "Read {{pr}}"
    poured = _json(cli("bd", "--json", "mol", "pour", "review", "--var", "pr=#9", "--var", "urgent=yes"))
    shown = _json(cli("bd", "--json", "mol", "show", poured["id"]))
    assert [s["title"] for s in shown["steps"]][:3] == ["Read #9", "Merge #9 fast", "Rush #9"]
    missing = cli("bd", "mol", "pour", "review", check=False)  # pouring needs runtime values
    assert missing.returncode == 1 and "missing required variable 'pr'" in missing.stderr


@pytest.mark.parametrize("name", sorted(search.catalog(town=None).keys() & {
    "code-review", "mol-boot-triage", "mol-deacon-patrol", "mol-polecat-work", "mol-refinery-patrol",
    "mol-witness-patrol", "release", "rule-of-five", "towers-of-hanoi"}))
def test_every_builtin_cooks_in_compile_mode_without_variables(name, monkeypatch):
    monkeypatch.delenv("GT_FORMULA_PATH", raising=False)
    proto = cook(search.load(name), {}, load=loader_for(), mode="compile")
    assert proto.count == len(list(proto.steps())) > 0
