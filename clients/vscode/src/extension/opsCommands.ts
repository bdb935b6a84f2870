// The operator's commands: rigs (add, park, unpark, remove) and crew, agent sessions (start, stop,
// restart, nuke, with a confirmation for the ones that end a session),
// the merge queue (retry, reject), doctor, formula run, molecule progress,
// broadcast and escalate.  Each gathers input with native pickers and
// calls one server method; a refusal is the server's one line.

import * as vscode from "vscode";
import { ConnectionError, describeError, isObject, listOf, OpsMethods, toMolStatus, type GastownConnection, type OpsStore, type RigInfo, type TownStore } from "../client";
import { FormulaPanel } from "./formulaPanel";
import type { MqNode, TownNode } from "./opsViews";

export interface OpsCommandContext {
  conn: GastownConnection;
  store: TownStore;
  ops: OpsStore;
  log: (line: string) => void;
}

/** Run a command body; a failure is one notification (a refusal from the server is its one line). */
async function run(what: string, fn: () => Promise<void>, extra?: (e: unknown) => { label: string; action: () => void } | undefined): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const more = extra?.(e);
    const offline = e instanceof ConnectionError && e.code === undefined;
    const actions = [...(more ? [more.label] : []), ...(offline ? ["Retry Connection"] : []), "Show Log"];
    const pick = await vscode.window.showErrorMessage(`Gas Town: ${what}: ${describeError(e)}`, ...actions);
    if (more && pick === more.label) more.action();
    if (pick === "Retry Connection") void vscode.commands.executeCommand("gastown.reconnect");
    if (pick === "Show Log") void vscode.commands.executeCommand("gastown.showLog");
  }
}

function agentArg(arg: unknown): string | undefined {
  if (typeof arg === "string") return arg;
  if (isObject(arg) && arg.kind === "agent") return (arg as TownNode & { kind: "agent" }).agent.address;
  return undefined;
}

async function pickAgent(ctx: OpsCommandContext, placeHolder: string, arg: unknown, roles?: string[]): Promise<string | undefined> {
  const given = agentArg(arg);
  if (given) return given;
  const agents = (ctx.ops.status?.agents ?? ctx.store.agents).filter((a) => !roles || roles.includes(a.role));
  if (agents.length === 0) return vscode.window.showInputBox({ prompt: placeHolder, placeHolder: "mayor, <rig>/witness, <rig>/crew/<name>, <rig>/polecats/<name>", ignoreFocusOut: true });
  const items = agents.map((a) => ({ label: a.address, description: `${a.role} · ${a.running ? a.state : "stopped"}${a.hook ? ` · hook ${a.hook}` : ""}` }));
  return (await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, ignoreFocusOut: true }))?.label;
}

async function confirm(message: string, detail: string, button: string): Promise<boolean> {
  return (await vscode.window.showWarningMessage(message, { modal: true, detail }, button)) === button;
}

async function pickRig(ctx: OpsCommandContext, placeHolder: string, arg: unknown, fits: (r: RigInfo) => boolean = () => true): Promise<string | undefined> {
  if (typeof arg === "string" && arg) return arg;
  if (isObject(arg) && arg.kind === "rig") return (arg as TownNode & { kind: "rig" }).rig.name;
  const all = ctx.ops.status?.rigs ?? [];
  // Offer the rigs the verb fits (the parked ones to unpark...), else all: the server says why not.
  const rigs = all.some(fits) ? all.filter(fits) : all;
  if (rigs.length === 1) return rigs[0]!.name;
  if (rigs.length === 0) return vscode.window.showInputBox({ prompt: placeHolder, ignoreFocusOut: true });
  return (await vscode.window.showQuickPick(rigs.map((r) => ({ label: r.name, description: `${r.prefix}${r.parked ? " · parked" : ""} · ${r.url}` })), { placeHolder, ignoreFocusOut: true }))?.label;
}

/** A rig operation's result (RigOp) in one line: what stopped or started, and the server's note. */
function rigOpText(r: unknown, rig: string, verb: string): string {
  const o = isObject(r) ? r : {};
  const names = (k: string) => (Array.isArray(o[k]) ? (o[k] as unknown[]).map(String) : []);
  const stopped = names("stopped");
  const started = names("started");
  const note = typeof o.note === "string" ? o.note : "";
  return [`rig ${rig} ${verb}`, stopped.length ? `stopped ${stopped.join(", ")}` : "", started.length ? `started ${started.join(", ")}` : "", note].filter(Boolean).join("; ");
}

