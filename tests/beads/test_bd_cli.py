"""The `bd` command line, run as a real process against a real ledger."""

import json

import pytest


def ids_of(proc):
    return [b["id"] for b in json.loads(proc.stdout)]


def create(bd, *argv, **kw):
    return json.loads(bd("create", *argv, "--json", **kw).stdout)["id"]


def test_init_create_show_json_shape(bd):
    a = create(bd, "Fix login", "-d", "users cannot log in", "-t", "bug", "-p", "P1", "-l", "auth,ui", "--assignee", "gt/polecats/nux")
    shown = json.loads(bd("show", a, "--json").stdout)
    assert len(shown) == 1
    bead = shown[0]
    assert bead["id"] == a and bead["title"] == "Fix login" and bead["issue_type"] == "bug"
    assert bead["priority"] == 1 and bead["labels"] == ["auth", "ui"] and bead["assignee"] == "gt/polecats/nux"
    assert bead["created_by"] == "overseer"
    assert "closed_at" not in bead and "design" not in bead  # empty values omitted (classic JSONL shape)
    text = bd("show", a).stdout
    assert "Fix login" in text and "users cannot log in" in text


def test_actor_from_flag_and_env(bd):
    a = create(bd, "x", actor="gt/witness")
    assert json.loads(bd("show", a, "--json").stdout)[0]["created_by"] == "gt/witness"
    b = json.loads(bd("--actor", "mayor", "create", "y", "--json").stdout)["id"]
    assert json.loads(bd("show", b, "--json").stdout)[0]["created_by"] == "mayor"


def test_parent_children_and_deps_flag(bd):
    epic = create(bd, "Epic", "-t", "epic")
    one = create(bd, "one", "--parent", epic)
    two = create(bd, "two", "--parent", epic, "--deps", f"blocks:{one}")
    assert (one, two) == (f"{epic}.1", f"{epic}.2")
    assert ids_of(bd("list", "--parent", epic, "--json")) == [one, two]
    blocked = json.loads(bd("blocked", "--json").stdout)
    assert [b["id"] for b in blocked] == [two] and blocked[0]["blocked_by"] == [one]
    assert two not in ids_of(bd("ready", "--json"))
    bd("close", one, "--reason", "done")
    assert two in ids_of(bd("ready", "--json"))


def test_list_filters(bd):
    a = create(bd, "a", "-t", "bug", "--assignee", "mayor", "-l", "ui")
    b = create(bd, "b")
    bd("close", b)
    assert ids_of(bd("list", "--json")) == [a]
    assert set(ids_of(bd("list", "--all", "--json"))) == {a, b}
    assert ids_of(bd("list", "--status", "closed", "--json")) == [b]
    assert ids_of(bd("list", "-t", "bug", "--json")) == [a]
    assert ids_of(bd("list", "--assignee", "mayor", "--json")) == [a]
    assert ids_of(bd("list", "--label", "ui", "--json")) == [a]
    assert len(ids_of(bd("list", "--all", "--limit", "1", "--json"))) == 1


def test_update_fields_and_claim(bd):
    a = create(bd, "a")
    bd("update", a, "--status", "in_progress", "--priority", "0", "--title", "A!", "--notes", "n1")
    bd("update", a, "--append-notes", "n2")
    bead = json.loads(bd("show", a, "--json").stdout)[0]
    assert (bead["status"], bead["priority"], bead["title"], bead["notes"]) == ("in_progress", 0, "A!", "n1\nn2")
    b = create(bd, "b")
    bd("update", b, "--claim", actor="gt/polecats/nux")
    claimed = json.loads(bd("show", b, "--json").stdout)[0]
    assert claimed["assignee"] == "gt/polecats/nux" and claimed["status"] == "in_progress"
    other = bd("update", b, "--claim", actor="gt/polecats/toast", check=False)
    assert other.returncode == 1 and "already claimed" in other.stderr


def test_close_several_reopen_delete(bd):
    a, b = create(bd, "a"), create(bd, "b")
    assert "Closed" in bd("close", a, b, "-r", "shipped").stdout
    assert {x["status"] for x in json.loads(bd("show", a, b, "--json").stdout)} == {"closed"}
    bd("reopen", a)
    assert json.loads(bd("show", a, "--json").stdout)[0]["status"] == "open"
    bd("delete", a, "--force")
    assert json.loads(bd("show", a, "--json").stdout)[0]["status"] == "tombstone"
    assert a not in ids_of(bd("list", "--all", "--json"))


