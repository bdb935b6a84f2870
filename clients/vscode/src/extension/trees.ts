// The three sidebar views, each one TreeDataProvider over the TownStore.
// They never fetch: the store changes on server pushes and they re-render.
// While disconnected they return no children, so VS Code shows the view's
// welcome content (a message and buttons) instead of a broken tree.

import * as vscode from "vscode";
import type { Agent, Bead, Convoy, Mail, Part, TownStore } from "../client";
import { agentStateLabel, formatUsd } from "../client";
import type { Metrics } from "./metrics";

abstract class StoreTree<T> implements vscode.TreeDataProvider<T> {
  protected readonly emitter = new vscode.EventEmitter<T | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private pendingPush: number | undefined;
  private readonly sub: vscode.Disposable;

  constructor(
    protected readonly store: TownStore,
    protected readonly connected: () => boolean,
    private readonly parts: Part[],
    private readonly viewName: string,
    private readonly metrics: Metrics,
  ) {
    this.sub = store.onDidChange((c) => {
      if (!this.parts.includes(c.part)) return;
      if (c.pushedAt !== undefined && this.pendingPush === undefined) this.pendingPush = c.pushedAt;
      this.emitter.fire(undefined);
    });
  }

  /** Re-render (after the connection state changed). */
  refresh(): void {
    this.emitter.fire(undefined);
  }

  getChildren(element?: T): T[] {
    if (!this.connected()) return [];
    const children = this.children(element);
    if (element === undefined && this.pendingPush !== undefined) {
      const ms = performance.now() - this.pendingPush;
      this.pendingPush = undefined;
      this.metrics.record(`refresh.${this.viewName}`, ms);
    }
    return children;
  }

  abstract children(element?: T): T[];
  abstract getTreeItem(element: T): vscode.TreeItem;

  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}

// ---- convoys ---------------------------------------------------------------

export type ConvoyNode = { kind: "convoy"; convoy: Convoy } | { kind: "landed-group" } | { kind: "bead"; bead: Bead; convoyId: string } | { kind: "error"; message: string };

const STATUS_ICONS: Record<string, [string, string | undefined]> = {
  open: ["circle-large-outline", undefined],
  in_progress: ["play-circle", "charts.blue"],
  hooked: ["pinned", "charts.purple"],
  blocked: ["error", "charts.red"],
  deferred: ["clock", undefined],
  pinned: ["pinned", undefined],
  closed: ["pass-filled", "testing.iconPassed"],
  tombstone: ["trash", undefined],
};

function statusIcon(status: string): vscode.ThemeIcon {
  const [icon, color] = STATUS_ICONS[status] ?? ["circle-large-outline", undefined];
  return new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
}

/**
 * Open convoys shown expanded when the view first draws them; the rest start collapsed (their
 * progress is in the description). Every expanded convoy's beads cross from the extension host
 * at first render: all 50 convoys of a 2,000-bead town expanded sent 2,000 items (about 1 MB)
 * to draw the few rows on screen, and the Agents view's answer queued behind them
 * (docs/benchmarks.md, first render). VS Code keeps a user's own expand/collapse per convoy.
 */
export const CONVOYS_EXPANDED_AT_FIRST = 3;

export class ConvoysTree extends StoreTree<ConvoyNode> {
  constructor(store: TownStore, connected: () => boolean, metrics: Metrics) {
    super(store, connected, ["convoys", "landed"], "convoys", metrics);
  }

  private startsExpanded(id: string): boolean {
    let i = 0;
    for (const c of this.store.convoys) {
      if (c.status === "closed") continue;
      if (c.id === id) return true;
      if (++i >= CONVOYS_EXPANDED_AT_FIRST) return false;
    }
    return false;
  }

  children(element?: ConvoyNode): ConvoyNode[] {
    if (!element) {
      const err = this.store.errors.get("convoys");
      if (err && this.store.convoys.length === 0) return [{ kind: "error", message: err }];
      // Open convoys, then the recently landed ones in their own section (so that right after
      // the first convoy lands the view is not just "No convoys yet").
      const nodes: ConvoyNode[] = this.store.convoys.filter((c) => c.status !== "closed").map((convoy) => ({ kind: "convoy", convoy }));
      if (this.store.landed.length) nodes.push({ kind: "landed-group" });
      return nodes;
    }
    if (element.kind === "landed-group") return this.store.landed.map((convoy) => ({ kind: "convoy", convoy }));
    if (element.kind === "convoy") {
      if (element.convoy.status === "closed") return [];
      return this.store.tracked(element.convoy.id).map((bead) => ({ kind: "bead", bead, convoyId: element.convoy.id }));
    }
    return [];
  }

