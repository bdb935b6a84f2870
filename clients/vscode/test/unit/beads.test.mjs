// The Beads view's client layer against the real gastown-server on a real
// ledger: the list's search / presets / sort / paging, a reload by push when
// another process (bd, as an agent would) changes a bead, bulk updates that
// change all or nothing, and the dependency graph's SVG.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, test } from "node:test";
import { bd, bdJson, client, serverPath, tmpdir, waitFor } from "./helpers.mjs";
import * as path from "node:path";

const { GastownConnection, TownStore, BeadList, bulkUpdate, fetchDeps, graphSvg } = client;
let tmp, town, conn, store, list, ids;

before(async () => {
  tmp = tmpdir();
  town = path.join(tmp, "town");
  fs.mkdirSync(town);
  bd(town, "init", "--prefix", "gt");
  const a = bdJson(town, "create", "Fix the parser", "-p", "1", "-l", "ui").id;
  const b = bdJson(town, "create", "Write docs", "-p", "3").id;
  const c = bdJson(town, "create", "Ship the parser", "-p", "2", "--deps", a).id;
  ids = { a, b, c };
  conn = new GastownConnection({ serverPath: serverPath(tmp), town, backoff: [] });
  store = new TownStore(conn, () => undefined);
  list = new BeadList(conn, 2, store.onEvent);
  const loaded = waitFor(store.onDidChange, () => store.loaded, 15000, "the store");
  loaded.catch(() => undefined);
  await conn.start();
  await loaded;
});

after(() => {
  list?.dispose();
  store?.dispose();
  conn?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("the list pages, searches, filters and sorts through bead/list", async () => {
  await list.reload(undefined);
  assert.deepEqual(list.beads.map((x) => x.id), [ids.a, ids.c]); // priority order, page of 2
  assert.equal(list.total, 3);
  assert.ok(list.hasMore);
  assert.deepEqual(list.beads[0].labels, ["ui"]);
  await list.loadMore();
  assert.deepEqual(list.beads.map((x) => x.id), [ids.a, ids.c, ids.b]);
  assert.ok(!list.hasMore);
  await list.setQuery({ q: "parser" });
  assert.deepEqual(list.beads.map((x) => x.id), [ids.a, ids.c]);
  await list.setQuery({ q: undefined, preset: "blocked" });
  assert.deepEqual(list.beads.map((x) => x.id), [ids.c]);
  await list.setQuery({ preset: "open", sort: "created", desc: true });
  assert.deepEqual(list.beads.map((x) => x.id), [ids.c, ids.b]);
  assert.equal(client.describeQuery(list.query), "open · by created ↓");
  await list.setQuery({ sort: "priority", desc: false });
});

test("a bead closed by another process reloads the list by push", async () => {
  await list.setQuery({ preset: "open" });
  const gone = waitFor(list.onDidChange, () => !list.beads.some((x) => x.id === ids.b) && list.total === 2, 5000, "the closed bead to leave the list");
  bd(town, "close", ids.b);
  await gone;
  await list.setQuery({ showClosed: true });
  assert.equal(list.total, 3);
  await list.setQuery({ showClosed: false });
});

test("bulk updates change every bead or none", async () => {
  assert.equal(await bulkUpdate(conn, [ids.a, ids.c], { add_labels: ["release"], priority: 0 }), 2);
  await list.reload(undefined);
  assert.deepEqual(list.beads.find((x) => x.id === ids.c).labels, ["release"]);
  await assert.rejects(bulkUpdate(conn, [ids.a, "gt-ghost"], { status: "blocked" }), /no bead gt-ghost/);
  const a = await conn.request("bead/show", { id: ids.a });
  assert.equal(a.status, "open");
});

test("the dependency tree and its SVG picture", async () => {
  const t = await fetchDeps(conn, ids.c);
  assert.deepEqual(t.blockers.map((x) => [x.id, x.blocking]), [[ids.a, true]]);
  const svg = graphSvg(t);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<g class="node"/g) ?? []).length, 2);
  assert.match(svg, new RegExp(`data-source="${ids.a}" data-target="${ids.c}"`));
  assert.match(svg, /stroke="#f14c4c"/); // the blocking edge
  assert.ok(!/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(svg), "no network reference in the picture");
  // Titles are escaped, not markup.
  const evil = graphSvg({ ...t, graph: { ...t.graph, nodes: t.graph.nodes.map((n) => ({ ...n, title: "<script>x</script>" })) } });
  assert.ok(!evil.includes("<script>"));
});

test("a paused list (its view hidden) reloads only when shown again", async () => {
  await list.setQuery({ preset: "open" });
  let changes = 0;
  const before = list.total;
  const sub = list.onDidChange(() => changes++);
  list.paused = true;
  const extra = bdJson(town, "create", "Made while hidden", "-p", "0").id;
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(changes, 0, "no reload while paused");
  assert.equal(list.total, before);
  const shown = waitFor(list.onDidChange, () => list.total === before + 1, 5000, "the reload when shown");
  list.paused = false;
  await shown;
  sub.dispose();
  assert.ok(extra);
});

test("dependencies added and removed through bead/depAdd and bead/depRemove; the list follows by push", async () => {
  const { addDependency, removeDependency, directEdges } = client;
  const x = bdJson(town, "create", "Lay the rails", "-p", "2").id;
  const y = bdJson(town, "create", "Run the first train", "-p", "2").id;
  await list.setQuery({ preset: "ready", q: "first train" });
  assert.deepEqual(list.beads.map((b) => b.id), [y]);
  const blocked = waitFor(list.onDidChange, () => !list.beads.some((b) => b.id === y), 5000, "the new blocked bead to leave the ready list");
  assert.equal(await addDependency(conn, y, x), "blocks");
  await blocked;
  assert.deepEqual(await directEdges(conn, y), [{ issue: y, dependsOn: x, type: "blocks", title: "Lay the rails" }]);
  assert.deepEqual(await directEdges(conn, x), [{ issue: y, dependsOn: x, type: "blocks", title: "Run the first train" }]);
  await assert.rejects(addDependency(conn, x, y), /would create a cycle/);
  await assert.rejects(addDependency(conn, x, x), /cannot depend on itself/);
  await assert.rejects(removeDependency(conn, x, y), new RegExp(`${x} does not depend on ${y}`));
  const ready = waitFor(list.onDidChange, () => list.beads.some((b) => b.id === y), 5000, "the bead to be ready again");
  assert.equal(await removeDependency(conn, y, x), "blocks");
  await ready;
  assert.deepEqual(await directEdges(conn, y), []);
  await list.setQuery({ preset: "open", q: undefined });
});
