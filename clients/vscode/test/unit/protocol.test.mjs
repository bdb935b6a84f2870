// The normalisers read the server's result shapes (gastown_server/rpc/types.py).

import assert from "node:assert/strict";
import { test } from "node:test";
import { client } from "./helpers.mjs";

test("convoy/tree result: progress, landed flag and tracked beads", () => {
  const tree = client.toConvoyTree({
    convoy: { id: "gt-c1", title: "Time machine", status: "open", issue_type: "convoy" },
    tracked: [
      { id: "gt-a", title: "A", status: "closed", issue_type: "task", priority: 2, assignee: "", is_blocked: false },
      { id: "gt-b", title: "B", status: "in_progress", issue_type: "task", priority: 1, assignee: "rig/polecats/nux", is_blocked: false },
    ],
    missing: [],
    progress: { total: 2, closed: 1, by_status: { closed: 1, in_progress: 1 } },
    landed: false,
  });
  assert.equal(tree.convoy.id, "gt-c1");
  assert.equal(tree.convoy.title, "Time machine");
  assert.equal(tree.convoy.total, 2);
  assert.equal(tree.convoy.closed, 1);
  assert.equal(tree.convoy.landed, false);
  assert.deepEqual(tree.tracked.map((b) => [b.id, b.status, b.assignee]), [["gt-a", "closed", undefined], ["gt-b", "in_progress", "rig/polecats/nux"]]);
});

test("convoy/list summaries and mail/inbox messages", () => {
  const [c] = client.listOf({ convoys: [{ id: "gt-c", title: "T", status: "open", created_at: "", updated_at: "", progress: { total: 3, closed: 3, by_status: {} }, landed: true }] }, "convoys").map((o) => client.toConvoy(o));
  assert.deepEqual([c.total, c.closed, c.landed], [3, 3, true]);
  const [m] = client.listOf({ address: "overseer", unread: 1, messages: [{ id: "hq-m", to: "overseer", sender: "mayor", subject: "Hi", body: "b", status: "open", read: false, created_at: "2026-11-22T00:00:00Z" }] }, "messages").map(client.toMail);
  assert.deepEqual([m.from, m.to, m.subject, m.read], ["mayor", "overseer", "Hi", false]);
});

test("agents: role and rig from the address when the server omits them", () => {
  const a = client.toAgent({ address: "gastown/polecats/nux", state: "working", hook: "gt-abc" });
  assert.deepEqual([a.rig, a.role, a.name, a.hook, a.running], ["gastown", "polecat", "nux", "gt-abc", true]);
  const m = client.toAgent({ address: "mayor", state: "stopped" });
  assert.deepEqual([m.rig, m.role, m.running], [undefined, "mayor", false]);
});

test("feed events and transcript chunks", () => {
  const e = client.toFeedEvent({ subscription: 1, event: { id: 42, at: "t", actor: "overseer", kind: "closed", bead_id: "gt-a", payload: {} } });
  assert.deepEqual([e.id, e.kind, e.beadId], [42, "closed", "gt-a"]);
  assert.equal(client.toFeedEvent({ nothing: true }), undefined);
  const c = client.toTranscriptChunk({ subscription: 3, session: "hq-mayor", agent: "mayor", offset: 10, end: 15, data: "hello", rotated: false });
  assert.deepEqual([c.subscription, c.offset, c.end, c.data], [3, 10, 15, "hello"]);
});

test("ANSI colour and cursor sequences are stripped from transcript text", () => {
  assert.equal(client.stripAnsi("\x1b[1;32mok\x1b[0m done\x1b[2K\r\n"), "ok done\n");
  assert.equal(client.stripAnsi("\x1b]0;title\x07plain"), "plain");
});

test("agents as gt status --json lists them: hook as a list, empty rig", () => {
  const a = client.toAgent({ address: "mayor", role: "mayor", rig: "", session: "hq-mayor", running: true, hook: [{ id: "hq-abc", title: "Plan" }], agent_state: "running" });
  assert.deepEqual([a.rig, a.role, a.session, a.running, a.hook, a.hookTitle, a.state], [undefined, "mayor", "hq-mayor", true, "hq-abc", "Plan", "running"]);
  const b = client.toAgent({ address: "gastown/witness", role: "witness", rig: "gastown", running: false, hook: [], agent_state: "idle" });
  assert.deepEqual([b.rig, b.hook, b.running], ["gastown", undefined, false]);
});