export function registerOpsCommands(ctx: OpsCommandContext): vscode.Disposable[] {
  const { conn, ops, log } = ctx;
  const reg = (id: string, fn: (...args: unknown[]) => Promise<void> | void) => vscode.commands.registerCommand(id, fn);
  const info = (text: string) => {
    log(`[ops] ${text}`);
    void vscode.window.showInformationMessage(`Gas Town: ${text}`);
  };

  const nuke = (arg: unknown, force: boolean) =>
    run(
      force ? "Force-nuke failed" : "Nuke refused",
      async () => {
        const agent = await pickAgent(ctx, force ? "Force-nuke which polecat?" : "Nuke which polecat?", arg, ["polecat"]);
        if (!agent) return;
        const ok = await confirm(
          `${force ? "Force-nuke" : "Nuke"} ${agent}?`,
          force ? "Its session stops and its worktree is removed even with unmerged or uncommitted work (saved under refs/gastown/salvage/); hooked work goes back to open; the branch stays." : "Its session stops and its worktree is removed; the branch stays. The server refuses while work could be lost.",
          force ? "Force Nuke" : "Nuke",
        );
        if (!ok) return;
        const r = await conn.request(OpsMethods.agentNuke, { agent, force });
        const unhooked = isObject(r) && Array.isArray(r.unhooked) && r.unhooked.length ? `; back to open: ${r.unhooked.join(", ")}` : "";
        info(`nuked ${agent}${unhooked}`);
      },
      (e) => (!force && /refusing to nuke/.test(describeError(e)) ? { label: "Force Nuke...", action: () => void vscode.commands.executeCommand("gastown.agent.forceNuke", agentArg(arg) ?? describeError(e).match(/refusing to nuke (\S+?):/)?.[1]) } : undefined),
    );

  const removeRig = (arg: unknown, force: boolean): Promise<void> => {
    let rig: string | undefined;
    return run(
      force ? "Remove rig failed" : "Remove rig refused",
      async () => {
        rig = await pickRig(ctx, "Remove which rig?", arg);
        if (!rig) return;
        const ok = await confirm(
          force ? `Stop ${rig}'s sessions and remove it?` : `Remove rig ${rig}?`,
          `Its directory (clones, worktrees, crew) is deleted, its agents and its bead route go; its beads stay in the ledger.${force ? " Its running sessions are stopped first." : " The server refuses while its agents run."}`,
          force ? "Stop and Remove" : "Remove",
        );
        if (!ok) return;
        const r = await conn.request(OpsMethods.rigRemove, { name: rig, ...(force ? { force: true } : {}) });
        info(`removed rig ${isObject(r) ? String(r.name) : rig} (prefix ${isObject(r) ? String(r.prefix) : "?"})`);
      },
      (e) => (!force && rig && /has running sessions/.test(describeError(e)) ? { label: "Stop Sessions and Remove...", action: () => void removeRig(rig, true) } : undefined),
    );
  };

  return [
    reg("gastown.ops.refresh", () => run("Refresh failed", () => ops.loadAll())),
    reg("gastown.doctor.run", () =>
      run("Doctor failed", async () => {
        await vscode.window.withProgress({ location: { viewId: "gastown.doctor" }, title: "Running gt doctor" }, async () => {
          const r = await ops.runDoctor();
          log(`[ops] doctor: ${r.errors} errors, ${r.warnings} warnings`);
        });
        await vscode.commands.executeCommand("gastown.doctor.focus");
      }),
    ),
    reg("gastown.rig.add", () =>
      run("Add rig failed", async () => {
        const name = await vscode.window.showInputBox({ prompt: "New rig's name", placeHolder: "e.g. backend", ignoreFocusOut: true });
        if (!name) return;
        const url = await vscode.window.showInputBox({ prompt: `Git URL or path of ${name}'s repository`, ignoreFocusOut: true });
        if (!url) return;
        const prefix = await vscode.window.showInputBox({ prompt: "Bead id prefix (empty: derived from the name)", ignoreFocusOut: true });
        if (prefix === undefined) return;
        const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Cloning ${url}` }, () =>
          conn.request(OpsMethods.rigAdd, { name, url, ...(prefix ? { prefix } : {}) }),
        );
        info(`added rig ${isObject(r) ? r.name : name} (prefix ${isObject(r) ? r.prefix : "?"})`);
        await ops.load("status", undefined);
      }),
    ),
    reg("gastown.rig.park", (arg) =>
      run("Park rig failed", async () => {
        const rig = await pickRig(ctx, "Park which rig? (its agents stop; nothing restarts them until unpark)", arg, (r) => !r.parked);
        if (!rig) return;
        const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Parking ${rig}` }, () => conn.request(OpsMethods.rigPark, { name: rig }));
        info(rigOpText(r, rig, "parked"));
      }),
    ),
    reg("gastown.rig.unpark", (arg) =>
      run("Unpark rig failed", async () => {
        const rig = await pickRig(ctx, "Unpark which rig? (its Witness, Refinery and parked polecats start)", arg, (r) => r.parked);
        if (!rig) return;
        const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Unparking ${rig}` }, () => conn.request(OpsMethods.rigUnpark, { name: rig }));
        info(rigOpText(r, rig, "unparked"));
      }),
    ),
    reg("gastown.rig.remove", (arg) => removeRig(arg, false)),
    reg("gastown.crew.add", (arg) =>
      run("Add crew member failed", async () => {
        const rig = await pickRig(ctx, "Add a crew member to which rig?", arg);
        if (!rig) return;
        const name = await vscode.window.showInputBox({ prompt: `Crew member's name in ${rig}`, ignoreFocusOut: true });
        if (!name) return;
        const r = await conn.request(OpsMethods.crewAdd, { rig, name });
        info(`added crew member ${isObject(r) ? r.address : name}`);
        await ops.load("status", undefined);
      }),
    ),
    reg("gastown.agent.start", (arg) =>
      run("Start failed", async () => {
        const agent = await pickAgent(ctx, "Start which agent?", arg);
        if (!agent) return;
        const r = await conn.request(OpsMethods.agentStart, { agent });
        info(`${isObject(r) ? r.status : "started"} ${agent}`);
      }),
    ),
    reg("gastown.agent.stop", (arg) =>
      run("Stop failed", async () => {
        const agent = await pickAgent(ctx, "Stop which agent?", arg);
        if (!agent) return;
        if (!(await confirm(`Stop ${agent}'s session?`, "Always-on agents (Deacon, Witness, Refinery) come back on the daemon's next heartbeat.", "Stop"))) return;
        const r = await conn.request(OpsMethods.agentStop, { agent });
        info(isObject(r) && r.was_running ? `stopped ${agent}` : `${agent} was not running`);
      }),
    ),
    reg("gastown.agent.restart", (arg) =>
      run("Restart failed", async () => {
        const agent = await pickAgent(ctx, "Restart which agent?", arg);
        if (!agent) return;
        if (!(await confirm(`Restart ${agent}?`, "Its session is replaced by a fresh one; its hook is kept.", "Restart"))) return;
        const r = await conn.request(OpsMethods.agentRestart, { agent });
        info(`${isObject(r) ? r.status : "restarted"} ${agent}`);
      }),
    ),
    reg("gastown.agent.nuke", (arg) => nuke(arg, false)),
    reg("gastown.agent.forceNuke", (arg) => nuke(arg, true)),
    reg("gastown.mq.retry", (arg) =>
      run("Retry refused", async () => {
        const id = isObject(arg) && arg.kind === "mr" ? (arg as MqNode & { kind: "mr" }).mr.id : await vscode.window.showInputBox({ prompt: "Merge request id to retry" });
        if (!id) return;
        await conn.request(OpsMethods.mqRetry, { id });
        info(`${id} is back in the merge queue`);
      }),
    ),
    reg("gastown.mq.reject", (arg) =>
      run("Reject refused", async () => {
        const id = isObject(arg) && arg.kind === "mr" ? (arg as MqNode & { kind: "mr" }).mr.id : await vscode.window.showInputBox({ prompt: "Merge request id to reject" });
        if (!id) return;
        const reason = await vscode.window.showInputBox({ prompt: `Why reject ${id}? (its polecat is told)`, ignoreFocusOut: true, validateInput: (v) => (v.trim() ? undefined : "Say why") });
        if (!reason) return;
        if (!(await confirm(`Reject ${id}?`, `It is abandoned with the reason "${reason}", and its polecat is mailed why.`, "Reject"))) return;
        await conn.request(OpsMethods.mqReject, { id, reason });
        info(`rejected ${id}`);
      }),
    ),
    reg("gastown.formula.run", (arg) =>
      run("Run formula failed", async () => {
        let name = typeof arg === "string" ? arg : undefined;
        if (!name) {
          const items = listOf(await conn.request(OpsMethods.formulaList, {}), "formulas")
            .filter((f) => !String(f.name).startsWith("mol-"))
            .map((f) => ({ label: String(f.name), description: String(f.type ?? ""), detail: String(f.description ?? "") }));
          name = (await vscode.window.showQuickPick(items, { placeHolder: "Run which formula?", matchOnDetail: true, ignoreFocusOut: true }))?.label;
        }
        if (!name) return;
        await FormulaPanel.show(conn, name, log);
      }),
    ),
    reg("gastown.molecule.show", (arg) =>
      run("Molecule progress failed", async () => {
        const agent = await pickAgent(ctx, "Molecule progress of which agent?", arg);
        if (!agent) return;
        const hook = listOf(await conn.request(OpsMethods.hookShow, { agent }), "hook");
        const items: vscode.QuickPickItem[] = [];
        for (const b of hook) {
          const m = await conn.request(OpsMethods.molStatus, { molecule: String(b.id) }).then(toMolStatus, () => undefined);
          if (!m) continue;
          items.push({ label: `${m.title || m.id}`, description: `${m.closed}/${m.total} steps closed`, kind: vscode.QuickPickItemKind.Separator });
          for (const s of m.steps) {
            const icon = s.status === "closed" ? "$(pass-filled)" : m.current.includes(s.id) ? "$(arrow-right)" : "$(circle-large-outline)";
            items.push({ label: `${icon} ${s.title}`, description: `${s.id} · ${s.status}` });
          }
        }
        if (items.length === 0) {
          info(`${agent} has no molecule on its hook`);
          return;
        }
        await vscode.window.showQuickPick(items, { placeHolder: `Molecules on ${agent}'s hook`, matchOnDescription: true });
      }),
    ),
    reg("gastown.broadcast", () =>
      run("Broadcast failed", async () => {
        const subject = await vscode.window.showInputBox({ prompt: "Broadcast to every agent: subject", ignoreFocusOut: true, validateInput: (v) => (v.trim() ? undefined : "A message needs a subject") });
        if (!subject) return;
        const body = await vscode.window.showInputBox({ prompt: "Body (optional)", ignoreFocusOut: true });
        if (body === undefined) return;
        const rigs = ops.status?.rigs ?? [];
        let rig: string | undefined;
        if (rigs.length) {
          const pick = await vscode.window.showQuickPick([{ label: "Every rig", description: "all agents" }, ...rigs.map((r) => ({ label: r.name, description: "only this rig's agents" }))], { placeHolder: "To whom?", ignoreFocusOut: true });
          if (!pick) return;
          rig = pick.label === "Every rig" ? undefined : pick.label;
        }
        const r = await conn.request(OpsMethods.broadcast, { subject, body, ...(rig ? { rig } : {}) });
        const to = listOf(r, "messages").map((m) => String(m.to));
        info(`sent ${to.length} message(s): ${to.join(", ")}`);
      }),
    ),
    reg("gastown.escalate", () =>
      run("Escalate failed", async () => {
        const description = await vscode.window.showInputBox({ prompt: "Escalate: what is wrong?", ignoreFocusOut: true, validateInput: (v) => (v.trim() ? undefined : "Say what is wrong") });
        if (!description) return;
        const sev = await vscode.window.showQuickPick(
          [
            { label: "medium", description: "to the Deacon, forwarded up if it cannot fix it" },
            { label: "low", description: "to the Deacon" },
            { label: "high", description: "to the Deacon, urgent" },
            { label: "critical", description: "straight to the Mayor and the Overseer" },
          ],
          { placeHolder: "Severity", ignoreFocusOut: true },
        );
        if (!sev) return;
        const body = await vscode.window.showInputBox({ prompt: "Details (optional)", ignoreFocusOut: true });
        if (body === undefined) return;
        const r = await conn.request(OpsMethods.escalate, { description, severity: sev.label, body });
        info(`escalated ${isObject(r) ? r.id : ""} [${sev.label}] to ${isObject(r) ? r.holder : "?"}`);
      }),
    ),
  ];
}
