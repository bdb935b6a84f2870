// Commands: thin wrappers that gather input with quick picks / input boxes
// and call one server method each.  Failures become one-line notifications.

import * as vscode from "vscode";
import {
  attachArgv,
  describeNudge,
  toSlingCandidates,
  ConnectionError,
  describeError,
  describeSling,
  isObject,
  listOf,
  Methods,
  slingParams,
  formulaVars,
  toBead,
  toMail,
  toSlingResult,
  type Agent,
  type GastownConnection,
  type TownStore,
} from "../client";
import type { AgentNode, ConvoyNode, MailNode } from "./trees";
import { TranscriptPanel } from "./transcriptPanel";

// (Not `kind`: QuickPickItem has one, for separators.)
type SlingItem = vscode.QuickPickItem & { value: string; workKind: "bead" | "formula" };

export interface CommandContext {
  conn: GastownConnection;
  store: TownStore;
  log: (line: string) => void;
}

/** Run a command body; any error becomes one notification with a fitting action. */
async function guarded(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const msg = describeError(e);
    const actions = e instanceof ConnectionError && e.action === "retry" ? ["Retry Connection", "Show Log"] : ["Show Log"];
    const pick = await vscode.window.showErrorMessage(`Gas Town: ${what} failed: ${msg}`, ...actions);
    if (pick === "Retry Connection") void vscode.commands.executeCommand("gastown.reconnect");
    if (pick === "Show Log") void vscode.commands.executeCommand("gastown.showLog");
  }
}

function agentFrom(arg: unknown): string | undefined {
  if (typeof arg === "string") return arg;
  if (isObject(arg) && arg.kind === "agent") return (arg as AgentNode & { kind: "agent" }).agent.address;
  return undefined;
}

/** Refuse early, with a clear line, when the server lacks a method (an older gastown). */
function requireMethod(conn: GastownConnection, method: string, what: string): void {
  if (!hasMethod(conn, method)) throw new Error(`this gastown-server does not offer ${what} (${method}); update gastown`);
}

/** Whether the server offers `method` (an older server's capabilities may lack it). */
function hasMethod(conn: GastownConnection, method: string): boolean {
  const caps = conn.server?.capabilities;
  return !caps || caps.length === 0 || caps.includes(method);
}

function convoyFrom(arg: unknown): string | undefined {
  if (typeof arg === "string") return arg;
  if (isObject(arg) && arg.kind === "convoy") return (arg as ConvoyNode & { kind: "convoy" }).convoy.id;
  return undefined;
}

/** Pick one of the open convoys the sidebar shows (`landing`: say how far each is). */
async function pickConvoy(store: TownStore, placeHolder: string, landing: boolean): Promise<string | undefined> {
  const open = store.convoys.filter((c) => c.status !== "closed");
  if (open.length === 0) return vscode.window.showInputBox({ prompt: `${placeHolder} (convoy id)`, ignoreFocusOut: true });
  const items = open.map((c) => ({ label: c.id, description: `${c.title} (${c.closed}/${c.total}${landing && c.landed ? ", done" : ""})` }));
  return (await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, ignoreFocusOut: true }))?.label;
}

async function pickAgent(store: TownStore, placeHolder: string, arg?: unknown): Promise<string | undefined> {
  const given = agentFrom(arg);
  if (given) return given;
  const items = store.agents.map((a: Agent) => ({ label: a.address, description: `${a.role} · ${a.state}`, detail: a.hook ? `hook ${a.hook}` : undefined }));
  if (items.length === 0) {
    return vscode.window.showInputBox({ prompt: placeHolder, placeHolder: "mayor, <rig>/witness, <rig>/polecats/<name>", ignoreFocusOut: true });
  }
  // ignoreFocusOut, as the other pickers: the focus going back to a webview (the Mayor's panel)
  // after the command palette closed would otherwise close this pick at once.
  return (await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, ignoreFocusOut: true }))?.label;
}

