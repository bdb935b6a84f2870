// The Beads view (collapsed at first, like Feed): every bead of the town (not only convoys'), a page at a
// time, with search, filter presets, sort modes and a show-closed toggle in
// the view's title bar; each bead expands into its dependency tree
// (blockers / dependents, lazily fetched); multi-select for bulk status,
// priority, assignee and label changes (confirmed, all or nothing); create
// and edit in place with quick inputs; the dependency graph in a webview.
// It refreshes from the server's feed events, never by polling.

import * as vscode from "vscode";
import {
  addDependency,
  BeadList,
  BeadMethods,
  bulkUpdate,
  DEP_TYPES,
  directEdges,
  describeError,
  describeQuery,
  fetchDeps,
  listOf,
  Methods,
  PRESETS,
  removeDependency,
  SORTS,
  STATUSES,
  type BulkChange,
  type DepNode,
  type GastownConnection,
  type ListBead,
  type Preset,
  type Sort,
  type TownStore,
} from "../client";
import { GraphPanel } from "./graphPanel";
import type { Metrics } from "./metrics";

export type BeadNode =
  | { kind: "bead"; bead: ListBead }
  | { kind: "more"; shown: number; total: number }
  | { kind: "group"; parent: string; which: "blockers" | "dependents"; nodes: DepNode[] }
  | { kind: "dep"; parent: string; dep: DepNode; which: "blockers" | "dependents" }
  | { kind: "message"; text: string; icon: string };

const STATUS_ICONS: Record<string, [string, string | undefined]> = {
  open: ["circle-large-outline", undefined],
  in_progress: ["play-circle", "charts.blue"],
  hooked: ["pinned", "charts.purple"],
  blocked: ["error", "charts.red"],
  deferred: ["clock", undefined],
  pinned: ["pinned", undefined],
  closed: ["pass-filled", "testing.iconPassed"],
};

function statusIcon(status: string): vscode.ThemeIcon {
  const [icon, color] = STATUS_ICONS[status] ?? ["circle-large-outline", undefined];
  return new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
}

export class BeadsTree implements vscode.TreeDataProvider<BeadNode> {
  private readonly emitter = new vscode.EventEmitter<BeadNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly deps = new Map<string, Promise<BeadNode[]>>();
  private pendingPush: number | undefined;
  /** performance.now() when the view was shown, until its root children are returned (a metric). */
  shownAt: number | undefined;
  private readonly sub: vscode.Disposable;

  constructor(
    readonly list: BeadList,
    private readonly conn: GastownConnection,
    private readonly connected: () => boolean,
    private readonly metrics: Metrics,
  ) {
    this.sub = list.onDidChange((c) => {
      if (c.pushedAt !== undefined && this.pendingPush === undefined) this.pendingPush = c.pushedAt;
      this.metrics.record("load.beads", list.lastFetchMs);
      this.deps.clear();
      this.emitter.fire(undefined);
    });
  }

  refresh(): void {
    this.deps.clear();
    this.emitter.fire(undefined);
  }

  getChildren(element?: BeadNode): BeadNode[] | Promise<BeadNode[]> {
    if (!this.connected()) return [];
    if (!element) {
      if (!this.list.loaded) return [];
      const nodes: BeadNode[] = this.list.beads.map((bead) => ({ kind: "bead", bead }));
      if (this.list.error) nodes.unshift({ kind: "message", text: `Could not load beads: ${this.list.error}`, icon: "warning" });
      else if (nodes.length === 0) nodes.push({ kind: "message", text: this.list.query.q ? `No bead matches "${this.list.query.q}"` : "No beads match this filter", icon: "filter" });
      if (this.list.hasMore) nodes.push({ kind: "more", shown: this.list.beads.length, total: this.list.total });
      if (this.shownAt !== undefined && this.list.beads.length) {
        this.metrics.record("render.beads.shown", performance.now() - this.shownAt);
        this.shownAt = undefined;
      }
      if (this.pendingPush !== undefined) {
        this.metrics.record("refresh.beads", performance.now() - this.pendingPush);
        this.pendingPush = undefined;
      }
      return nodes;
    }
    if (element.kind === "bead") return this.depGroups(element.bead.id);
    if (element.kind === "group") return element.nodes.map((dep) => ({ kind: "dep", parent: element.parent, dep, which: element.which }));
    if (element.kind === "dep") return element.dep.children.map((dep) => ({ kind: "dep", parent: element.parent, dep, which: element.which }));
    return [];
  }