  getTreeItem(node: ConvoyNode): vscode.TreeItem {
    if (node.kind === "error") return errorItem("convoys", node.message);
    if (node.kind === "landed-group") {
      const n = this.store.landed.length;
      // Collapsed while there is open work to look at; open when it is all there is.
      const open = this.store.convoys.some((c) => c.status !== "closed");
      const item = new vscode.TreeItem("Recently landed", open ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded);
      item.id = "landed-group";
      item.description = `${n}`;
      item.iconPath = new vscode.ThemeIcon("history");
      item.contextValue = "landed-group";
      item.accessibilityInformation = { label: `Recently landed, ${n} convoy${n === 1 ? "" : "s"}` };
      return item;
    }
    if (node.kind === "convoy") {
      const c = node.convoy;
      // "landed": the convoy bead is closed; "done": every tracked bead is, and it waits to be landed.
      const landed = c.status === "closed";
      const done = !landed && c.landed;
      const item = new vscode.TreeItem(c.title || c.id, landed ? vscode.TreeItemCollapsibleState.None : this.startsExpanded(c.id) ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `convoy:${landed ? "landed:" : ""}${c.id}`;
      const when = landed && c.closedAt ? ` ${c.closedAt.slice(0, 16).replace("T", " ")}` : "";
      item.description = `${c.closed}/${c.total}${landed ? ` landed${when}` : done ? " done" : ""} · ${c.id}`;
      item.iconPath = landed ? statusIcon("closed") : new vscode.ThemeIcon(done ? "check-all" : "package", done ? new vscode.ThemeColor("testing.iconPassed") : c.closed > 0 ? new vscode.ThemeColor("charts.blue") : undefined);
      item.contextValue = landed ? "convoy-landed" : "convoy";
      item.tooltip = new vscode.MarkdownString(`**${c.title}** (\`${c.id}\`)\n\n${c.closed} of ${c.total} tracked beads closed`);
      item.accessibilityInformation = { label: `convoy ${c.id} ${c.title}, ${c.closed} of ${c.total} closed${landed ? ", landed" : ""}` };
      return item;
    }
    const b = node.bead;
    const item = new vscode.TreeItem(`${b.id} ${b.title}`, vscode.TreeItemCollapsibleState.None);
    item.id = `bead:${node.convoyId}:${b.id}`;
    item.description = b.assignee ? `${b.status} · ${b.assignee}` : b.status;
    item.iconPath = statusIcon(b.status);
    item.contextValue = "bead";
    item.command = { command: "gastown.bead.show", title: "Show Bead", arguments: [b.id] };
    item.tooltip = `${b.id} (${b.issueType}, P${b.priority ?? 2})\n${b.title}\nstatus: ${b.status}${b.assignee ? `\nassignee: ${b.assignee}` : ""}`;
    item.accessibilityInformation = { label: `bead ${b.id} ${b.title}, ${b.status}` };
    return item;
  }
}

// ---- agents ----------------------------------------------------------------

export type AgentNode = { kind: "group"; key: string; label: string; icon: string; agents: Agent[]; level: "town" | "rig" | "role" } | { kind: "agent"; agent: Agent } | { kind: "error"; message: string };

function errorItem(what: string, message: string): vscode.TreeItem {
  const item = new vscode.TreeItem(`Could not load ${what}: ${message}`);
  item.iconPath = new vscode.ThemeIcon("warning");
  item.tooltip = `${message}\n\nClick to show the Gas Town log.`;
  item.command = { command: "gastown.showLog", title: "Show Log" };
  return item;
}

const ROLE_ORDER = ["mayor", "deacon", "boot", "dog", "witness", "refinery", "crew", "polecat"];

function roleRank(role: string): number {
  const i = ROLE_ORDER.indexOf(role);
  return i < 0 ? ROLE_ORDER.length : i;
}

function agentIcon(a: Agent): vscode.ThemeIcon {
  const s = a.state.toLowerCase();
  if (["stuck", "error", "failed", "dead", "crashed"].includes(s)) return new vscode.ThemeIcon("warning", new vscode.ThemeColor("charts.red"));
  if (!a.running) return new vscode.ThemeIcon("circle-large-outline", new vscode.ThemeColor("disabledForeground"));
  if (["idle", "waiting"].includes(s)) return new vscode.ThemeIcon("circle-filled", new vscode.ThemeColor("charts.yellow"));
  return new vscode.ThemeIcon("vm-running", new vscode.ThemeColor("testing.iconPassed"));
}

export class AgentsTree extends StoreTree<AgentNode> {
  constructor(store: TownStore, connected: () => boolean, metrics: Metrics) {
    super(store, connected, ["agents"], "agents", metrics);
  }

