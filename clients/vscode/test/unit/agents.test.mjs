// The client layer against a real town whose agents (script runtime) run in
// real tmux on a throwaway socket: the agent snapshot, the Mayor's transcript
// streaming by push, and text sent to the Mayor reaching its pane.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { client, serverPath, tmpdir, waitFor } from "./helpers.mjs";

const { GastownConnection, TownStore, TranscriptStream } = client;
const socket = `gastown-vscode-unit-${process.pid}`;
let tmp, town, conn, store;
const env = () => ({ ...process.env, GT_TOWN: town, GT_TMUX_SOCKET: socket });

before(async () => {
  tmp = tmpdir();
  town = path.join(tmp, "town");
  execFileSync("gt", ["install", town, "--name", "unittown"], { env: env(), stdio: "pipe" });
  execFileSync("gt", ["up"], { cwd: town, env: env(), stdio: "pipe" });
  conn = new GastownConnection({ serverPath: serverPath(tmp), town, env: env(), backoff: [] });
  store = new TownStore(conn);
  const loaded = waitFor(store.onDidChange, () => store.loaded, 15000, "snapshots");
  loaded.catch(() => undefined);
  await conn.start();
  await loaded;
});

after(() => {
  conn?.dispose();
  store?.dispose();
  try {
    execFileSync("gt", ["down"], { cwd: town, env: env(), stdio: "pipe" });
  } catch {
    // kill-server below
  }
  try {
    execFileSync("tmux", ["-L", socket, "kill-server"], { stdio: "pipe" });
  } catch {
    // no server left
  }
  // kill-server leaves the socket file behind.
  fs.rmSync(path.join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${process.getuid()}`, socket), { force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("agents: the town's agents with role, session and running state", () => {
  const mayor = store.agents.find((a) => a.address === "mayor");
  assert.ok(mayor, JSON.stringify(store.agents));
  assert.equal(mayor.role, "mayor");
  assert.equal(mayor.rig, undefined);
  assert.equal(mayor.session, "hq-mayor");
  assert.equal(mayor.running, true);
  assert.match(mayor.sandbox ?? "", /^bwrap, tmux, \d+ rw \/ \d+ ro$/, "gt up started the Mayor in its sandbox");
  assert.ok(store.runningAgents >= 2, "mayor and deacon run");
});

test("the Mayor's transcript: history first, then what the Mayor prints, by push", async () => {
  const stream = new TranscriptStream(conn, "mayor");
  try {
    await stream.subscribe();
    await waitFor(stream.onDidAppend, () => stream.text.includes("ready for input"), 15000, "the Mayor's startup lines");
    assert.equal(stream.session, "hq-mayor");
    assert.ok(typeof stream.subscription === "number");
    const offsetBefore = stream.offset;
    const marker = `unit-${Date.now()}`;
    const r = await stream.send(`hello ${marker}`);
    assert.ok(["delivered", "queued"].includes(r.status), JSON.stringify(r));
    await waitFor(stream.onDidAppend, () => stream.text.includes(`got: hello ${marker}`), 15000, "the Mayor's echo in the stream");
    assert.ok(stream.offset > offsetBefore, "the byte offset advances with pushed chunks");
    const pane = execFileSync("tmux", ["-L", socket, "capture-pane", "-p", "-t", "hq-mayor"], { encoding: "utf8" });
    assert.ok(pane.includes(marker), "the text reached the Mayor's pane");
    assert.doesNotMatch(stream.text, /\x1b\[/, "no raw escape sequences");
  } finally {
    await stream.dispose();
  }
});

test("the transcript resumes from its byte offset after the server dies", async () => {
  const c2 = new GastownConnection({ serverPath: serverPath(tmp), town, env: env(), backoff: [100, 200, 400] });
  const stream = new TranscriptStream(c2, "mayor");
  try {
    await c2.start();
    await stream.subscribe();
    await waitFor(stream.onDidAppend, () => stream.text.includes("ready for input"), 15000, "history");
    const down = waitFor(c2.onDidChangeState, () => c2.state === "disconnected", 5000, "disconnect");
    process.kill(c2.pid, "SIGKILL");
    await down;
    // Written while no server streams: typed into the pane directly, echoed by the agent.
    const marker = `offline-${Date.now()}`;
    execFileSync("tmux", ["-L", socket, "send-keys", "-t", "hq-mayor", "-l", marker]);
    execFileSync("tmux", ["-L", socket, "send-keys", "-t", "hq-mayor", "Enter"]);
    await waitFor(stream.onDidAppend, () => stream.text.includes(`got: ${marker}`), 15000, "the missed output after reconnect");
    assert.equal(stream.text.split(`got: ${marker}`).length, 2, "the missed output arrives exactly once");
  } finally {
    await stream.dispose();
    c2.dispose();
  }
});

test("work hooked to an agent shows as its hook, by push", async () => {
  const id = JSON.parse(execFileSync("bd", ["create", "Plan the heist", "--json"], { cwd: town, env: env(), encoding: "utf8" })).id;
  const hooked = waitFor(store.onDidChange, () => store.agents.find((a) => a.address === "mayor")?.hook === id, 5000, "the mayor's hook");
  execFileSync("bd", ["update", id, "--status", "hooked", "--assignee", "mayor"], { cwd: town, env: env() });
  await hooked;
  const cleared = waitFor(store.onDidChange, () => store.agents.find((a) => a.address === "mayor")?.hook === undefined, 5000, "the hook cleared");
  execFileSync("bd", ["close", id], { cwd: town, env: env() });
  await cleared;
});

test("a nudge to an agent that does not exist is an error naming it", async () => {
  await assert.rejects(conn.request("nudge", { agent: "nosuchrig/witness", message: "hi" }), (e) => /nosuchrig/.test(e.message));
});
