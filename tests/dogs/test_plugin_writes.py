"""A plugin's [sandbox] writes: what its dog's sandbox binds in the town, and what it never does
(patrol/plugin_writes.py).  Real sandboxed dogs (bwrap), real tmux, real ledger, real rig."""

import pytest
from town_helpers import wait_for

from gastown_server.errors import InvalidInput
from gastown_server.patrol import plugins
from gastown_server.town import rigs


def _done(town, name, count=1):
    def check():
        closed = [r for r in plugins.runs(town.ledger, name) if not r.open]
        return closed if len(closed) >= count else None

    return wait_for(check, timeout=40, step=0.1, what=f"a closed run of {name}")[-1]


@pytest.mark.parametrize("entry,why", [
    ("/etc/cron.d/x", "must be relative to the town root"),
    ("../outside", "must be a plain path under the town root"),
    ("a/../../b", "must be a plain path under the town root"),
    (".gastown/secrets/", "hidden entries"),
    ("reports/.git", "hidden entries"),
    (".events.jsonl", "hidden entries"),
    ("settings/config.json", "settings/ is the town's own"),
    ("plugins/other/plugin.md", "plugins/ is the town's own"),
    ("dogs/beta/", "dogs/ is the town's own"),
    ("mayor", "mayor/ is the town's own"),
    ("", "an empty path"),
])  # fmt: skip
def test_writes_that_would_reach_secrets_or_the_towns_own_are_refused_at_parse(write_plugin, entry, why):
    path = write_plugin("bad", f'run = "true"\n[sandbox]\nwrites = ["{entry}"]')
    with pytest.raises(InvalidInput) as err:
        plugins.parse(path)
    assert err.value.message.startswith(f"{path}: sandbox.writes: ") and why in err.value.message, err.value.message


def test_a_sandboxed_dog_writes_what_its_plugins_declare_and_nothing_else(gt, town, town_root, write_plugin, src_repo):
    assert town.config.sandbox.enabled
    rigs.add(town, "gastown", str(src_repo))
    town.forget_rigs()
    # A rig (or a symlink) is refused too, when the plugin is read.
    rig_plugin = write_plugin("rigwrite", 'run = "true"\n[sandbox]\nwrites = ["gastown/notes/"]')
    with pytest.raises(InvalidInput, match="sandbox.writes: 'gastown/notes/': gastown/ is a rig"):
        plugins.parse(rig_plugin)
    rig_plugin.unlink()
    (town_root / "elsewhere").symlink_to(town_root.parent)
    link_plugin = write_plugin("linkwrite", 'run = "true"\n[sandbox]\nwrites = ["elsewhere/x"]')
    with pytest.raises(InvalidInput, match="elsewhere is a symlink"):
        plugins.parse(link_plugin)
    link_plugin.unlink()

    write_plugin("report", 'run = "echo r > $GT_TOWN/reports/r.txt"\n[sandbox]\nwrites = ["reports/"]')
    assert "deacon/dogs/alpha's hook (started)" in gt("plugin", "run", "report").stdout
    assert _done(town, "report").result == "success"
    assert (town_root / "reports" / "r.txt").read_text() == "r\n"
    box = (town_root / ".gastown" / "sandbox" / "hq-dog-alpha.json").read_text()
    assert '"enabled":true' in box and str(town_root / "reports") in box

    # Undeclared: the town root refuses the write (it does not vanish into the sandbox's scratch);
    # the rig and the secrets are not there at all.
    write_plugin("snoop", 'run = "echo x > $GT_TOWN/undeclared.txt || echo refused; ls $GT_TOWN/gastown/repo 2>/dev/null | wc -l; '
                          'ls -A $GT_TOWN/.gastown/secrets 2>/dev/null | wc -l"')  # fmt: skip
    (town_root / ".gastown" / "secrets").mkdir(exist_ok=True)
    (town_root / ".gastown" / "secrets" / "probe").write_text("x")
    gt("plugin", "run", "snoop")
    run = _done(town, "snoop")
    notes = town.ledger.get(run.id).notes.split()
    assert not (town_root / "undeclared.txt").exists()
    assert "refused" in notes and "denied" in notes and notes[-2:] == ["0", "0"], notes

    # Declared after the dog started: dispatching it restarts the (live) dog with the new bind.
    write_plugin("late", 'run = "echo l >> $GT_TOWN/late.txt"\n[sandbox]\nwrites = ["late.txt"]')
    out = gt("plugin", "run", "late").stdout
    assert "restarted (sandbox)" in out, out
    assert _done(town, "late").result == "success"
    assert (town_root / "late.txt").read_text() == "l\n"
