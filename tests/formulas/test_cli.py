"""bd cook / bd mol / bd formula / gt formula as real processes."""

import json

import pytest


def _json(proc):
    return json.loads(proc.stdout)


def test_formula_list_and_show(cli):
    items = _json(cli("bd", "--json", "formula", "list"))
    names = {i["name"]: i for i in items}
    assert names["towers-of-hanoi"]["layer"] == "builtin" and names["rule-of-five"]["type"] == "expansion"
    assert "mol-witness-patrol" in cli("gt", "formula", "list").stdout
    info = _json(cli("gt", "formula", "show", "mol-refinery-patrol", "--json"))
    assert info["vars"]["rig"]["required"] is True
    assert [s["id"] for s in info["steps"]][:3] == ["inbox", "queue-nonempty", "process-next"]
    text = cli("bd", "formula", "show", "release").stdout
    assert "version: string required" in text and "  tests: Full test suite passes" in text


def test_town_and_rig_layers_override(cli):
    (cli.home / "formulas").mkdir()
    (cli.home / "formulas" / "release.formula.toml").write_text(
        'formula = "release"\ndescription = "our own release"\n[[steps]]\nid = "ship"\n')
    (cli.home / "r1" / "formulas").mkdir(parents=True)
    (cli.home / "r1" / "formulas" / "release.formula.toml").write_text(
        'formula = "release"\ndescription = "rig release"\n[[steps]]\nid = "ship-rig"\n')
    listed = {i["name"]: i["layer"] for i in _json(cli("bd", "--json", "formula", "list"))}
    assert listed["release"] == "town"
    assert {i["name"]: i["layer"] for i in _json(cli("bd", "--json", "formula", "list", "--rig", "r1"))}["release"] == "rig"
    assert {i["name"]: i["layer"] for i in _json(cli("bd", "--json", "formula", "list", env={"GT_RIG": "r1"}))}["release"] == "rig"
    proto = _json(cli("bd", "--json", "cook", "release"))
    assert [s["key"] for s in proto["steps"]] == ["ship"]


def test_cook_pour_walk_with_bd_close(cli):
    proto = _json(cli("bd", "--json", "cook", "towers-of-hanoi", "--var", "disks=3"))
    assert proto["step_count"] == 7 and proto["steps"][0]["title"] == "Move disk 1 from A to C"
    poured = _json(cli("bd", "--json", "mol", "pour", "towers-of-hanoi", "--var", "disks=3"))
    mol = poured["id"]
    assert poured["current"] == [f"{mol}.1"] and not poured["ephemeral"]
    for i in range(1, 8):
        cur = _json(cli("bd", "--json", "mol", "current", mol))
        assert [s["id"] for s in cur["steps"]] == [f"{mol}.{i}"]
        assert cur["steps"][0]["step"] == f"move.{i}"
        cli("bd", "close", f"{mol}.{i}")
    cur = _json(cli("bd", "--json", "mol", "current", mol))
    assert cur == {"molecule": mol, "complete": True, "steps": []}
    assert "complete (7/7 steps closed)" in cli("bd", "mol", "current", f"{mol}.3").stdout
    prog = _json(cli("bd", "--json", "mol", "progress", mol))
    assert prog["closed"] == prog["total"] == 7 and prog["percent"] == 100.0
    show = _json(cli("bd", "--json", "mol", "show", mol))
    assert show["formula"] == "towers-of-hanoi" and len(show["steps"]) == 7
    digest = _json(cli("bd", "--json", "mol", "squash", mol))
    assert digest["title"].startswith("towers-of-hanoi: 7/7 steps closed") and digest["status"] == "closed"


def test_mol_current_defaults_to_your_molecule(cli):
    mol = _json(cli("bd", "--json", "mol", "pour", "mol-boot-triage", "--assignee", "boot"))["id"]
    cur = _json(cli("bd", "--json", "--actor", "boot", "mol", "current"))
    assert cur["molecule"] == mol
    bad = cli("bd", "--actor", "nobody", "mol", "current", check=False)
    assert bad.returncode == 1 and bad.stderr.strip() == "bd: error: no molecule given and none assigned to nobody"