def test_close_is_all_or_nothing(bd):
    a = create(bd, "a")
    proc = bd("close", a, "t-nope", check=False)
    assert proc.returncode == 1 and "t-nope" in proc.stderr
    assert json.loads(bd("show", a, "--json").stdout)[0]["status"] == "open"


def test_dep_add_remove_list_tree(bd):
    a, b, c = create(bd, "a"), create(bd, "b"), create(bd, "c")
    bd("dep", "add", b, a)
    bd("dep", "add", c, b, "--type", "blocks")
    bd("dep", "add", c, a, "--type", "related")
    listed = json.loads(bd("dep", "list", b, "--json").stdout)
    assert [d["depends_on_id"] for d in listed["dependencies"]] == [a]
    assert [d["issue_id"] for d in listed["dependents"]] == [c]
    tree = json.loads(bd("dep", "tree", c, "--json").stdout)
    assert tree[0]["id"] == c and tree[0]["depth"] == 0
    assert sorted((n["id"], n["depth"], n["parent_id"]) for n in tree[1:]) == sorted(
        [(a, 1, c), (b, 1, c), (a, 2, b)]
    )
    text = bd("dep", "tree", c).stdout
    assert "├──" in text and "└──" in text
    reverse = json.loads(bd("dep", "tree", a, "--reverse", "--json").stdout)
    assert {n["id"] for n in reverse} == {a, b, c}
    bd("dep", "remove", c, b)
    assert [d["depends_on_id"] for d in json.loads(bd("dep", "list", c, "--json").stdout)["dependencies"]] == [a]


def test_dep_cycle_refused_with_cycle_shown(bd):
    a, b = create(bd, "a"), create(bd, "b")
    bd("dep", "add", b, a)
    proc = bd("dep", "add", a, b, check=False)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "cycle" in proc.stderr and f"{a} -> {b} -> {a}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads(bd("dep", "list", a, "--json").stdout)["dependencies"] == []


def test_labels_and_comments(bd):
    a = create(bd, "a")
    bd("label", "add", a, "ui", "backend")
    bd("label", "remove", a, "ui")
    assert json.loads(bd("label", "list", a, "--json").stdout) == ["backend"]
    bd("comment", a, "first", "note")
    bd("comments", "add", a, "second")
    comments = json.loads(bd("comments", a, "--json").stdout)
    assert [c["text"] for c in comments] == ["first note", "second"]
    assert comments[0]["author"] == "overseer"


def test_search_and_stats(bd):
    a = create(bd, "Refinery merge queue")
    create(bd, "Unrelated")
    assert ids_of(bd("search", "merge", "--json")) == [a]
    stats = json.loads(bd("stats", "--json").stdout)
    assert stats["total"] == 2 and stats["ready"] == 2 and stats["by_status"] == {"open": 2}


def test_config_get_set_list(bd):
    bd("config", "set", "route.gt", "/tmp/gastown")
    assert bd("config", "get", "route.gt").stdout.strip() == "/tmp/gastown"
    assert json.loads(bd("config", "list", "--json").stdout)["issue_prefix"] == "t"
    missing = bd("config", "get", "nope", check=False)
    assert missing.returncode == 1 and "not set" in missing.stderr


def test_doctor_and_vacuum(bd):
    create(bd, "a")
    assert json.loads(bd("doctor", "--json").stdout) == {"integrity": "ok", "blocked_cache_drift": [], "fixed": False}
    assert "after" in json.loads(bd("vacuum", "--json").stdout)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["show", "t-nope"], "no bead 't-nope'"),
        (["update", "t-nope", "--status", "open"], "no bead"),
        (["create", "x", "-t", "wrong"], "invalid type 'wrong'"),
        (["create", "x", "-p", "9"], "invalid priority"),
        (["create"], "title is required"),
        (["list", "--status", "done"], "invalid status"),
        (["frobnicate"], "unknown command"),
        (["create", "x", "--bogus-flag"], "unrecognized arguments"),
        (["dep", "add", "t-a"], "the following arguments are required"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_changes_nothing(bd, argv, needle):
    before = bd("stats", "--json").stdout
    proc = bd(*argv, check=False)
    assert proc.returncode == 1, proc.stderr
    assert needle in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert bd("stats", "--json").stdout == before


def test_no_ledger_is_a_clear_error(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("GT_TOWN", "BEADS_DB")}
    proc = subprocess.run(
        [sys.executable, "-m", "gastown_server.cli.bd", "list"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1 and "no ledger found" in proc.stderr and "bd init" in proc.stderr


def test_help_lists_commands(bd):
    proc = bd("--help")
    for word in ("create", "ready", "dep", "import", "merge-driver"):
        assert word in proc.stdout
    assert "--reason" in bd("close", "--help").stdout