  children(element?: AgentNode): AgentNode[] {
    if (!element) {
      const err = this.store.errors.get("agents");
      if (err && this.store.agents.length === 0) return [{ kind: "error", message: err }];
      const agents = this.store.agents;
      const town = agents.filter((a) => !a.rig);
      const rigs = [...new Set(agents.filter((a) => a.rig).map((a) => a.rig!))].sort();
      const nodes: AgentNode[] = [];
      const townName = this.store.status?.name || "Town";
      if (town.length) nodes.push({ kind: "group", key: "town", label: townName, icon: "home", agents: town, level: "town" });
      for (const rig of rigs) nodes.push({ kind: "group", key: `rig:${rig}`, label: rig, icon: "repo", agents: agents.filter((a) => a.rig === rig), level: "rig" });
      return nodes;
    }
    if (element.kind !== "group") return [];
    const sorted = [...element.agents].sort((a, b) => roleRank(a.role) - roleRank(b.role) || a.name.localeCompare(b.name));
    if (element.level === "rig") {
      // Singletons (witness, refinery) sit directly under the rig; pools get a role group.
      const out: AgentNode[] = [];
      const pools = new Map<string, Agent[]>();
      for (const a of sorted) {
        if (a.role === "polecat" || a.role === "crew") pools.set(a.role, [...(pools.get(a.role) ?? []), a]);
        else out.push({ kind: "agent", agent: a });
      }
      for (const [role, list] of pools) {
        out.push({ kind: "group", key: `${element.key}:${role}`, label: role === "polecat" ? "polecats" : role, icon: role === "polecat" ? "organization" : "person", agents: list, level: "role" });
      }
      return out;
    }
    return sorted.map((agent) => ({ kind: "agent", agent }));
  }

  getTreeItem(node: AgentNode): vscode.TreeItem {
    if (node.kind === "error") return errorItem("agents", node.message);
    if (node.kind === "group") {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `group:${node.key}`;
      const running = node.agents.filter((a) => a.running).length;
      item.description = `${running}/${node.agents.length} running`;
      item.iconPath = new vscode.ThemeIcon(node.icon);
      item.contextValue = "agent-group";
      item.accessibilityInformation = { label: `${node.level} ${node.label}, ${running} of ${node.agents.length} running` };
      return item;
    }
    const a = node.agent;
    const item = new vscode.TreeItem(a.rig ? a.name : a.address, vscode.TreeItemCollapsibleState.None);
    item.id = `agent:${a.address}`;
    const state = agentStateLabel(a);
    const cost = a.costUsd !== undefined ? ` · ${formatUsd(a.costUsd)}` : "";
    const unboxed = a.sandbox === "OFF" ? " · unsandboxed" : "";
    item.description = (a.hook ? `${state} · hook ${a.hook}` : state) + cost + unboxed;
    item.iconPath = agentIcon(a);
    item.contextValue = "agent";
    item.tooltip = new vscode.MarkdownString(
      [`**${a.address}** (${a.role})`, `state: ${a.state}`, a.session ? `session: \`${a.session}\`` : "", a.hook ? `hook: \`${a.hook}\`${a.hookTitle ? ` ${a.hookTitle}` : ""}` : "hook: empty", a.lastActivity ? `last activity: ${a.lastActivity}` : "", a.sandbox ? `sandbox: ${a.sandbox}` : "", a.costUsd !== undefined ? `cost: ${formatUsd(a.costUsd)} (gt costs)` : ""]
        .filter(Boolean)
        .join("\n\n"),
    );
    item.command = { command: "gastown.openTranscript", title: "Open Transcript", arguments: [a.address] };
    item.accessibilityInformation = { label: `agent ${a.address}, ${state}${a.hook ? `, hook ${a.hook}` : ""}` };
    return item;
  }
}

// ---- mail ------------------------------------------------------------------

export type MailNode = { kind: "mail"; mail: Mail } | { kind: "error"; message: string };

export class MailTree extends StoreTree<MailNode> {
  /** The view's description: whose inbox it shows. */
  get address(): string {
    return this.store.inboxAddress ?? "overseer";
  }

  constructor(store: TownStore, connected: () => boolean, metrics: Metrics) {
    super(store, connected, ["mail"], "mail", metrics);
  }

  children(element?: MailNode): MailNode[] {
    if (element) return [];
    const err = this.store.errors.get("mail");
    if (err && this.store.inbox.length === 0) return [{ kind: "error", message: err }];
    return this.store.inbox.map((mail) => ({ kind: "mail", mail }));
  }

  getTreeItem(node: MailNode): vscode.TreeItem {
    if (node.kind === "error") return errorItem("mail", node.message);
    const m = node.mail;
    const item = new vscode.TreeItem(m.subject, vscode.TreeItemCollapsibleState.None);
    item.id = `mail:${m.id}`;
    item.description = `${m.from}${m.read ? "" : " · unread"}`;
    item.iconPath = new vscode.ThemeIcon(m.read ? "mail-read" : "mail", m.read ? undefined : new vscode.ThemeColor("charts.blue"));
    item.contextValue = "mail";
    item.tooltip = `${m.subject}\nfrom ${m.from}${m.createdAt ? `\n${m.createdAt}` : ""}`;
    item.command = { command: "gastown.mail.read", title: "Read", arguments: [m.id] };
    item.accessibilityInformation = { label: `mail from ${m.from}: ${m.subject}${m.read ? "" : ", unread"}` };
    return item;
  }
}