  private depGroups(id: string): Promise<BeadNode[]> {
    let p = this.deps.get(id);
    if (!p) {
      p = fetchDeps(this.conn, id).then(
        (t): BeadNode[] => [
          { kind: "group", parent: id, which: "blockers", nodes: t.blockers },
          { kind: "group", parent: id, which: "dependents", nodes: t.dependents },
        ],
        (e: unknown): BeadNode[] => [{ kind: "message", text: `Could not load dependencies: ${describeError(e)}`, icon: "warning" }],
      );
      this.deps.set(id, p);
    }
    return p;
  }

  getTreeItem(node: BeadNode): vscode.TreeItem {
    switch (node.kind) {
      case "bead": {
        const b = node.bead;
        const links = b.dependencyCount + b.dependentCount;
        const item = new vscode.TreeItem(b.title || b.id, links > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.id = `bead:${b.id}`;
        item.description = [b.id, `P${b.priority}`, b.status, b.assignee, ...b.labels.map((l) => `#${l}`)].filter(Boolean).join(" · ");
        item.iconPath = statusIcon(b.status);
        item.contextValue = b.status === "closed" ? "bead-closed" : "bead";
        item.command = { command: "gastown.bead.show", title: "Show Bead", arguments: [b.id] };
        item.accessibilityInformation = { label: `bead ${b.id} ${b.title}, P${b.priority} ${b.status}${b.assignee ? `, ${b.assignee}` : ""}${b.labels.length ? `, labels ${b.labels.join(" ")}` : ""}` };
        return item;
      }
      case "more": {
        const item = new vscode.TreeItem(`Load more (${node.shown} of ${node.total} shown)`);
        item.id = "beads:more";
        item.iconPath = new vscode.ThemeIcon("fold-down");
        item.command = { command: "gastown.beads.loadMore", title: "Load More" };
        item.contextValue = "beads-more";
        return item;
      }
      case "group": {
        const label = node.which === "blockers" ? "Blockers" : "Dependents";
        const item = new vscode.TreeItem(label, node.nodes.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.id = `deps:${node.parent}:${node.which}`;
        item.description = node.nodes.length ? `${node.nodes.length}` : "none";
        item.iconPath = new vscode.ThemeIcon(node.which === "blockers" ? "arrow-left" : "arrow-right");
        item.contextValue = "beads-group";
        item.accessibilityInformation = { label: `${label} of ${node.parent}, ${node.nodes.length}` };
        return item;
      }
      case "dep": {
        const d = node.dep;
        const item = new vscode.TreeItem(d.title || d.id, d.children.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.description = [d.id, d.status, d.type, d.blocking ? "blocking" : "", d.repeated ? "(shown above)" : ""].filter(Boolean).join(" · ");
        item.iconPath = d.blocking ? new vscode.ThemeIcon("debug-breakpoint", new vscode.ThemeColor("charts.red")) : statusIcon(d.status);
        item.command = { command: "gastown.bead.show", title: "Show Bead", arguments: [d.id] };
        item.contextValue = "bead-dep";
        item.accessibilityInformation = { label: `${node.which === "blockers" ? "blocker" : "dependent"} ${d.id} ${d.title}, ${d.status}, ${d.type}${d.blocking ? ", blocking" : ""}` };
        return item;
      }
      case "message": {
        const item = new vscode.TreeItem(node.text);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        return item;
      }
    }
  }

  /**
   * A bead's tooltip, built when the pointer rests on its row: left out of getTreeItem, the
   * first page (200 items) crosses to the workbench without 200 Markdown tooltips, about a
   * third of its bytes (docs/benchmarks.md, first render).
   */
  resolveTreeItem(item: vscode.TreeItem, node: BeadNode): vscode.TreeItem {
    if (node.kind === "bead" && item.tooltip === undefined) {
      const b = node.bead;
      const links = b.dependencyCount + b.dependentCount;
      item.tooltip = new vscode.MarkdownString(
        `**${b.title}** (\`${b.id}\`)\n\n${b.issueType}, P${b.priority}, ${b.status}${b.assignee ? `, assigned to ${b.assignee}` : ""}` +
          (b.labels.length ? `\n\nlabels: ${b.labels.join(", ")}` : "") +
          (links ? `\n\n${b.dependencyCount} dependencies, ${b.dependentCount} dependents` : ""),
      );
    }
    return item;
  }

  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}

export interface BeadsContext {
  conn: GastownConnection;
  store: TownStore;
  log: (line: string) => void;
  metrics: Metrics;
  connected: () => boolean;
}

/** Create the Beads view and its commands; everything returned is to dispose. */
export function registerBeads(ctx: BeadsContext): vscode.Disposable[] {
  const { conn, store } = ctx;
  const list = new BeadList(conn, 200, store.onEvent);
  const tree = new BeadsTree(list, conn, ctx.connected, ctx.metrics);
  const view = vscode.window.createTreeView("gastown.beads", { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });
  const describe = () => {
    view.description = describeQuery(list.query);
    view.message = list.loaded && list.total > 0 ? `${list.beads.length} of ${list.total} beads` : undefined;
  };
  describe();
  // Collapsed or hidden: reload only when shown again (see BeadList.paused).
  list.paused = !view.visible;

  /** The beads a command acts on: the multi-selection when the clicked bead is in it, else the clicked one. */
  const targets = (arg?: unknown, args?: unknown): string[] => {
    const ids = (xs: readonly unknown[]) => xs.flatMap((x) => (isBeadNode(x) ? [x.bead.id] : isDepNode(x) ? [x.dep.id] : typeof x === "string" ? [x] : []));
    if (Array.isArray(args) && args.length) return ids(args);
    if (arg !== undefined) return ids([arg]);
    return ids(view.selection);
  };

  const guarded = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      // The server's refusal is one line; nothing changed.
      void vscode.window.showErrorMessage(`Gas Town: ${what} failed: ${describeError(e)}`);
    }
  };

  const confirmBulk = async (ids: string[], what: string, destructive = false): Promise<boolean> => {
    if (ids.length === 1 && !destructive) return true;
    const shown = ids.slice(0, 5).join(", ") + (ids.length > 5 ? `, and ${ids.length - 5} more` : "");
    const verb = destructive ? "Close" : "Apply";
    const pick = await vscode.window.showWarningMessage(`${what} on ${ids.length === 1 ? ids[0] : `${ids.length} beads`}?`, { modal: true, detail: shown }, verb);
    return pick === verb;
  };

  const bulk = (what: string, change: BulkChange, ids: string[]) =>
    guarded(what, async () => {
      if (!ids.length) throw new Error("select one or more beads in the Beads view first");
      if (!(await confirmBulk(ids, what, change.status === "closed"))) return;
      const n = await bulkUpdate(conn, ids, change);
      void vscode.window.showInformationMessage(`Gas Town: ${what}: ${n === 1 ? ids[0] : `${n} beads`}`);
      await list.reload(undefined);
    });

  /** Pick a bead among the town's open ones (any id may be typed too); `not` is left out. */
  const pickBead = async (placeHolder: string, not?: string): Promise<string | undefined> => {
    const beads = listOf(await conn.request(BeadMethods.list, { limit: 500, sort: "updated", desc: true }), "beads");
    const items = beads
      .filter((b) => b.id !== not)
      .map((b) => ({ label: String(b.id), description: String(b.title ?? ""), detail: [b.status, b.issue_type, b.assignee].filter(Boolean).map(String).join(" · ") }));
    const qp = vscode.window.createQuickPick<vscode.QuickPickItem>();
    qp.items = items;
    qp.placeholder = placeHolder;
    qp.matchOnDescription = true;
    qp.ignoreFocusOut = true;
    return new Promise<string | undefined>((resolve) => {
      qp.onDidAccept(() => {
        // A typed id that is not in the list (a closed bead, another rig's) is taken as typed.
        resolve(qp.selectedItems[0]?.label ?? (qp.value.trim() || undefined));
        qp.hide();
      });
      qp.onDidHide(() => {
        resolve(undefined);
        qp.dispose();
      });
      qp.show();
    });
  };

  const reg = (id: string, fn: (...args: unknown[]) => unknown) => vscode.commands.registerCommand(id, fn);

  return [
    list,
    tree,
    view,
    list.onDidChange(describe),
    view.onDidChangeVisibility((e) => {
      if (e.visible) tree.shownAt = performance.now();
      list.paused = !e.visible;
    }),
    conn.onDidConnect(() => void list.reload(undefined)),
    conn.onDidChangeState((s) => {
      if (s !== "connected") list.reset();
      tree.refresh();
    }),
    reg("gastown.beads.refresh", () => list.reload(undefined)),
    reg("gastown.beads.loadMore", () => list.loadMore()),
    reg("gastown.beads.search", async () => {
      const q = await vscode.window.showInputBox({ prompt: "Search beads: id, title, description or assignee (empty: all)", value: list.query.q ?? "", ignoreFocusOut: true });
      if (q !== undefined) await list.setQuery({ q: q.trim() || undefined });
    }),
    reg("gastown.beads.filter", async () => {
      const labels: Record<Preset, string> = { open: "Open", ready: "Ready (nothing blocks it)", blocked: "Blocked", in_progress: "In progress", mine: "Mine (assigned to me)", closed: "Closed", all: "All" };
      const pick = await vscode.window.showQuickPick(
        PRESETS.map((p) => ({ label: labels[p], value: p, picked: p === list.query.preset, description: p === list.query.preset ? "current" : undefined })),
        { placeHolder: "Show which beads?" },
      );
      if (pick) await list.setQuery({ preset: pick.value });
    }),
    reg("gastown.beads.filterBy", async () => {
      const kind = await vscode.window.showQuickPick(["Type", "Label", "Rig", "Clear filters"], { placeHolder: "Filter beads by" });
      if (kind === "Clear filters") return list.setQuery({ q: undefined, type: undefined, label: undefined, prefix: undefined });
      if (kind === "Type") {
        const t = await vscode.window.showQuickPick(["task", "bug", "feature", "epic", "chore", "decision", "convoy", "message", "molecule", "merge-request"], { placeHolder: "Type" });
        if (t) await list.setQuery({ type: t });
      } else if (kind === "Label") {
        const l = await vscode.window.showInputBox({ prompt: "Label", value: list.query.label ?? "" });
        if (l !== undefined) await list.setQuery({ label: l.trim() || undefined });
      } else if (kind === "Rig") {
        const rigs = listOf(await conn.request(Methods.rigList), "rigs").flatMap((r) => (typeof r.prefix === "string" && r.prefix ? [{ label: String(r.name ?? r.prefix), description: `prefix ${r.prefix}`, prefix: r.prefix }] : []));
        const r = await vscode.window.showQuickPick(rigs, { placeHolder: rigs.length ? "Rig" : "This town has no rigs" });
        if (r) await list.setQuery({ prefix: r.prefix });
      }
      return undefined;
    }),
    reg("gastown.beads.sort", async () => {
      const pick = await vscode.window.showQuickPick(
        SORTS.flatMap((s) => [
          { label: `By ${s}`, value: s, desc: false },
          { label: `By ${s}, reversed`, value: s, desc: true },
        ]),
        { placeHolder: `Sort beads (now by ${list.query.sort}${list.query.desc ? ", reversed" : ""})` },
      );
      if (pick) await list.setQuery({ sort: pick.value as Sort, desc: pick.desc });
    }),
    reg("gastown.beads.toggleClosed", async () => {
      await list.setQuery({ showClosed: !list.query.showClosed });
      void vscode.window.setStatusBarMessage(`Gas Town: closed beads ${list.query.showClosed ? "shown" : "hidden"}`, 3000);
    }),
    reg("gastown.beads.create", () =>
      guarded("create bead", async () => {
        const title = await vscode.window.showInputBox({ prompt: "New bead title", ignoreFocusOut: true, validateInput: (v) => (v.trim() ? undefined : "A bead needs a title") });
        if (!title) return;
        const type = await vscode.window.showQuickPick(["task", "bug", "feature", "epic", "chore", "decision"], { placeHolder: "Type" });
        if (!type) return;
        const prio = await vscode.window.showQuickPick(["0", "1", "2", "3", "4"].map((p) => ({ label: `P${p}`, value: Number(p) })), { placeHolder: "Priority (P0 highest)" });
        if (!prio) return;
        const labels = await vscode.window.showInputBox({ prompt: "Labels (comma separated, optional)", ignoreFocusOut: true });
        const r = await conn.request(BeadMethods.create, { title, type, priority: prio.value, labels: (labels ?? "").split(/[,\s]+/).filter(Boolean) });
        const id = typeof r === "object" && r !== null && "id" in r ? String((r as { id: unknown }).id) : "";
        void vscode.window.showInformationMessage(`Gas Town: created ${id}`);
        await list.reload(undefined);
      }),
    ),
    reg("gastown.beads.edit", (arg?: unknown) =>
      guarded("edit bead", async () => {
        const id = targets(arg)[0] ?? (await vscode.window.showInputBox({ prompt: "Bead id" }));
        if (!id) return;
        const bead = (await conn.request(BeadMethods.show, { id })) as Record<string, unknown>;
        const fields = ["title", "status", "priority", "assignee", "labels", "description", "notes", "type"];
        const field = await vscode.window.showQuickPick(fields, { placeHolder: `Edit which field of ${id}?` });
        if (!field) return;
        const params: Record<string, unknown> = { id };
        if (field === "status") {
          const st = await vscode.window.showQuickPick([...STATUSES], { placeHolder: `Status (now ${String(bead.status)})` });
          if (!st) return;
          params.status = st;
        } else if (field === "priority") {
          const p = await vscode.window.showQuickPick(["0", "1", "2", "3", "4"], { placeHolder: `Priority (now P${String(bead.priority)})` });
          if (!p) return;
          params.priority = Number(p);
        } else if (field === "labels") {
          const old = Array.isArray(bead.labels) ? bead.labels.map(String) : [];
          const v = await vscode.window.showInputBox({ prompt: `Labels of ${id} (comma separated)`, value: old.join(", "), ignoreFocusOut: true });
          if (v === undefined) return;
          const now = v.split(/[,\s]+/).filter(Boolean);
          params.add_labels = now.filter((l) => !old.includes(l));
          params.remove_labels = old.filter((l) => !now.includes(l));
        } else {
          const key = field === "type" ? "issue_type" : field;
          const v = await vscode.window.showInputBox({ prompt: `${field} of ${id}`, value: String(bead[key] ?? ""), ignoreFocusOut: true });
          if (v === undefined) return;
          params[field] = v;
        }
        await conn.request(BeadMethods.update, params);
        void vscode.window.showInformationMessage(`Gas Town: ${id} ${field} set`);
        await list.reload(undefined);
      }),
    ),
    reg("gastown.beads.setStatus", async (arg?: unknown, args?: unknown) => {
      const ids = targets(arg, args);
      const st = await vscode.window.showQuickPick([...STATUSES], { placeHolder: `Status of ${ids.length === 1 ? ids[0] : `${ids.length} beads`}` });
      if (st) await bulk(`status ${st}`, { status: st }, ids);
    }),
    reg("gastown.beads.setPriority", async (arg?: unknown, args?: unknown) => {
      const ids = targets(arg, args);
      const p = await vscode.window.showQuickPick(["0", "1", "2", "3", "4"].map((x) => `P${x}`), { placeHolder: `Priority of ${ids.length === 1 ? ids[0] : `${ids.length} beads`}` });
      if (p) await bulk(`priority ${p}`, { priority: Number(p.slice(1)) }, ids);
    }),
    reg("gastown.beads.setAssignee", async (arg?: unknown, args?: unknown) => {
      const ids = targets(arg, args);
      const agents = store.agents.map((a) => ({ label: a.address, description: a.role }));
      const pick = await vscode.window.showQuickPick([{ label: "(nobody)", description: "unassign" }, ...agents], { placeHolder: "Assign to" });
      if (pick) await bulk(pick.label === "(nobody)" ? "unassigned" : `assigned to ${pick.label}`, { assignee: pick.label === "(nobody)" ? "" : pick.label }, ids);
    }),
    reg("gastown.beads.addLabel", async (arg?: unknown, args?: unknown) => {
      const ids = targets(arg, args);
      const l = await vscode.window.showInputBox({ prompt: `Add label to ${ids.length === 1 ? ids[0] : `${ids.length} beads`}`, ignoreFocusOut: true });
      if (l?.trim()) await bulk(`label +${l.trim()}`, { add_labels: [l.trim()] }, ids);
    }),
    reg("gastown.beads.removeLabel", async (arg?: unknown, args?: unknown) => {
      const ids = targets(arg, args);
      const have = [...new Set(list.beads.filter((b) => ids.includes(b.id)).flatMap((b) => b.labels))];
      const l = have.length ? await vscode.window.showQuickPick(have, { placeHolder: "Remove label" }) : await vscode.window.showInputBox({ prompt: "Remove label" });
      if (l?.trim()) await bulk(`label -${l.trim()}`, { remove_labels: [l.trim()] }, ids);
    }),
    reg("gastown.beads.close", async (arg?: unknown, args?: unknown) => {
      const ids = targets(arg, args);
      const reason = await vscode.window.showInputBox({ prompt: `Close reason for ${ids.length === 1 ? ids[0] : `${ids.length} beads`} (optional)`, ignoreFocusOut: true });
      if (reason !== undefined) await bulk("close", { status: "closed", reason }, ids);
    }),
    reg("gastown.beads.addDependency", (arg?: unknown) =>
      guarded("add dependency", async () => {
        const issue = targets(arg)[0] ?? (await pickBead("Add a dependency to which bead?"));
        if (!issue) return;
        const dependsOn = await pickBead(`${issue} depends on which bead?`, issue);
        if (!dependsOn) return;
        const type = await vscode.window.showQuickPick(
          DEP_TYPES.map((t) => ({ label: t.type, description: t.description })),
          { placeHolder: `How does ${issue} depend on ${dependsOn}? (blocks: it waits until ${dependsOn} closes)`, ignoreFocusOut: true },
        );
        if (!type) return;
        const kind = await addDependency(conn, issue, dependsOn, type.label);
        // Open views (this one, Ready & Blocked, the graph) follow by the server's push.
        void vscode.window.showInformationMessage(`Gas Town: ${issue} now depends on ${dependsOn} (${kind})`);
      }),
    ),
    reg("gastown.beads.removeDependency", (arg?: unknown) =>
      guarded("remove dependency", async () => {
        const id = targets(arg)[0] ?? (await pickBead("Remove a dependency of which bead?"));
        if (!id) return;
        const edges = await directEdges(conn, id);
        if (!edges.length) {
          void vscode.window.showInformationMessage(`Gas Town: ${id} has no dependencies to remove`);
          return;
        }
        // From a dependency row, the edge to the bead it hangs under comes first.
        const near = isDepNode(arg) ? arg.parent : undefined;
        edges.sort((a, b) => Number([b.issue, b.dependsOn].includes(near ?? "")) - Number([a.issue, a.dependsOn].includes(near ?? "")));
        const pick = await vscode.window.showQuickPick(
          edges.map((e) => ({ label: `${e.issue} depends on ${e.dependsOn}`, description: `${e.type} · ${e.title}`, edge: e })),
          { placeHolder: `Remove which dependency of ${id}?`, matchOnDescription: true, ignoreFocusOut: true },
        );
        if (!pick) return;
        const kind = await removeDependency(conn, pick.edge.issue, pick.edge.dependsOn);
        void vscode.window.showInformationMessage(`Gas Town: ${pick.edge.issue} no longer depends on ${pick.edge.dependsOn} (${kind} removed)`);
      }),
    ),
    reg("gastown.beads.showGraph", (arg?: unknown) =>
      guarded("dependency graph", async () => {
        const id = targets(arg)[0] ?? (await vscode.window.showInputBox({ prompt: "Bead id" }));
        if (id) await GraphPanel.show(conn, store, id, ctx.metrics);
      }),
    ),
  ];
}

function isBeadNode(x: unknown): x is BeadNode & { kind: "bead" } {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "bead";
}

function isDepNode(x: unknown): x is BeadNode & { kind: "dep" } {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "dep";
}