async function openDocument(content: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument({ content, language: "markdown" });
  await vscode.window.showTextDocument(doc, { preview: false });
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  const { conn, store, log } = ctx;
  const reg = (id: string, fn: (...args: unknown[]) => Promise<void> | void) => vscode.commands.registerCommand(id, fn);

  return [
    reg("gastown.openMayor", () => {
      TranscriptPanel.show(conn, "mayor", log);
    }),
    reg("gastown.openTranscript", (arg) => {
      const agent = agentFrom(arg) ?? "mayor";
      TranscriptPanel.show(conn, agent, log);
    }),

    reg("gastown.attach", (arg) =>
      guarded("Attach", async () => {
        const agent = await pickAgent(store, "Attach a terminal to which agent?", arg);
        if (!agent) return;
        const r = await conn.request(Methods.agentAttachCommand, { agent });
        const argv = attachArgv(r);
        if (!argv || argv.length === 0) throw new Error("the server gave no attach command");
        const term = vscode.window.createTerminal({ name: `Gas Town: ${agent}`, shellPath: argv[0]!, shellArgs: argv.slice(1), iconPath: new vscode.ThemeIcon("terminal-tmux") });
        term.show();
      }),
    ),

    reg("gastown.sling", (arg) =>
      guarded("Sling", async () => {
        requireMethod(conn, Methods.sling, "sling");
        // From a bead row: sling that bead; from an agent row: sling to that agent.
        const givenBead = isObject(arg) && arg.kind === "bead" ? (arg as ConvoyNode & { kind: "bead" }).bead.id : undefined;
        let what = givenBead;
        let kind: "bead" | "formula" = "bead";
        if (!what) {
          const items = await slingItems(conn, vscode.workspace.getConfiguration("gastown").get<boolean>("sling.includeInternal", false));
          if (items.length) {
            let picked = await vscode.window.showQuickPick(items, { placeHolder: "Sling which bead or formula?", matchOnDescription: true, ignoreFocusOut: true });
            if (picked?.value === SHOW_INTERNAL) {
              picked = await vscode.window.showQuickPick(await slingItems(conn, true), { placeHolder: "Sling which bead or formula (internal items included)?", matchOnDescription: true, ignoreFocusOut: true });
            }
            what = picked?.value === SHOW_INTERNAL ? undefined : picked?.value;
            kind = picked?.workKind ?? "bead";
          } else {
            what = await vscode.window.showInputBox({ prompt: "Bead id to sling", ignoreFocusOut: true });
          }
        }
        if (!what) return;
        const given = agentFrom(arg);
        const rigs = store.status?.rigs ?? [];
        const targets = [
          ...rigs.map((r) => ({ label: r, description: "rig (spawns a polecat)" })),
          ...store.agents.map((a) => ({ label: a.address, description: `${a.role} · ${a.state}` })),
        ];
        const target =
          given ??
          (targets.length
            ? (await vscode.window.showQuickPick(targets, { placeHolder: `Sling ${what} to? (a rig spawns a polecat)`, ignoreFocusOut: true }))?.label
            : await vscode.window.showInputBox({ prompt: `Sling ${what} to (rig or agent address)`, ignoreFocusOut: true }));
        if (!target) return;
        let vars: Record<string, string> | undefined;
        if (kind === "formula") {
          vars = await askFormulaVars(conn, what);
          if (!vars) return;
        }
        const r = toSlingResult(await conn.request(Methods.sling, slingParams(what, kind, target, vars)), what, target);
        log(`[sling] ${JSON.stringify(r)}`);
        void vscode.window.showInformationMessage(`Gas Town: ${describeSling(r)}.`);
      }),
    ),

    reg("gastown.nudge", (arg) =>
      guarded("Nudge", async () => {
        const agent = await pickAgent(store, "Nudge which agent?", arg);
        if (!agent) return;
        const message = await vscode.window.showInputBox({ prompt: `Message typed into ${agent}'s session` });
        if (!message) return;
        // Always say what happened: delivered, queued because the pane is busy, or failed and why.
        const r = describeNudge(await conn.request(Methods.nudge, { agent, message }), agent);
        if (r.ok) void vscode.window.showInformationMessage(`Gas Town: ${r.text}.`);
        else void vscode.window.showErrorMessage(`Gas Town: ${r.text}.`);
      }),
    ),

    reg("gastown.handoff", (arg) =>
      guarded("Hand off", async () => {
        requireMethod(conn, Methods.handoff, "hand-off");
        const agent = await pickAgent(store, "Hand off which agent (a fresh session takes its hook)?", arg);
        if (!agent) return;
        const ok = await vscode.window.showWarningMessage(`End ${agent}'s session and start a fresh one on its hook?`, { modal: true }, "Hand Off");
        if (ok !== "Hand Off") return;
        const message = await vscode.window.showInputBox({ prompt: `Handoff note for ${agent}'s next session (optional)` });
        if (message === undefined) return;
        await conn.request(Methods.handoff, { agent, message });
        void vscode.window.showInformationMessage(`Gas Town: ${agent} handed off.`);
      }),
    ),

    reg("gastown.seance", (arg) =>
      guarded("Seance", async () => {
        requireMethod(conn, Methods.seanceTalk, "seance");
        const agent = await pickAgent(store, "Ask a predecessor of which agent?", arg);
        if (!agent) return;
        const sessions = listOf(await conn.request(Methods.seanceList, { agent }), "sessions");
        if (sessions.length === 0) {
          void vscode.window.showInformationMessage(`Gas Town: ${agent} has no predecessor sessions.`);
          return;
        }
        const picked = await vscode.window.showQuickPick(
          sessions.map((s) => {
            const id = String(s.session_id ?? s.id ?? "?");
            return { label: id, description: `${String(s.at ?? "")}${s.current ? " (current)" : ""}`, detail: [s.runtime, s.session].filter(Boolean).join(" · ") || undefined, id };
          }),
          { placeHolder: "Which predecessor session?" },
        );
        if (!picked) return;
        const question = await vscode.window.showInputBox({ prompt: `Question for ${agent}'s session ${picked.id}` });
        if (!question) return;
        const progressToken = `seance-${Date.now()}`;
        const answer = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Asking ${agent}'s predecessor...`, cancellable: true },
          async (progress, token) => {
            // The server reports $/progress for this token while the predecessor thinks.
            const sub = conn.onNotification("$/progress", (p) => {
              if (isObject(p) && p.token === progressToken && isObject(p.value) && typeof p.value.message === "string") progress.report({ message: p.value.message });
            });
            try {
              return await conn.request(Methods.seanceTalk, { session_id: picked.id, question, progress_token: progressToken }, token);
            } finally {
              sub.dispose();
            }
          },
        );
        const text = isObject(answer) ? String(answer.answer ?? JSON.stringify(answer, null, 2)) : String(answer);
        const source = isObject(answer) && typeof answer.source === "string" ? ` (answered from the ${answer.source === "resume" ? "resumed session" : "session's transcript"})` : "";
        await openDocument(`# Seance: ${agent}, session ${picked.id}${source}\n\n**Q:** ${question}\n\n${text}\n`);
      }),
    ),

    reg("gastown.bead.show", (arg) =>
      guarded("Show bead", async () => {
        const id = typeof arg === "string" ? arg : isObject(arg) && arg.kind === "bead" ? (arg as ConvoyNode & { kind: "bead" }).bead.id : await vscode.window.showInputBox({ prompt: "Bead id" });
        if (!id) return;
        const b = await conn.request(Methods.beadShow, { id });
        if (!isObject(b)) throw new Error(`no bead ${id}`);
        const field = (k: string) => (typeof b[k] === "string" && b[k] ? String(b[k]) : typeof b[k] === "number" ? String(b[k]) : "");
        const meta = ["status", "issue_type", "priority", "assignee", "owner", "created_by", "created_at", "updated_at", "closed_at", "close_reason"]
          .filter((k) => field(k))
          .map((k) => `- ${k.replace(/_/g, " ")}: ${field(k)}`);
        const deps = Array.isArray(b.dependencies) ? b.dependencies.filter(isObject).map((d) => `- ${String(d.type)} ${String(d.depends_on_id)}`) : [];
        const sections = ["description", "design", "acceptance_criteria", "notes"].filter((k) => field(k)).map((k) => `## ${k.replace(/_/g, " ")}\n\n${field(k)}`);
        await openDocument([`# ${field("title")} (${id})`, meta.join("\n"), ...sections, deps.length ? `## dependencies\n\n${deps.join("\n")}` : ""].filter(Boolean).join("\n\n") + "\n");
      }),
    ),

    reg("gastown.mail.read", (arg) =>
      guarded("Read mail", async () => {
        let id = typeof arg === "string" ? arg : isObject(arg) && arg.kind === "mail" ? (arg as MailNode & { kind: "mail" }).mail.id : undefined;
        if (!id) {
          id = (await vscode.window.showQuickPick(store.inbox.map((m) => ({ label: m.subject, description: m.from, id: m.id })), { placeHolder: "Read which message?" }))?.id;
        }
        if (!id) return;
        const m = toMail(await conn.request(Methods.mailRead, { id }));
        // Reading marks it read: update the inbox (and its badge) now rather than on the next push.
        store.refresh("mail", undefined);
        await openDocument(`# ${m.subject}\n\n- From: ${m.from}\n- To: ${m.to}\n- Date: ${m.createdAt ?? ""}\n- Id: ${m.id}\n\n${m.body}\n`);
      }),
    ),

    reg("gastown.mail.pickInbox", (arg) =>
      guarded("Pick inbox", async () => {
        let address = typeof arg === "string" ? arg : undefined;
        if (address === undefined) {
          const known = [...new Set(["overseer", "mayor/", "deacon/", ...store.agents.map((a) => a.address)])];
          const qp = vscode.window.createQuickPick();
          qp.items = known.map((label) => ({ label, description: label === (store.inboxAddress ?? "overseer") ? "shown now" : undefined }));
          qp.placeholder = "Show whose inbox? (an address; type any)";
          address = await new Promise<string | undefined>((resolve) => {
            qp.onDidAccept(() => {
              resolve(qp.selectedItems[0]?.label ?? (qp.value || undefined));
              qp.hide();
            });
            qp.onDidHide(() => resolve(undefined));
            qp.show();
          });
          qp.dispose();
        }
        if (!address) return;
        await store.setInbox(address === "overseer" ? undefined : address);
        if (store.errors.get("mail")) throw new Error(store.errors.get("mail"));
      }),
    ),

    reg("gastown.mail.reply", (arg) =>
      guarded("Reply", async () => {
        let mail = isObject(arg) && arg.kind === "mail" ? (arg as MailNode & { kind: "mail" }).mail : store.inbox.find((m) => m.id === arg);
        if (!mail) {
          const id = (await vscode.window.showQuickPick(store.inbox.map((m) => ({ label: m.subject, description: m.from, id: m.id })), { placeHolder: "Reply to which message?" }))?.id;
          mail = store.inbox.find((m) => m.id === id);
        }
        if (!mail) return;
        const body = await vscode.window.showInputBox({ prompt: `Reply to ${mail.from}: Re: ${mail.subject}` });
        if (!body) return;
        await conn.request(Methods.mailReply, { id: mail.id, body });
        store.refresh("mail", undefined);
        void vscode.window.setStatusBarMessage(`Gas Town: replied to ${mail.from}`, 3000);
      }),
    ),

    reg("gastown.mail.compose", () =>
      guarded("Send mail", async () => {
        const addresses = [...new Set(["mayor/", "deacon/", "overseer", ...store.agents.map((a) => a.address)])].map((label) => ({ label }));
        const qp = vscode.window.createQuickPick();
        qp.items = addresses;
        qp.placeholder = "To (an address; type a new one freely)";
        const to = await new Promise<string | undefined>((resolve) => {
          qp.onDidAccept(() => {
            resolve(qp.selectedItems[0]?.label ?? (qp.value || undefined));
            qp.hide();
          });
          qp.onDidHide(() => resolve(undefined));
          qp.show();
        });
        qp.dispose();
        if (!to) return;
        const subject = await vscode.window.showInputBox({ prompt: `Subject (to ${to})` });
        if (!subject) return;
        const body = await vscode.window.showInputBox({ prompt: "Message" });
        if (body === undefined) return;
        await conn.request(Methods.mailSend, { to, subject, body });
        void vscode.window.setStatusBarMessage(`Gas Town: mail sent to ${to}`, 3000);
      }),
    ),

    reg("gastown.convoy.create", () =>
      guarded("Create convoy", async () => {
        const title = await vscode.window.showInputBox({ prompt: "Convoy title" });
        if (!title) return;
        const beads = await conn.request(Methods.beadList, { status: "open" }).then((r) => listOf(r, "beads").map(toBead).filter((b) => b.issueType !== "convoy"), () => []);
        const picked = beads.length
          ? await vscode.window.showQuickPick(beads.map((b) => ({ label: b.id, description: b.title })), { canPickMany: true, placeHolder: "Beads the convoy tracks" })
          : undefined;
        const ids = picked ? picked.map((p) => p.label) : ((await vscode.window.showInputBox({ prompt: "Bead ids to track (space separated)" })) ?? "").split(/\s+/).filter(Boolean);
        const r = await conn.request(Methods.convoyCreate, { title, tracked: ids });
        const id = isObject(r) && typeof r.id === "string" ? r.id : isObject(r) && isObject(r.convoy) ? String(r.convoy.id) : "";
        void vscode.window.showInformationMessage(`Gas Town: convoy ${id} created, tracking ${ids.length} bead(s).`);
      }),
    ),

    reg("gastown.convoy.add", (arg) =>
      guarded("Add to convoy", async () => {
        requireMethod(conn, Methods.convoyAdd, "adding beads to a convoy");
        const id = convoyFrom(arg) ?? (await pickConvoy(store, "Add beads to which convoy?", false));
        if (!id) return;
        const already = new Set(store.tracked(id).map((b) => b.id));
        const beads = await conn.request(Methods.beadList, { status: "open" }).then(
          (r) => listOf(r, "beads").map(toBead).filter((b) => b.issueType !== "convoy" && !already.has(b.id) && b.id !== id),
          () => [],
        );
        const picked = beads.length
          ? await vscode.window.showQuickPick(beads.map((b) => ({ label: b.id, description: b.title, detail: b.status })), { canPickMany: true, placeHolder: `Beads ${id} should track`, matchOnDescription: true, ignoreFocusOut: true })
          : undefined;
        const ids = picked ? picked.map((p) => p.label) : ((await vscode.window.showInputBox({ prompt: `Bead ids ${id} should track (space separated)`, ignoreFocusOut: true })) ?? "").split(/\s+/).filter(Boolean);
        if (ids.length === 0) return;
        await conn.request(Methods.convoyAdd, { id, tracked: ids });
        void vscode.window.setStatusBarMessage(`Gas Town: ${id} now tracks ${ids.join(", ")}`, 5000);
      }),
    ),

    reg("gastown.convoy.land", (arg) =>
      guarded("Land convoy", async () => {
        const id = convoyFrom(arg) ?? (await pickConvoy(store, "Land which convoy?", true));
        if (!id) return;
        const convoy = store.convoys.find((c) => c.id === id);
        let force = false;
        if (convoy && convoy.closed < convoy.total) {
          const ok = await vscode.window.showWarningMessage(`${convoy.total - convoy.closed} tracked bead(s) are still open. Land ${id} anyway?`, { modal: true }, "Land");
          if (ok !== "Land") return;
          force = true;
        }
        if (hasMethod(conn, Methods.convoyLand)) {
          // The server closes the convoy and mails CONVOY_LANDED to the Overseer and the Mayor.
          await conn.request(Methods.convoyLand, { id, force });
        } else {
          // An older server without convoy/land: closing the convoy bead is what landing was.
          await conn.request(Methods.beadClose, { id, reason: "landed" });
        }
        void vscode.window.showInformationMessage(`Gas Town: convoy ${id} landed.`);
      }),
    ),
  ];
}