def test_wisp_burn_and_skip(cli):
    w = _json(cli("bd", "--json", "mol", "wisp", "mol-witness-patrol", "--var", "rig=r1"))
    assert w["ephemeral"] and "-wisp-" in w["id"]
    skipped = _json(cli("bd", "--json", "mol", "skip", f"{w['id']}.1"))
    assert len(skipped["closed"]) == 8  # every step of mol-witness-patrol (inbox .. backoff, with stalls)
    out = _json(cli("bd", "--json", "mol", "burn", w["id"]))
    assert out == {"molecule": w["id"], "deleted": 9}
    gone = cli("bd", "show", w["id"], check=False)
    assert gone.returncode == 1
    p = _json(cli("bd", "--json", "mol", "pour", "mol-boot-triage"))
    refused = cli("bd", "mol", "burn", p["id"], check=False)
    assert refused.returncode == 1 and "--force" in refused.stderr


def test_gt_formula_run_executes_commands_and_squashes(cli, tmp_path):
    log = tmp_path / "ran.log"
    (cli.home / "formulas").mkdir()
    (cli.home / "formulas" / "chores.formula.toml").write_text(f'''
formula = "chores"
phase = "vapor"
[vars.who]
default = "deacon"
[[steps]]
id = "one"
run = "echo one $GT_VAR_WHO $GT_STEP_KEY >> {log}"
[[steps]]
id = "two"
needs = ["one"]
run = "echo two >> {log}"
[squash]
trigger = "on_complete"
''')
    out = _json(cli("gt", "formula", "run", "chores", "--json"))
    assert [o["action"] for o in out["outcomes"]] == ["ran", "ran"]
    assert out["complete"] and out["digest"]
    assert log.read_text() == "one deacon one\ntwo\n"
    assert cli("bd", "show", out["molecule"], check=False).returncode == 1  # the wisp was burned


def test_gt_formula_run_stops_on_prose_and_failure(cli):
    # load-context runs `bd show t-x`, which fails: the walk stops, the step stays open
    proc = cli("gt", "formula", "run", "mol-polecat-work", "--var", "issue=t-x", check=False)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "gt: error: step " in proc.stderr and "failed (exit 1)" in proc.stderr
    issue = cli("bd", "create", "real issue", "--silent").stdout.strip()
    proc = cli("gt", "formula", "run", "mol-polecat-work", "--var", f"issue={issue}")
    assert "ran" in proc.stdout and "waiting" in proc.stdout and "Waiting on 1 step(s)" in proc.stdout


def test_gt_formula_hanoi_writes_expanded_file(cli, tmp_path):
    path = tmp_path / "h4.formula.toml"
    cli("gt", "formula", "hanoi", "--disks", "4", "-o", str(path))
    proto = _json(cli("bd", "--json", "cook", str(path)))
    assert proto["step_count"] == 15
    assert [s.get("needs", []) for s in proto["steps"][:3]] == [[], ["1"], ["2"]]
    generated = _json(cli("bd", "--json", "cook", "towers-of-hanoi", "--var", "disks=4"))
    assert [s["title"] for s in proto["steps"]] == [s["title"] for s in generated["steps"]]
    bad = cli("gt", "formula", "hanoi", "--disks", "99", check=False)
    assert bad.returncode == 1 and "between 1 and 24" in bad.stderr


