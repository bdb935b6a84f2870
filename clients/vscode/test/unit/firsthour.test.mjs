// Issue 15's first-hour problems, VS Code side, against the real gastown-server on a real
// ledger: landed convoys stay visible (their own section, updated by push), the sling picker's
// candidates put real work first, any inbox can be read, a nudge always gets a one-line
// result, an agent is never "running, no session", and transcripts keep lines apart.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, test } from "node:test";
import { bd, bdJson, client, makeTown, serverPath, tmpdir, waitFor } from "./helpers.mjs";

const { GastownConnection, Methods, TownStore } = client;
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

test("a landed convoy moves to the recently landed list by push, with when it landed", async () => {
  assert.deepEqual(store.landed, [], "nothing landed yet");
  for (const b of fixture.beads) bd(fixture.town, "close", b, "--reason", "done");
  const landed = waitFor(store.onDidChange, () => store.landed.some((c) => c.id === fixture.convoy) && !store.convoys.some((c) => c.id === fixture.convoy), 5000, "the convoy in store.landed only");
  await conn.request(Methods.convoyLand, { id: fixture.convoy });
  await landed;
  const c = store.landed.find((x) => x.id === fixture.convoy);
  assert.equal(c.status, "closed");
  assert.equal(c.title, "Time machine");
  assert.match(c.closedAt ?? "", /^\d{4}-\d\d-\d\dT/);
  // A fresh store (a reconnect, a new window) loads it too: not only the push path.
  const other = new TownStore(conn, () => undefined);
  try {
    await other.resync();
    assert.deepEqual(other.landed.map((x) => x.id), [fixture.convoy]);
    assert.equal(other.convoys.length, 0);
  } finally {
    other.dispose();
  }
});

test("sling candidates: real work first, internals only when asked", async () => {
  const work = bdJson(fixture.town, "create", "Calibrate the flux", "-t", "task").id;
  const plain = client.toSlingCandidates(await conn.request(Methods.slingCandidates, {}));
  assert.ok(plain.length > 0);
  assert.ok(plain.every((c) => !c.internal), JSON.stringify(plain));
  assert.equal(plain[0].kind, "bead", "beads before formulas");
  assert.ok(plain.some((c) => c.id === work));
  const firstFormula = plain.findIndex((c) => c.kind === "formula");
  assert.ok(firstFormula < 0 || plain.slice(firstFormula).every((c) => c.kind === "formula"), "no bead after a formula");
  const all = client.toSlingCandidates(await conn.request(Methods.slingCandidates, { include_internal: true }));
  assert.ok(all.length >= plain.length);
  assert.ok(all.some((c) => c.internal), "patrol formulas are offered when asked");
});

test("any inbox: setInbox reads another address's mail, and back to the Overseer's", async () => {
  await conn.request(Methods.mailSend, { to: "mayor", subject: "For the mayor only", body: "hi" });
  await store.setInbox("mayor");
  assert.equal(store.inboxAddress, "mayor");
  assert.ok(store.inbox.some((m) => m.subject === "For the mayor only"), JSON.stringify(store.inbox));
  // New mail to the shown inbox arrives by push.
  const pushed = waitFor(store.onDidChange, () => store.inbox.some((m) => m.subject === "Second for the mayor"), 5000, "the pushed mail");
  await conn.request(Methods.mailSend, { to: "mayor", subject: "Second for the mayor", body: "hi" });
  await pushed;
  await store.setInbox(undefined);
  assert.equal(store.inboxAddress, undefined);
  assert.ok(!store.inbox.some((m) => m.subject === "For the mayor only"));
});

test("a nudge's result is one line: delivered, queued (busy), failed with its reason", async () => {
  assert.deepEqual(client.describeNudge({ status: "delivered" }, "mayor"), { ok: true, text: "nudge to mayor delivered" });
  assert.match(client.describeNudge({ status: "queued" }, "mayor").text, /queued \(busy\)/);
  assert.deepEqual(client.describeNudge({ status: "failed", reason: "no session" }, "mayor"), { ok: false, text: "nudge to mayor failed: no session" });
  // The real server on a town with no tmux sessions: the failure and its reason, as the user will see it.
  let r;
  try {
    r = client.describeNudge(await conn.request(Methods.nudge, { agent: "mayor", message: "hello" }), "mayor");
  } catch (e) {
    r = { ok: false, text: String(e.message) };
  }
  assert.equal(r.ok, false, r.text);
  assert.ok(r.text.length > "nudge to mayor failed: ".length, r.text);
});

test("an agent whose ledger says running before its session exists shows as starting", () => {
  const a = client.toAgent({ address: "demo/polecats/rust", state: "running", running: false });
  assert.equal(client.agentStateLabel(a), "starting");
  assert.equal(client.agentStateLabel(client.toAgent({ address: "mayor", state: "running", running: true })), "running");
  assert.equal(client.agentStateLabel(client.toAgent({ address: "mayor", state: "stopped", running: false })), "stopped, no session");
});

test("transcript text: a bare CR, cursor moves and chunk splits keep the pane's lines apart", () => {
  const t = new client.TerminalText();
  // The pane's rows "ready for input" and "status please", separated by a CR, then a cursor move.
  let out = t.feed("ready for input\r");
  out += t.feed("status please\x1b[2;1Hmail: from mayor\x1b[1Btyped line\r\n");
  assert.equal(out, "ready for input\nstatus please\nmail: from mayor\ntyped line\n");
  // An escape sequence split across chunks leaves no debris; CRLF split across chunks is one newline.
  const u = new client.TerminalText();
  assert.equal(u.feed("a\x1b[3") + u.feed("2mb\r") + u.feed("\nc"), "ab\nc");
  // Colours and erases are dropped without adding lines.
  assert.equal(client.stripAnsi("\x1b[1;32mok\x1b[0m done\x1b[2K\r\n"), "ok done\n");
});
