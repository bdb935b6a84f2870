"""gt install, gt rig, gt crew, gt config: real git, real ledger, the real CLI."""

import json
import subprocess

import pytest

from gastown_server.beads.store import Ledger
from gastown_server.errors import Conflict, InvalidInput, NoTown
from gastown_server.town import config as town_config
from gastown_server.town import rigs
from gastown_server.town.core import open_town
from gastown_server.town.install import install

from town_helpers import GT, make_repo, snapshot_tree


def ledger_of(root):
    return Ledger(root / ".gastown" / "ledger.db")


def test_install_layout_beads_and_config(tmp_path, socket_name):
    root = install(tmp_path / "hq", name="Central", git=True)
    for sub in (".gastown/ledger.db", ".gastown/transcripts", "settings/config.json", "formulas", "mayor", "deacon", ".git"):
        assert (root / sub).exists(), sub
    assert "/.gastown/" in (root / ".gitignore").read_text().splitlines()
    cfg = town_config.load(root)
    assert (cfg.name, cfg.default_agent) == ("Central", "script")
    with ledger_of(root) as led:
        assert led.config_get("issue_prefix") == "hq"
        assert led.config_get("route.hq") == str(root)
        for role in ("mayor", "deacon", "boot", "witness", "refinery", "polecat", "crew"):
            bead = led.get(f"hq-{role}-role")
            assert (bead.issue_type, bead.status) == ("role", "pinned")
            assert bead.description
        for agent in ("hq-mayor", "hq-deacon", "hq-boot"):
            bead = led.get(agent)
            assert (bead.issue_type, bead.status, bead.role_bead) == ("agent", "pinned", f"{agent}-role")
    # git check-ignore agrees that state stays out of the town's repository
    proc = subprocess.run(["git", "-C", str(root), "check-ignore", ".gastown/ledger.db"], capture_output=True)
    assert proc.returncode == 0


def test_install_refuses_existing_town_and_files(tmp_path, socket_name):
    root = install(tmp_path / "t1")
    with pytest.raises(Conflict, match="already a town"):
        install(root)
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(InvalidInput, match="not a directory"):
        install(f)
    with pytest.raises(InvalidInput, match="unknown agent runtime"):
        install(tmp_path / "t2", agent="nosuch")
    assert not (tmp_path / "t2").exists()