/** The "Show internal items..." entry of the sling picker. */
const SHOW_INTERNAL = "\u0000show-internal";

/** The sling picker's items from sling/candidates (real work first), or the old two lists on an older server. */
async function slingItems(conn: GastownConnection, includeInternal: boolean): Promise<SlingItem[]> {
  if (hasMethod(conn, Methods.slingCandidates)) {
    // A convoy is not work to sling (the server's list includes open convoy beads).
    const cands = toSlingCandidates(await conn.request(Methods.slingCandidates, { include_internal: includeInternal })).filter((c) => c.issueType !== "convoy");
    const items = cands.map((c): SlingItem => ({
      label: `${c.kind === "formula" ? "$(symbol-event)" : "$(circle-large-outline)"} ${c.id}`,
      description: c.title,
      detail: [c.kind === "formula" ? "formula" : `bead · ${c.status}${c.priority !== undefined ? ` · P${c.priority}` : ""}`, c.internal ? "internal" : "", c.why].filter(Boolean).join(" · "),
      value: c.id,
      workKind: c.kind,
    }));
    if (!includeInternal) items.push({ label: "$(eye) Show internal items...", description: "molecule steps and patrol formulas", value: SHOW_INTERNAL, workKind: "bead", alwaysShow: true });
    return items;
  }
  const [beads, formulas] = await Promise.all([
    conn.request(Methods.beadReady, {}).then((r) => listOf(r, "beads").map(toBead).filter((b) => b.issueType !== "convoy"), () => []),
    conn.request(Methods.formulaList, {}).then((r) => listOf(r, "formulas"), () => []),
  ]);
  return [
    ...beads.map((b): SlingItem => ({ label: `$(circle-large-outline) ${b.id}`, description: b.title, detail: `bead · ${b.status}`, value: b.id, workKind: "bead" })),
    ...formulas.map((f): SlingItem => {
      const name = typeof f.name === "string" ? f.name : typeof f.formula === "string" ? f.formula : "?";
      return { label: `$(symbol-event) ${name}`, description: typeof f.description === "string" ? f.description : "", detail: "formula", value: name, workKind: "formula" };
    }),
  ];
}

/** Ask for each variable the formula declares (prefilled with its default); undefined if cancelled. */
async function askFormulaVars(conn: GastownConnection, formula: string): Promise<Record<string, string> | undefined> {
  const declared = formulaVars(await conn.request(Methods.formulaShow, { name: formula }).catch(() => ({})));
  const vars: Record<string, string> = {};
  for (const v of declared) {
    const value = await vscode.window.showInputBox({
      title: `Sling ${formula}: ${v.name}${v.required ? " (required)" : ""}`,
      prompt: v.description || `value of {{${v.name}}}`,
      value: v.defaultValue ?? "",
      ignoreFocusOut: true,
      validateInput: (text) => (v.required && !text.trim() ? `${v.name} is required` : undefined),
    });
    if (value === undefined) return undefined;
    if (value !== (v.defaultValue ?? "")) vars[v.name] = value;
  }
  return vars;
}