test("agents carry what they cost (gt status cost_usd/tokens); none when they used no tokens", () => {
  assert.equal(client.toAgent({ address: "mayor", cost_usd: 0.01234, tokens: 9000 }).costUsd, 0.01234);
  assert.equal(client.toAgent({ address: "deacon", cost_usd: 0, tokens: 0 }).costUsd, undefined);
  assert.equal(client.toAgent({ address: "gt/witness" }).costUsd, undefined);
  assert.deepEqual([client.formatUsd(0.01234), client.formatUsd(12.5)], ["$0.0123", "$12.50"]);
});

test("agents: the session's sandbox in a few words", () => {
  const box = { enabled: true, tool: "bwrap", network: "none", tmux: false, git_broker: true, home: "/t/.gastown/homes/x", rw: ["/t/a", "/t/b"], ro: ["/t/c"], hidden: [] };
  assert.equal(client.toAgent({ address: "a/refinery", sandbox: box }).sandbox, "bwrap, network none, git broker, 2 rw / 1 ro");
  assert.equal(client.toAgent({ address: "mayor", sandbox: { enabled: false } }).sandbox, "OFF");
  assert.equal(client.toAgent({ address: "mayor", sandbox: null }).sandbox, undefined);
});

test("attach command: the server's argv, else its shell line", () => {
  assert.deepEqual(client.attachArgv({ agent: "mayor", session: "hq-mayor", command: ["tmux", "-L", "s", "attach-session", "-t", "hq-mayor"], shell: "tmux -L s attach-session -t hq-mayor", running: true }), ["tmux", "-L", "s", "attach-session", "-t", "hq-mayor"]);
  assert.deepEqual(client.attachArgv({ shell: "tmux attach -t x" }), ["/bin/sh", "-c", "tmux attach -t x"]);
  assert.equal(client.attachArgv({}), undefined);
});

test("a failed nudge is an error with the server's reason; delivered and queued are fine", () => {
  assert.equal(client.checkNudge({ status: "delivered", session: "hq-mayor" }, "mayor"), "delivered");
  assert.equal(client.checkNudge({ status: "queued" }, "mayor"), "queued");
  assert.throws(() => client.checkNudge({ status: "failed", reason: "session hq-x is not running" }, "x"), /the nudge to x failed: session hq-x is not running/);
});

test("sling: params name the bead or formula and where; the result (work/sling.py SlingResult) reads as one line", () => {
  assert.deepEqual(client.slingParams(" gt-a ", "bead", "demo"), { bead: "gt-a", target: "demo" });
  assert.deepEqual(client.slingParams("mol-review", "formula", "", { issue: "gt-a" }), { formula: "mol-review", vars: { issue: "gt-a" } });
  const r = client.toSlingResult({
    bead: "gt-a", title: "Fix it", convoy: "hq-cv1", convoy_created: true, target: "demo/polecats/nux", agent: "demo/polecats/nux",
    rig: "demo", polecat: "nux", session: "gt-demo-nux", worktree: "/t/demo/polecats/nux", branch: "polecat/nux/gt-a",
    molecule: "gt-mol1", formula: "", session_status: "started",
  });
  assert.deepEqual([r.bead, r.agent, r.polecat, r.convoy, r.convoyCreated, r.formula], ["gt-a", "demo/polecats/nux", "nux", "hq-cv1", true, undefined]);
  assert.equal(client.describeSling(r), "slung gt-a to demo/polecats/nux; session gt-demo-nux started; new convoy hq-cv1");
  const f = client.toSlingResult({ bead: "gt-m", title: "Review", convoy: "hq-cv2", convoy_created: false, target: "deacon", agent: "deacon", formula: "mol-review", session_status: "nudged" });
  assert.equal(client.describeSling(f), "slung mol-review (gt-m) to deacon; nudged; convoy hq-cv2");
  // A bare answer still names what went where.
  assert.equal(client.describeSling(client.toSlingResult(null, "gt-x", "mayor")), "slung gt-x to mayor");
});

test("formula/show vars become prompts: required first, defaults as text", () => {
  const show = {
    name: "towers-of-hanoi",
    vars: {
      disks: { description: "Number of disks", default: 10, type: "int" },
      issue: { description: "The issue on your hook", required: true },
      base_branch: { default: "main" },
    },
  };
  assert.deepEqual(client.formulaVars(show), [
    { name: "issue", description: "The issue on your hook", defaultValue: undefined, required: true },
    { name: "base_branch", description: "", defaultValue: "main", required: false },
    { name: "disks", description: "Number of disks", defaultValue: "10", required: false },
  ]);
  assert.deepEqual(client.formulaVars({}), []);
  assert.deepEqual(client.formulaVars(null), []);
});
