"""plugin.md parsing: good files, bad files (one line naming file and field), durations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gastown_server.errors import InvalidInput
from gastown_server.patrol import plugins

GOOD = '''
name = "hello"
description = "say hi"
version = 2
run = "echo hi"

[gate]
type = "cooldown"
duration = "1h30m"

[execution]
timeout = "90s"
'''


def test_a_good_plugin_parses(write_plugin, town_root):
    path = write_plugin("hello", GOOD, "# Hello\n\nSay hi.\n")
    p = plugins.parse(path)
    assert (p.name, p.description, p.version, p.gate, p.run) == ("hello", "say hi", "2", "cooldown", "echo hi")
    assert p.cooldown_s == 5400 and p.timeout_s == 90
    assert p.instructions == "# Hello\n\nSay hi."
    assert p.gate_text() == "cooldown 90m"


def test_defaults_manual_gate_and_name_from_directory(write_plugin):
    p = plugins.parse(write_plugin("tidy", 'description = "tidy up"'))
    assert (p.name, p.gate, p.cooldown_s, p.timeout_s, p.run) == ("tidy", "manual", 0, 300, "")


BAD = [
    ("no-front", None, "no front matter"),
    ("unclosed", "unclosed", "front matter is not closed"),
    ("bad-toml", 'name = "bad-toml"\nversion = \n', "not valid TOML"),
    ("wrong-type", '[gate]\ntype = "cooldown"\nduration = 5\n', "gate.duration: expected `str`, got `int`"),
    ("bad-gate", '[gate]\ntype = "weekly"\n', "gate.type: invalid enum value 'weekly'"),
    ("typo", '[gate]\ntype = "cooldown"\nduraton = "1h"\n', "gate: object contains unknown field `duraton`"),
    ("no-duration", '[gate]\ntype = "cooldown"\n', "gate.duration: a cooldown gate needs a duration"),
    ("bad-duration", '[gate]\ntype = "cooldown"\nduration = "soon"\n', "gate.duration: bad duration 'soon'"),
    ("no-schedule", '[gate]\ntype = "cron"\n', "gate.schedule: a cron gate needs a schedule"),
    ("bad-schedule", '[gate]\ntype = "cron"\nschedule = "*/5 * * *"\n', "gate.schedule: bad cron schedule '*/5 * * *': "),
    ("stray-schedule", '[gate]\ntype = "cooldown"\nduration = "1m"\nschedule = "* * * * *"\n', "gate.schedule: only a cron gate"),
    ("bad-timeout", '[execution]\ntimeout = "0s"\n', "execution.timeout: must be more than 0"),
    ("renamed", 'name = "other"\n', "name: 'other' differs from its directory 'renamed'"),
]


@pytest.mark.parametrize("name,toml,expected", BAD, ids=[b[0] for b in BAD])
def test_a_bad_plugin_is_one_line_naming_file_and_field(town_root, name, toml, expected):
    d = town_root / "plugins" / name
    d.mkdir(parents=True)
    path = d / "plugin.md"
    if toml is None:
        path.write_text('name = "x"\n')
    elif toml == "unclosed":
        path.write_text('+++\nname = "unclosed"\n')
    else:
        path.write_text(f"+++\n{toml}+++\nbody\n")
    with pytest.raises(InvalidInput) as err:
        plugins.parse(path)
    message = err.value.message
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_toml_errors_give_the_files_line_number(town_root):
    d = town_root / "plugins" / "lines"
    d.mkdir(parents=True)
    (d / "plugin.md").write_text('+++\nname = "lines"\nversion = \n+++\n')
    with pytest.raises(InvalidInput, match=r"at line 3,"):
        plugins.parse(d / "plugin.md")


def test_load_all_keeps_good_plugins_beside_bad_ones(write_plugin, town_root):
    write_plugin("good", GOOD.replace('"hello"', '"good"'))
    write_plugin("broken", '[gate]\ntype = "cooldown"\nduration = 5\n')
    (town_root / "plugins" / "empty-dir").mkdir()
    good, bad = plugins.load_all(town_root)
    assert [p.name for p in good] == ["good"]
    messages = sorted(e.message for e in bad)
    assert len(messages) == 2
    assert messages[0].startswith(f"{town_root / 'plugins' / 'broken' / 'plugin.md'}: gate.duration: ")
    assert messages[1].startswith(f"{town_root / 'plugins' / 'empty-dir'}: no plugin.md")


@pytest.mark.parametrize("text,seconds", [("500ms", 0.5), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("0.5s", 0.5)])
def test_durations(text, seconds):
    assert plugins.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "m", "5 m", "1h-2m", "5x", "1.s", "-1s"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="bad duration"):
        plugins.parse_duration(text)


@given(st.lists(st.tuples(st.integers(0, 999), st.sampled_from(["ms", "s", "m", "h", "d"])), min_size=1, max_size=4))
def test_duration_is_the_sum_of_its_parts(parts):
    text = "".join(f"{n}{u}" for n, u in parts)
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    assert plugins.parse_duration(text) == pytest.approx(sum(n * unit[u] for n, u in parts))


def _record(created_at: str, closed: bool = True) -> plugins.RunRecord:
    return plugins.RunRecord(id="hq-wisp-x", plugin="tick", status="closed" if closed else "hooked", assignee="",
                             created_at=created_at, closed_at=created_at if closed else "", result="", close_reason="")


def test_cron_gate_is_due_when_the_schedule_fired_since_the_last_run(write_plugin):
    import os
    import time

    from gastown_server.beads import clock

    path = write_plugin("tick", '[gate]\ntype = "cron"\nschedule = "0 0 1 1 *"')  # New Year, 00:00 UTC
    p = plugins.parse(path)
    assert (p.gate, p.schedule, p.gate_text()) == ("cron", "0 0 1 1 *", "cron 0 0 1 1 *")
    # Never run: counted from when plugin.md was written.
    upcoming = plugins.next_due(p, [])
    assert upcoming.endswith("-01-01T00:00:00.000000Z") and upcoming > clock.now()
    two_years = time.time() - 2 * 366 * 86400
    os.utime(path, (two_years, two_years))
    assert plugins.next_due(p, []) == "now"
    # Run: counted from the last run's start.
    assert plugins.next_due(p, [_record(clock.ago(2 * 366 * 86400))]) == "now"
    assert plugins.next_due(p, [_record(clock.now())]) == upcoming
    assert plugins.next_due(p, [_record(clock.ago(2 * 366 * 86400), closed=False)]) == "running"