def test_install_cli_and_not_a_town(tmp_path, socket_name):
    proc = subprocess.run([*GT, "install", str(tmp_path / "cli-town"), "--agent", "claude", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["root"] == str(tmp_path / "cli-town")
    assert town_config.load(tmp_path / "cli-town").default_agent == "claude"
    empty = tmp_path / "empty"
    empty.mkdir()
    for argv in (["status"], ["up"], ["rig", "list"], ["prime", "--actor", "mayor"]):
        proc = subprocess.run([*GT, *argv], cwd=empty, capture_output=True, text=True)
        assert proc.returncode == 1, argv
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gt: error: not in a town"), proc.stderr
    assert list(empty.iterdir()) == []


def test_rig_add_clones_registers_route_and_agents(town, src_repo):
    rig = rigs.add(town, "gastown", str(src_repo))
    assert rig.prefix == "ga"
    repo = town.root / "gastown" / "repo"
    assert (repo / "README.md").read_text() == "hello\n"
    for sub in ("witness", "polecats", "crew", "formulas"):
        assert (town.root / "gastown" / sub).is_dir()
    led = town.ledger
    assert led.config_get("route.ga") == str(repo)
    assert led.get("hq-rig-ga").issue_type == "rig"
    for agent in ("ga-witness", "ga-refinery"):
        bead = led.get(agent)
        assert bead.issue_type == "agent" and bead.role_bead == f"hq-{agent.split('-')[1]}-role"
    assert [r.name for r in town.rigs()] == ["gastown"]
    assert town.identity("gastown/witness").session == "ga-witness"
    assert town.identity("gastown/polecats/nux").session == "ga-nux"
    # the rig's exported beads merge by id (Beads merge driver), and the clone's tree stays clean
    def git(*argv):
        return subprocess.run(["git", "-C", str(repo), *argv], capture_output=True, text=True, check=True).stdout

    assert git("config", "merge.beads.driver").strip() == "bd merge-driver %O %A %B"
    assert git("check-attr", "merge", "--", ".beads/issues.jsonl").strip().endswith("merge: beads")
    assert git("status", "--porcelain") == ""
    # a second rig gets another prefix; an explicit one is honoured
    assert rigs.add(town, "gasworks", str(src_repo)).prefix == "gas"
    assert rigs.add(town, "my-project", str(src_repo), prefix="mp").prefix == "mp"
    assert not list((town.root / ".gastown" / "tmp").iterdir())


@pytest.mark.parametrize(
    "case",
    ["not-a-repo", "missing-path", "name-taken", "prefix-taken", "reserved", "bad-prefix", "dir-exists"],
)
def test_rig_add_bad_input_leaves_nothing(town, src_repo, tmp_path, case):
    rigs.add(town, "first", str(src_repo), prefix="fi")
    (tmp_path / "plain").mkdir()
    (town.root / "occupied").mkdir()
    before_tree = snapshot_tree(town.root)
    before_beads = len(town.ledger.list(include_closed=True))
    before_config = town.ledger.config_items()
    args = {
        "not-a-repo": ("second", str(tmp_path / "plain"), None),
        "missing-path": ("second", str(tmp_path / "nope"), None),
        "name-taken": ("first", str(src_repo), None),
        "prefix-taken": ("second", str(src_repo), "fi"),
        "reserved": ("mayor", str(src_repo), None),
        "bad-prefix": ("second", str(src_repo), "Bad-1"),
        "dir-exists": ("occupied", str(src_repo), None),
    }[case]
    with pytest.raises((InvalidInput, Conflict)) as err:
        rigs.add(town, args[0], args[1], prefix=args[2])
    assert "\n" not in err.value.message
    assert snapshot_tree(town.root) == before_tree
    assert len(town.ledger.list(include_closed=True)) == before_beads
    assert town.ledger.config_items() == before_config


def test_rig_add_cli_errors_are_one_line(gt, src_repo, tmp_path):
    (tmp_path / "plain").mkdir()
    gt("rig", "add", "alpha", str(src_repo))
    for argv, expect in (
        (["rig", "add", "beta", str(tmp_path / "plain")], "is not a git repository"),
        (["rig", "add", "alpha", str(src_repo)], "already exists"),
        (["rig", "add", "beta", str(src_repo), "--prefix", "al"], "already taken"),
    ):
        proc = gt(*argv, check=False)
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and expect in lines[0], proc.stderr
    listed = json.loads(gt("rig", "list", "--json").stdout)
    assert [(r["name"], r["prefix"]) for r in listed] == [("alpha", "al")]


def test_rig_remove(town, src_repo):
    rigs.add(town, "gone", str(src_repo), prefix="go")
    removed = rigs.remove(town, "gone")
    assert removed.prefix == "go"
    assert not (town.root / "gone").exists()
    assert town.ledger.config_get("route.go") is None
    assert not town.ledger.exists("go-witness") and not town.ledger.exists("hq-rig-go")
    # the name and the prefix are free again
    assert rigs.add(town, "gone", str(src_repo), prefix="go").prefix == "go"


def test_polecat_worktree_and_crew_clone(town, src_repo, gt):
    rig = rigs.add(town, "proj", str(src_repo), prefix="pj")
    wt = rigs.ensure_polecat_worktree(town, rig, "nux")
    assert (wt / "README.md").exists()
    branch = subprocess.run(["git", "-C", str(wt), "branch", "--show-current"], capture_output=True, text=True).stdout
    assert branch.strip() == "polecat/nux"
    listed = subprocess.run(["git", "-C", rig.repo, "worktree", "list"], capture_output=True, text=True).stdout
    assert str(wt) in listed
    out = json.loads(gt("crew", "add", "max", "--json").stdout)
    assert out["address"] == "proj/crew/max" and out["session"] == "pj-crew-max"
    assert (town.root / "proj" / "crew" / "max" / ".git").is_dir()  # a full clone, not a worktree
    assert gt("crew", "add", "max", check=False).returncode == 1
    rows = json.loads(gt("crew", "list", "--json").stdout)
    assert [r["address"] for r in rows] == ["proj/crew/max"]


def test_config_agent_list_set_default(gt, town_root):
    rows = json.loads(gt("config", "agent", "list", "--json").stdout)
    names = {r["name"] for r in rows}
    assert {"claude", "codex", "gemini", "opencode", "amp", "custom", "script"} <= names
    assert [r["name"] for r in rows if r["default"]] == ["script"]
    gt("config", "agent", "set", "mybot", "python3 -u bot.py", "--env", "BOT_MODE=fast")
    gt("config", "agent", "default", "claude")
    gt("config", "agent", "default", "mybot", "--role", "polecat")
    cfg = town_config.load(town_root)
    assert cfg.default_agent == "claude" and cfg.role_agents == {"polecat": "mybot"}
    preset = town_config.resolve_agent(cfg, role="polecat")
    assert preset.command == ["python3", "-u", "bot.py"] and preset.env["BOT_MODE"] == "fast"
    assert town_config.resolve_agent(cfg, role="mayor").name == "claude"
    bad = gt("config", "agent", "default", "nosuch", check=False)
    assert bad.returncode == 1 and "unknown agent runtime 'nosuch'" in bad.stderr


def test_open_town_errors(tmp_path, socket_name, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NoTown, match="not in a town"):
        open_town()
    with pytest.raises(NoTown, match="is not a town"):
        open_town(tmp_path)
    # a ledger-only directory (bd init) is not a gt town
    make_repo(tmp_path / "r")
    Ledger(tmp_path / "l" / ".gastown" / "ledger.db", create=True).disconnect()
    monkeypatch.chdir(tmp_path / "l")
    with pytest.raises(NoTown, match="not a gt town"):
        open_town()


def test_rig_git_ignores_an_inherited_git_dir(town, src_repo, monkeypatch, tmp_path):
    """A hook or agent session may export GIT_DIR; worktrees must still come from the rig's clone."""
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    rig = rigs.add(town, "proj", str(src_repo), prefix="pj")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    wt = rigs.ensure_polecat_worktree(town, rig, "nux")
    assert (wt / "README.md").exists()
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    listed = subprocess.run(["git", "-C", rig.repo, "worktree", "list"], capture_output=True, text=True).stdout
    assert str(wt) in listed
    assert subprocess.run(["git", "-C", str(other), "worktree", "list"], capture_output=True, text=True).stdout.count("\n") == 1
