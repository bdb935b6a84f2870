// The client layer against a real gastown-server on a real town: snapshots,
// pushes with no polling, reconnect resuming from the feed cursor, and the
// errors a person sees when the server or the town is missing.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { bd, client, makeTown, serverPath, tmpdir, waitFor } from "./helpers.mjs";

const { GastownConnection, TownStore, ConnectionError } = client;

describe("bad input", () => {
  let tmp;
  before(() => (tmp = tmpdir()));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("a missing server binary: an error that says to set gastown.serverPath", async () => {
    const conn = new GastownConnection({ serverPath: path.join(tmp, "nope", "gastown-server"), backoff: [] });
    await assert.rejects(conn.start(), (e) => e instanceof ConnectionError && e.action === "openSettings" && /gastown\.serverPath/.test(e.message));
    assert.equal(conn.state, "disconnected");
    await assert.rejects(conn.request("town/status"), (e) => e instanceof ConnectionError && /Not connected/.test(e.message));
    conn.dispose();
  });

  test("a town that does not exist: an error naming it and how to make one", async () => {
    const town = path.join(tmp, "no-such-town");
    const conn = new GastownConnection({ serverPath: serverPath(tmp), town, backoff: [] });
    await assert.rejects(conn.start(), (e) => e instanceof ConnectionError && e.action === "openSettings" && e.message.includes(town) && /gt install/.test(e.message));
    conn.dispose();
  });

  test("a server that is not a town's (no ledger found): the server's own one-line reason", async () => {
    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    const lines = [];
    const conn = new GastownConnection({ serverPath: serverPath(tmp), cwd: empty, env: { ...process.env, GT_TOWN: "" }, backoff: [], log: (l) => lines.push(l) });
    // Either the server refuses to start or it starts without a town and refuses town calls;
    // both must reach the user as one clear line, never a traceback.
    try {
      await conn.start();
      await assert.rejects(conn.request("town/status"), (e) => e instanceof ConnectionError && !/Traceback/.test(e.message) && e.message.length > 0);
    } catch (e) {
      assert.ok(e instanceof ConnectionError, String(e));
      assert.doesNotMatch(e.message, /Traceback|File "/);
    }
    conn.dispose();
  });
});

describe("against a real server and town", () => {
  let tmp, fixture, conn, store;
  const log = [];

  before(async () => {
    tmp = tmpdir();
    fixture = makeTown(tmp);
    conn = new GastownConnection({ serverPath: serverPath(tmp), town: fixture.town, backoff: [100, 200, 400], log: (l) => log.push(l) });
    store = new TownStore(conn, (l) => log.push(l));
    const loaded = waitFor(store.onDidChange, () => store.loaded && store.convoys.length > 0 && store.tracked(fixture.convoy).length === 2, 15000, "initial snapshots");
    loaded.catch(() => undefined); // reported below if start() succeeded
    const init = await conn.start();
    assert.equal(fs.realpathSync(init.town.root), fs.realpathSync(fixture.town));
    assert.ok(init.capabilities.includes("convoy/tree"), `capabilities: ${init.capabilities.join(", ")}`);
    await loaded;
  });

  after(() => {
    conn?.dispose();
    store?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("snapshots: the convoy with its tracked beads and progress", () => {
    const c = store.convoys.find((x) => x.id === fixture.convoy);
    assert.ok(c, `convoys: ${JSON.stringify(store.convoys)}`);
    assert.equal(c.title, "Time machine");
    assert.deepEqual([c.total, c.closed, c.landed], [2, 0, false]);
    assert.deepEqual(store.tracked(fixture.convoy).map((b) => b.id).sort(), [...fixture.beads].sort());
    assert.equal(typeof store.cursor, "number", "the feed subscription gave a cursor");
  });

  test("traffic is logged", () => {
    assert.ok(log.some((l) => l.includes("[rpc]") && l.includes("convoy/list")), "the log shows JSON-RPC traffic");
  });

  test("a bead closed by another process reaches the store by push", async () => {
    const t0 = performance.now();
    const requestsBefore = log.filter((l) => l.includes("Sending request")).length;
    const changed = waitFor(store.onDidChange, () => store.tracked(fixture.convoy).find((b) => b.id === fixture.beads[0])?.status === "closed", 5000, "the closed bead in the convoy tree");
    bd(fixture.town, "close", fixture.beads[0], "--reason", "done");
    await changed;
    const c = store.convoys.find((x) => x.id === fixture.convoy);
    assert.deepEqual([c.total, c.closed], [2, 1]);
    // No polling: the only requests after the push are the refreshes it caused.
    const after = log.filter((l) => l.includes("Sending request")).slice(requestsBefore);
    // (agent/list: a closed bead may have been some agent's hook.)
    assert.ok(after.every((l) => /convoy\/tree|convoy\/list|agent\/list/.test(l)), `unexpected requests: ${after.join("\n")}`);
    assert.ok(performance.now() - t0 < 5000);
  });

  test("mail sent to the overseer arrives by push", async () => {
    const arrived = waitFor(store.onDidChange, () => store.inbox.some((m) => m.subject === "Status report"), 5000, "mail in the inbox");
    // Sent through the server by a second client, as another agent would.
    const other = new GastownConnection({ serverPath: serverPath(tmp), town: fixture.town, backoff: [] });
    await other.start();
    await other.request("mail/send", { to: "overseer", subject: "Status report", body: "All rigs green." });
    other.dispose();
    await arrived;
    const m = store.inbox.find((x) => x.subject === "Status report");
    assert.equal(m.read, false);
    assert.ok(store.unread >= 1);
  });

  test("the server dies: reconnect, and the feed resumes from the cursor (no event lost)", async () => {
    const cursorBefore = store.cursor;
    const events = [];
    const sub = store.onEvent((e) => events.push(e));
    const down = waitFor(conn.onDidChangeState, () => conn.state === "disconnected", 5000, "disconnect");
    process.kill(conn.pid, "SIGKILL");
    await down;
    // Written while no server runs: must still arrive after the reconnect.
    bd(fixture.town, "close", fixture.beads[1], "--reason", "done while the server was down");
    await waitFor(conn.onDidChangeState, () => conn.state === "connected", 10000, "reconnect");
    await waitFor(store.onDidChange, () => store.tracked(fixture.convoy).every((b) => b.status === "closed"), 10000, "both beads closed after reconnect");
    await waitFor(store.onEvent, () => events.some((e) => e.beadId === fixture.beads[1] && e.kind.includes("close")), 5000, "the missed close event replayed");
    sub.dispose();
    assert.ok(events.every((e) => e.id > cursorBefore), "only events after the cursor are replayed");
    const ids = events.map((e) => e.id);
    assert.deepEqual(ids, [...new Set(ids)].sort((a, b) => a - b), "events arrive once, in order");
  });
});
