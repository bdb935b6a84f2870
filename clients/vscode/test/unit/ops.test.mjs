// The operator views' store (OpsStore) against the real gastown-server on a real ledger:
// snapshots on connect, then refreshes on pushes only, a burst of events coalesced into one
// request per view; and the parsers of the operator methods' answers.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, test } from "node:test";
import { bdJson, client, makeTown, serverPath, tmpdir, waitFor } from "./helpers.mjs";

const { GastownConnection, OpsStore, TownStore, toMqItems, toDoctorReport, toFullStatus } = client;
let tmp, fixture, conn, store, ops;
const requests = [];

before(async () => {
  tmp = tmpdir();
  fixture = makeTown(tmp);
  conn = new GastownConnection({ serverPath: serverPath(tmp), town: fixture.town, backoff: [] });
  const request = conn.request.bind(conn);
  conn.request = (method, params, token) => {
    requests.push(method);
    return request(method, params, token);
  };
  // As in the extension: the TownStore holds the feed subscription whose pushes OpsStore follows.
  store = new TownStore(conn, () => undefined);
  ops = new OpsStore(conn, () => undefined);
  const loaded = waitFor(ops.onDidChange, () => ops.board !== undefined && ops.status !== undefined, 15000, "the operator snapshots");
  loaded.catch(() => undefined);
  await conn.start();
  await loaded;
});

after(() => {
  ops?.dispose();
  store?.dispose();
  conn?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("a ledger-only town: no rigs or agents, the board lists the ready work", () => {
  assert.equal(ops.status.ledgerOnly, true);
  assert.deepEqual(ops.status.agents, []);
  for (const id of fixture.beads) assert.ok(ops.board.ready.some((b) => b.id === id), `${id} is ready`);
  assert.deepEqual(ops.mq, []);
});

test("a burst of changes elsewhere reaches the board by push, in far fewer requests than events", async () => {
  const before = requests.filter((m) => m === "work/board").length;
  const first = bdJson(fixture.town, "create", "Lay the track", "-t", "task").id;
  const made = [];
  for (let i = 0; i < 5; i++) made.push((await conn.request("bead/create", { title: `Burst ${i}`, deps: [{ id: first, type: "blocks" }] })).id);
  await waitFor(ops.onDidChange, () => made.every((id) => ops.board.blocked.some((x) => x.bead.id === id && x.blockers.includes(first))), 10000, "the blocked beads on the board");
  const after = requests.filter((m) => m === "work/board").length - before;
  assert.ok(after >= 1 && after < 6, `work/board asked ${after} times for 6 changes`);
});

test("parsers: full status, merge queue items with gate output, doctor findings problems first", () => {
  const st = toFullStatus({
    town: { name: "t", root: "/t" },
    ledger: { total: 3, ready: 2, blocked: 1 },
    status: {
      rigs: [{ name: "demo", prefix: "de", url: "/src" }, { name: "yard", prefix: "ya", url: "/yard" }],
      parked_rigs: ["yard"],
      agents: [
        { address: "demo/witness", role: "witness", rig: "demo", running: true, alive: false, agent_state: "running", hook: [] },
        { address: "mayor", role: "mayor", rig: "", running: true, alive: true, agent_state: "idle", hook: [] },
      ],
      daemon: { running: true, pid: 7, beats: 3, interval_s: 30 },
      tmux: { socket: "s", running: true, session_count: 2 },
      nudge_failures: [{ session: "hq-mayor", reason: "pane gone" }],
      cost_usd: 1.5,
    },
  });
  assert.equal(st.ledgerOnly, false);
  assert.deepEqual(st.rigs.map((r) => [r.name, r.parked]), [["demo", false], ["yard", true]]);
  assert.deepEqual([...st.dead], ["demo/witness"]);
  assert.deepEqual(client.failingAgents(st).map((a) => a.address), ["demo/witness"]);
  assert.equal(client.opsAgentState(st.agents[1], st.dead), "idle");
  const [mr] = toMqItems({ items: [{ mr: { id: "hq-1", status: "blocked", meta: { branch: "polecat/b", head: "b".repeat(40), polecat: "demo/polecats/b" } }, gate_output: "FAILED x" }] });
  assert.deepEqual([mr.id, mr.branch, mr.head.length, mr.gateOutput], ["hq-1", "polecat/b", 12, "FAILED x"]);
  const r = toDoctorReport({ ok: false, errors: 1, warnings: 0, findings: [{ check: "a", severity: "ok", message: "" }, { check: "b", severity: "error", message: "broken", fix: "gt up" }] });
  assert.deepEqual(r.findings.map((f) => f.check), ["b", "a"]);
});
