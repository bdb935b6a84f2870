// The Feed view's log (issue 15): patrol noise hidden unless asked, one rig or one kind on
// request, and a cap that holds after 10,000 pushed events.  Against the real gastown-server
// on a real ledger; the events come from other processes (bd, a Python writer), as in a town.
//
// Seen: patrol wisps (wisp_poured, molecule_burned, the closes of a wisp's steps) buried what a
// person cares about, and the Emacs feed grew to 7,000 lines in 30 minutes with no cap.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { after, before, test } from "node:test";
import { bd, bdJson, client, makeTown, serverPath, tmpdir, waitFor } from "./helpers.mjs";

const { GastownConnection, Methods, TownStore, FeedLog, isPatrolNoise, feedMatches, toFeedEvent } = client;
let tmp, fixture, conn, store;

before(async () => {
  tmp = tmpdir();
  fixture = makeTown(tmp);
  conn = new GastownConnection({ serverPath: serverPath(tmp), town: fixture.town, backoff: [] });
  store = new TownStore(conn, () => undefined);
  const loaded = waitFor(store.onDidChange, () => store.loaded, 15000, "initial snapshots");
  loaded.catch(() => undefined);
  await conn.start();
  await loaded;
});

after(() => {
  store?.dispose();
  conn?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ev = (id, kind, beadId, actor = "mayor", payload = {}) => ({ id, kind, beadId, actor, at: undefined, payload });

test("what counts as patrol noise, and the rig and kind filters", () => {
  assert.ok(isPatrolNoise(ev(1, "wisp_poured", "gt-wisp-a1")));
  assert.ok(isPatrolNoise(ev(2, "closed", "gt-wisp-a1.3", "demo/witness")), "a wisp step's close");
  assert.ok(isPatrolNoise(ev(3, "molecule_burned", "gt-mol-x")));
  assert.ok(isPatrolNoise(ev(4, "updated", "gt-x", "deacon", { ephemeral: true })));
  assert.ok(!isPatrolNoise(ev(5, "closed", "gt-abc", "demo/polecats/nux")));
  const rig = { name: "demo", prefix: "dm" };
  assert.ok(feedMatches(ev(6, "updated", "hq-1", "demo/crew/max"), { noise: false, rig }), "by the rig's actor");
  assert.ok(feedMatches(ev(7, "closed", "dm-2", "overseer"), { noise: false, rig }), "on the rig's bead");
  assert.ok(!feedMatches(ev(8, "closed", "pj-3", "other/polecats/a"), { noise: false, rig }));
  assert.ok(!feedMatches(ev(9, "created", "dm-4"), { noise: false, kind: "closed" }));
  assert.ok(feedMatches(ev(10, "wisp_poured", "gt-wisp-b"), { noise: true }));
});

test("pushed events: a wisp's bookkeeping hidden by default, real work shown, the whole feed on request", async () => {
  const log = new FeedLog(1000, store.onEvent);
  try {
    const wisp = JSON.parse(execFileSync("bd", ["mol", "wisp", "mol-deacon-patrol", "--json"], { cwd: fixture.town, env: { ...process.env, GT_TOWN: fixture.town, BD_ACTOR: "deacon" }, encoding: "utf8" })).id;
    const work = bdJson(fixture.town, "create", "Fix the parser", "-t", "task").id;
    await waitFor(log.onDidChange, () => log.shown().some((e) => e.beadId === work), 10000, "the real bead's event");
    assert.ok(log.size > 1, "the wisp's events arrived too");
    assert.deepEqual(log.shown().map((e) => e.beadId), [work], "only the real work by default");
    assert.ok(log.hidden() >= 1);
    log.setFilter({ noise: true });
    assert.ok(log.shown().some((e) => e.kind === "wisp_poured" && e.beadId === wisp), "wisp_poured shown when asked");
    assert.equal(log.describeFilter(), "patrol noise shown");
    log.setFilter({ noise: false, kind: "created" });
    assert.deepEqual(log.shown().map((e) => e.kind), ["created"]);
    // feed/recent: what the view opens with, the same split (noise loaded, hidden by the client).
    const r = await conn.request(Methods.feedRecent, { limit: 100, noise: true });
    const fresh = new FeedLog(1000);
    fresh.add(r.events.map(toFeedEvent), undefined);
    assert.ok(fresh.shown().some((e) => e.beadId === work) && !fresh.shown().some((e) => (e.beadId ?? "").includes("-wisp-")));
    assert.ok(fresh.hidden() > 0);
  } finally {
    log.dispose();
  }
});

test("the feed log stays under its cap after 10,000 pushed events, newest kept", async () => {
  const max = 500;
  const log = new FeedLog(max, store.onEvent);
  let most = 0;
  const sub = log.onDidChange(() => (most = Math.max(most, log.size)));
  try {
    const write = `
import sys
from gastown_server.beads.store import Ledger
from gastown_server.paths import ledger_path
led = Ledger(ledger_path(sys.argv[1]))
for chunk in range(100):  # 100 commits of 100 events: pushes arrive in bursts, as from a busy town
    with led.atomic():
        for i in range(chunk * 100, chunk * 100 + 100):
            led.create(f"Burst {i}", actor="gastown/polecats/p{i % 7}")
print(led.last_event_id())
`;
    const last = Number(execFileSync(process.env.GASTOWN_PYTHON ?? "python3", ["-c", write, fixture.town], { encoding: "utf8", timeout: 300_000 }).trim());
    await waitFor(log.onDidChange, () => log.shown(1)[0]?.id === last, 120_000, `event ${last} in the log`);
    assert.ok(most <= max + max / 10, `the log held ${most} events (cap ${max})`);
    assert.ok(log.size >= max && log.size <= max + max / 10);
    assert.equal(log.shown(max).length, max, "the view lists at most the cap");
  } finally {
    sub.dispose();
    log.dispose();
  }
});

test("a refusal by the server is its one line with its code, offering no connection retry", async () => {
  // The connection is fine when the server answers; "Retry Connection" was offered for any refusal.
  await assert.rejects(conn.request("bead/show", { id: "gt-nosuch" }), (e) => e instanceof client.ConnectionError && e.action === "showLog" && typeof e.code === "number" && /gt-nosuch/.test(e.message) && !e.message.includes("\n"));
});
