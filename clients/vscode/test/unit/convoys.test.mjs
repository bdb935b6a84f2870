// convoy/add and convoy/land, as the extension's Add to Convoy and Land Convoy
// commands call them, against the real gastown-server on a real ledger: the
// change reaches the store (and so the tree) by push, landing refuses while
// work is open unless forced, and the landing mail reaches the Overseer.

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
  const loaded = waitFor(store.onDidChange, () => store.loaded && store.tracked(fixture.convoy).length === 2, 15000, "initial snapshots");
  loaded.catch(() => undefined);
  const init = await conn.start();
  for (const m of [Methods.convoyAdd, Methods.convoyLand]) assert.ok(init.capabilities.includes(m), `the server offers ${m}: ${init.capabilities.join(", ")}`);
  await loaded;
});

after(() => {
  store?.dispose();
  conn?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("Add to Convoy: convoy/add tracks more beads and the tree shows them by push", async () => {
  const extra = bdJson(fixture.town, "create", "Buy plutonium", "-t", "task").id;
  const shown = waitFor(store.onDidChange, () => store.tracked(fixture.convoy).some((b) => b.id === extra), 5000, "the added bead in the convoy tree");
  const tree = client.toConvoyTree(await conn.request(Methods.convoyAdd, { id: fixture.convoy, tracked: [extra] }));
  assert.deepEqual(tree.tracked.map((b) => b.id).sort(), [...fixture.beads, extra].sort());
  await shown;
  assert.equal(store.convoys.find((c) => c.id === fixture.convoy)?.total, 3);
  // A bead that does not exist: one error naming it, and nothing added.
  await assert.rejects(conn.request(Methods.convoyAdd, { id: fixture.convoy, tracked: ["gt-nope"] }), /gt-nope/);
  assert.equal(client.toConvoyTree(await conn.request(Methods.convoyTree, { id: fixture.convoy })).tracked.length, 3);
  fixture.beads.push(extra);
});

test("Land Convoy: refused while work is open, forced on confirmation; the Overseer gets the landing mail", async () => {
  await assert.rejects(conn.request(Methods.convoyLand, { id: fixture.convoy }), /not finished/);
  assert.equal([bdJson(fixture.town, "show", fixture.convoy)].flat()[0].status, "open", "a refused landing changes nothing");
  bd(fixture.town, "close", fixture.beads[0], "--reason", "done");
  const landed = waitFor(store.onDidChange, () => store.landed.find((c) => c.id === fixture.convoy)?.status === "closed", 5000, "the landed convoy in the store's recently landed list");
  const mailed = waitFor(store.onDidChange, () => store.inbox.some((m) => m.subject.includes(fixture.convoy)), 5000, "the landing mail in the Overseer's inbox");
  const tree = client.toConvoyTree(await conn.request(Methods.convoyLand, { id: fixture.convoy, force: true }));
  assert.equal(tree.convoy.status, "closed");
  await landed;
  await mailed;
  assert.match(store.inbox.find((m) => m.subject.includes(fixture.convoy)).subject, /CONVOY_LANDED/);
  await assert.rejects(conn.request(Methods.convoyLand, { id: fixture.convoy }), /already closed/);
});

test("Sling's formula prompts come from the real formula/show: the built-in polecat work formula", async () => {
  const vars = client.formulaVars(await conn.request(Methods.formulaShow, { name: "mol-polecat-work" }));
  assert.deepEqual(vars.map((v) => [v.name, v.required, v.defaultValue]), [
    ["issue", true, undefined],
    ["base_branch", false, "main"],
  ]);
  assert.match(vars[0].description, /bead/);
});
