"""The Deacon's cleanup step burns patrol wisps left behind, never the one a live agent is walking.

Real tmux (throwaway socket), real ledger; patrol loops off so the test drives the step.
"""

from gastown_server.formulas import molecule
from gastown_server.formulas.service import cook_named
from gastown_server.patrol import deacon
from gastown_server.town import config as town_config
from gastown_server.town.lifecycle import start_agent, stop_agent


def pour_patrol(town, address):
    proto = cook_named("mol-deacon-patrol", {"backoff_max": 1}, town=town.root)
    return molecule.pour(town.ledger, proto, actor=address, wisp=True, assignee=address).id


def open_wisps(town):
    rows = town.ledger.conn.execute(
        "SELECT id FROM issues WHERE issue_type = 'molecule' AND wisp_type = 'patrol' AND status NOT IN ('closed', 'tombstone')"
    )
    return {r[0] for r in rows}


def test_stale_wisps_burn_but_a_live_agents_current_one_stays(town):
    cfg = town_config.load(town.root)
    cfg.patrol.enabled = False
    town_config.save(town.root, cfg)
    town.reload_config()
    start_agent(town, "deacon")
    left_behind = pour_patrol(town, "deacon")
    current = pour_patrol(town, "deacon")  # the newest one is what a live deacon walks
    orphan = pour_patrol(town, "mayor")  # no mayor session

    rep = deacon.cleanup(town, stale_s=0)  # everything counts as stale by age
    assert open_wisps(town) == {current}, rep.actions
    assert sum(a.startswith("burned stale patrol wisp") for a in rep.actions) == 2
    assert any(left_behind in a for a in rep.actions) and any(orphan in a for a in rep.actions)

    stop_agent(town, "deacon", grace_s=1.0)  # gone: now its wisp is stale like any other
    deacon.cleanup(town, stale_s=0)
    assert open_wisps(town) == set()
