// Gas Town for VS Code: a sidebar (convoys, agents, mail), the Mayor's live
// transcript, and commands, all over one gastown-server connection.

const moduleLoadedAt = performance.now();

import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { ConnectionError, GastownConnection, TownStore, type ConnectionOptions, type ConnectionState } from "../client";
import { registerCommands } from "./commands";
import { registerFeed } from "./feedView";
import { Metrics } from "./metrics";
import { activateOps } from "./ops";
import { AgentsTree, ConvoysTree, MailTree } from "./trees";
import { registerBeads } from "./beadsView";

let conn: GastownConnection | undefined;

function findTown(configured: string): string | undefined {
  if (configured) return configured.replace(/^~(?=$|\/)/, process.env.HOME ?? "~");
  if (process.env.GT_TOWN) return process.env.GT_TOWN;
  const folders = vscode.workspace.workspaceFolders ?? [];
  for (const f of folders) {
    let dir = f.uri.fsPath;
    // The workspace may be a rig clone or worktree below the town root.
    for (;;) {
      if (fs.existsSync(path.join(dir, ".gastown", "ledger.db"))) return dir;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return undefined;
}

function options(log: (line: string) => void): ConnectionOptions {
  const cfg = vscode.workspace.getConfiguration("gastown");
  const town = findTown(cfg.get<string>("town", ""));
  return {
    serverPath: cfg.get<string>("serverPath", "gastown-server"),
    serverArgs: cfg.get<string[]>("serverArgs", []),
    ...(town ? { town } : {}),
    cwd: town ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd(),
    log,
    trace: cfg.get<boolean>("trace", true),
    clientName: `vscode ${vscode.version}`,
  };
}

export function activate(context: vscode.ExtensionContext): void {
  const activateStart = performance.now();
  const output = vscode.window.createOutputChannel("Gas Town");
  const log = (line: string) => output.appendLine(`${new Date().toISOString().slice(11, 23)} ${line}`);
  const metrics = new Metrics(log);

  conn = new GastownConnection(options(log));
  const store = new TownStore(conn, log);
  const connected = () => conn?.state === "connected";

  const convoys = new ConvoysTree(store, connected, metrics);
  const agents = new AgentsTree(store, connected, metrics);
  const mail = new MailTree(store, connected, metrics);
  const convoyView = vscode.window.createTreeView("gastown.convoys", { treeDataProvider: convoys, showCollapseAll: true });
  const agentView = vscode.window.createTreeView("gastown.agents", { treeDataProvider: agents, showCollapseAll: true });
  const mailView = vscode.window.createTreeView("gastown.mail", { treeDataProvider: mail });
  mailView.description = mail.address;

  const status = vscode.window.createStatusBarItem("gastown.status", vscode.StatusBarAlignment.Left, 50);
  status.name = "Gas Town";

  const renderStatus = () => {
    const state = conn?.state ?? "stopped";
    if (state !== "connected") {
      status.text = state === "connecting" ? "$(sync~spin) Gas Town" : "$(debug-disconnect) Gas Town: offline";
      status.tooltip = conn?.lastError?.message ?? "Not connected to gastown-server. Click to retry.";
      status.command = "gastown.reconnect";
      status.backgroundColor = state === "connecting" ? undefined : new vscode.ThemeColor("statusBarItem.warningBackground");
    } else {
      const s = store.status;
      const town = s?.name || conn?.server?.town.name || "town";
      status.text = `$(organization) ${town}: ${store.runningAgents}/${store.agents.length} agents`;
      const lines = [`Gas Town ${town} (${s?.root || conn?.server?.town.root || ""})`, `${store.runningAgents} of ${store.agents.length} agents running`];
      if (s?.tmuxSocket) lines.push(`tmux -L ${s.tmuxSocket} (${s.tmuxRunning ? `${s.sessionCount} sessions` : "not running"})`);
      if (s?.rigs.length) lines.push(`rigs: ${s.rigs.join(", ")}`);
      if (store.unread) lines.push(`${store.unread} unread mail`);
      lines.push("Click to open the Mayor");
      status.tooltip = lines.join("\n");
      status.command = "gastown.openMayor";
      status.backgroundColor = undefined;
    }
    status.show();
  };

  const renderBadge = () => {
    const n = store.unread;
    mailView.badge = n > 0 ? { value: n, tooltip: `${n} unread message${n === 1 ? "" : "s"}` } : undefined;
  };

  let firstData = true;
  let notifiedError = false;
  context.subscriptions.push(
    output,
    conn,
    store,
    convoys,
    agents,
    mail,
    convoyView,
    agentView,
    mailView,
    status,
    conn.onDidChangeState((s: ConnectionState) => {
      void vscode.commands.executeCommand("setContext", "gastown.state", s === "stopped" ? "disconnected" : s === "idle" ? "connecting" : s);
      if (s === "connected") {
        // After an outage the user was told about: say it is over (the views refill by themselves).
        if (notifiedError) void vscode.window.showInformationMessage(`Gas Town: reconnected to gastown-server (${conn?.server?.town.name || conn?.server?.town.root || "town"}).`);
        notifiedError = false;
      }
      convoys.refresh();
      agents.refresh();
      mail.refresh();
      renderStatus();
    }),
    conn.onError((err: ConnectionError) => {
      // One notification per outage, not one per reconnect attempt.
      if (notifiedError) return;
      notifiedError = true;
      const actions = err.action === "openSettings" ? ["Open Settings", "Retry"] : ["Retry", "Show Log"];
      void vscode.window.showErrorMessage(`Gas Town: ${err.message}`, ...actions).then((a) => {
        if (a === "Open Settings") void vscode.commands.executeCommand("gastown.openSettings");
        if (a === "Retry") void vscode.commands.executeCommand("gastown.reconnect");
        if (a === "Show Log") output.show(true);
      });
    }),
    store.onDidChange((c) => {
      if (c.part === "mail") {
        renderBadge();
        mailView.description = mail.address;
      }
      if (c.part === "agents" || c.part === "status" || c.part === "mail") renderStatus();
      if (firstData && store.loaded) {
        firstData = false;
        metrics.record("activation.firstData", performance.now() - moduleLoadedAt);
      }
    }),
    vscode.commands.registerCommand("gastown.reconnect", () => {
      notifiedError = false;
      conn!.configure(options(log));
      store.reset();
      void conn!.start().catch(() => undefined); // onError has told the user
    }),
    vscode.commands.registerCommand("gastown.openSettings", () => vscode.commands.executeCommand("workbench.action.openSettings", "gastown")),
    vscode.commands.registerCommand("gastown.showLog", () => output.show(true)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("gastown")) void vscode.commands.executeCommand("gastown.reconnect");
    }),
    ...registerCommands({ conn, store, log }),
    ...registerFeed(conn, store, metrics, log),
    ...activateOps(conn, store, log, metrics),
    ...registerBeads({ conn, store, log, metrics, connected }),
  );

  void vscode.commands.executeCommand("setContext", "gastown.state", "connecting");
  renderStatus();
  void conn.start().catch(() => undefined); // failures reach the user through onError
  metrics.record("activation", performance.now() - activateStart);
  metrics.record("activation.sinceLoad", performance.now() - moduleLoadedAt);
}

export function deactivate(): void {
  conn?.stop();
  conn = undefined;
}