@pytest.mark.parametrize(
    "text, args, expect",
    [
        ('formula = "x"\n[[steps]\n', [], "invalid TOML"),
        ('[[steps]]\nid = "a"\ntitle = "{{ghost}}"\n', [], "steps.a.title: unknown variable {{ghost}}"),
        ('[vars.v]\nrequired = true\n[[steps]]\nid = "a"\n', [], "vars.v: missing required variable 'v'"),
        ('[[steps]]\nid = "a"\n', ["--var", "zzz=1"], "vars.zzz: unknown variable 'zzz'"),
        ('[[steps]]\nid = "a"\nneeds = ["b"]\n', [], "needs: names unknown step 'b'"),
        ('[[steps]]\nid = "a"\nneeds = ["b"]\n[[steps]]\nid = "b"\nneeds = ["a"]\n', [], "cycle in needs: a -> b -> a"),
        ('extends = ["bad"]\n[[steps]]\nid = "a"\n', [], "extends loop: bad -> bad"),
        ('[[steps]]\nid = "a"\ndescription = "{{#each xs}}never closed"\n[vars.xs]\ndefault = []\n', [],
         "steps.a.description: block {{#each xs}} is never closed (add {{/each}})"),
        ('[[steps]]\nid = "a"\ntitle = "{{#if x}}y{{/unless}}"\n[vars.x]\ndefault = 1\n', [],
         "steps.a.title: {{/unless}} closes {{#if x}}"),
        ('[[steps]]\nid = "a"\ntype = "concurrent"\n', [], 'steps[0] (id "a").type: unknown step type \'concurrent\''),
    ],
)
def test_bad_formulas_one_line_exit_1_nothing_poured(cli, text, args, expect):
    (cli.home / "formulas").mkdir(exist_ok=True)
    path = cli.home / "formulas" / "bad.formula.toml"
    path.write_text(text)
    before = _json(cli("bd", "--json", "stats"))["total"]
    for cmd in (["bd", "cook", "bad", "--mode=runtime"], ["bd", "mol", "pour", "bad"], ["bd", "mol", "wisp", "bad"], ["gt", "formula", "run", "bad"]):
        proc = cli(*cmd, *args, check=False)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert str(path) in proc.stderr and expect in proc.stderr, proc.stderr
    assert _json(cli("bd", "--json", "stats"))["total"] == before


def test_mol_on_a_plain_bead_is_one_line_error(cli):
    bead = cli("bd", "create", "plain", "--silent").stdout.strip()
    proc = cli("bd", "mol", "progress", bead, check=False)
    assert proc.returncode == 1 and proc.stderr == f"bd: error: {bead} is not a molecule or a step of one\n"


def test_molecules_export_to_jsonl_and_wisps_never_do(cli):
    mol = _json(cli("bd", "--json", "mol", "pour", "mol-boot-triage"))["id"]
    wisp = _json(cli("bd", "--json", "mol", "wisp", "mol-boot-triage"))["id"]
    lines = [json.loads(line) for line in cli("bd", "export").stdout.splitlines()]
    ids = {b["id"] for b in lines}
    assert {mol, f"{mol}.1", f"{mol}.2"} <= ids
    assert not any(i.startswith(wisp) for i in ids)
    step2 = next(b for b in lines if b["id"] == f"{mol}.2")
    assert {(d["depends_on_id"], d["type"]) for d in step2["dependencies"]} == {(mol, "parent-child"), (f"{mol}.1", "blocks")}


def test_pour_expansion_onto_a_bead(cli):
    bead = cli("bd", "create", "Fix login", "-d", "It 500s on empty passwords", "--silent").stdout.strip()
    out = _json(cli("bd", "--json", "mol", "pour", "rule-of-five", "--target", bead))
    steps = _json(cli("bd", "--json", "mol", "show", out["id"]))["steps"]
    assert [s["step"] for s in steps][0] == f"{bead}.draft"
    assert steps[0]["title"] == "Draft: Fix login" and "It 500s" in steps[0]["description"]
    missing = cli("bd", "mol", "pour", "rule-of-five", "--target", "t-nope", check=False)
    assert missing.returncode == 1 and "t-nope" in missing.stderr


def test_run_resumes_a_molecule_after_a_failed_step(cli, tmp_path):
    flag = tmp_path / "ready"
    (cli.home / "formulas").mkdir()
    (cli.home / "formulas" / "flaky.formula.toml").write_text(f"""
[[steps]]
id = "wait-for-flag"
run = "test -f {flag}"
[[steps]]
id = "after"
needs = ["wait-for-flag"]
run = "true"
""")
    first = cli("gt", "--json", "formula", "run", "flaky", check=False)
    assert first.returncode == 1
    mol = json.loads(first.stdout)["molecule"]
    flag.write_text("")
    again = _json(cli("gt", "--json", "formula", "run", "--mol", mol))
    assert [o["action"] for o in again["outcomes"]] == ["ran", "ran"] and again["complete"]
    assert _json(cli("bd", "--json", "show", mol))[0]["status"] == "closed"
