// The Feed view: the town's activity, newest first, pushed live.
//
// It opens with the ledger's recent news (feed/recent) and then adds every
// pushed event (the store's feed subscription).  Patrol noise is hidden
// until "Show Patrol Noise"; one rig or one kind can be picked; the log is
// capped (gastown.feed.maxEvents) so a busy town cannot grow it for ever.

import * as vscode from "vscode";
import { describeError, FeedLog, feedTitle, listOf, Methods, toFeedEvent, type FeedEvent, type GastownConnection, type TownStore } from "../client";
import type { Metrics } from "./metrics";

export type FeedNode = { kind: "event"; event: FeedEvent } | { kind: "hidden"; count: number };

export class FeedTree implements vscode.TreeDataProvider<FeedNode> {
  private readonly emitter = new vscode.EventEmitter<FeedNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private pendingPush: number | undefined;
  private readonly sub: vscode.Disposable;

  constructor(
    readonly log: FeedLog,
    private readonly connected: () => boolean,
    private readonly metrics: Metrics,
  ) {
    this.sub = log.onDidChange((c) => {
      if (c.pushedAt !== undefined && this.pendingPush === undefined) this.pendingPush = c.pushedAt;
      this.schedule();
    });
  }

  private throttle: NodeJS.Timeout | undefined;
  private again = false;

  /**
   * Re-render now, then at most once per THROTTLE_MS while events keep coming: a busy town's
   * burst (thousands of pushes) was one tree refresh and one description update, each a
   * message to the workbench, per event.  A single change still renders at once.
   */
  private schedule(): void {
    if (this.throttle) {
      this.again = true;
      return;
    }
    this.emitter.fire(undefined);
    this.onRender?.();
    this.throttle = setTimeout(() => {
      this.throttle = undefined;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }, THROTTLE_MS);
  }

  /** Called with each (throttled) re-render: the view's description follows the same pace. */
  onRender: (() => void) | undefined;

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getChildren(element?: FeedNode): FeedNode[] {
    if (element || !this.connected()) return [];
    const nodes: FeedNode[] = this.log.shown().map((event) => ({ kind: "event", event }));
    const hidden = this.log.hidden();
    if (hidden > 0 && nodes.length > 0) nodes.push({ kind: "hidden", count: hidden });
    if (this.pendingPush !== undefined) {
      this.metrics.record("refresh.feed", performance.now() - this.pendingPush);
      this.pendingPush = undefined;
    }
    return nodes;
  }

  getTreeItem(node: FeedNode): vscode.TreeItem {
    if (node.kind === "hidden") {
      const item = new vscode.TreeItem(`${node.count} hidden by the filter`);
      item.id = "feed:hidden";
      item.iconPath = new vscode.ThemeIcon("filter");
      item.command = { command: "gastown.feed.clearFilter", title: "Clear Feed Filter" };
      item.tooltip = `${this.log.describeFilter()}\n\nClick to show everything.`;
      return item;
    }
    const ev = node.event;
    const item = new vscode.TreeItem(feedTitle(ev), vscode.TreeItemCollapsibleState.None);
    item.id = `feed:${ev.id}`;
    const at = ev.at ? ev.at.slice(11, 19) : "";
    item.description = [ev.actor ?? "", at].filter(Boolean).join(" · ");
    item.iconPath = new vscode.ThemeIcon(kindIcon(ev.kind));
    item.contextValue = ev.beadId ? "feed-event-bead" : "feed-event";
    item.tooltip = `${ev.kind}${ev.beadId ? ` ${ev.beadId}` : ""}\nby ${ev.actor ?? "?"}${ev.at ? `\n${ev.at}` : ""}\nevent ${ev.id}`;
    if (ev.beadId) item.command = { command: "gastown.bead.show", title: "Show Bead", arguments: [ev.beadId] };
    item.accessibilityInformation = { label: `event ${ev.kind} ${ev.beadId ?? ""} by ${ev.actor ?? ""}`.replace(/\s+/g, " ").trim() };
    return item;
  }

  dispose(): void {
    if (this.throttle) clearTimeout(this.throttle);
    this.sub.dispose();
    this.emitter.dispose();
  }
}

const THROTTLE_MS = 50;

function kindIcon(kind: string): string {
  if (kind === "closed") return "pass";
  if (kind === "created") return "add";
  if (kind.startsWith("session")) return "terminal";
  if (kind.includes("mail") || kind === "sent") return "mail";
  if (kind.includes("merge")) return "git-merge";
  if (kind.includes("hook") || kind.includes("sling")) return "pinned";
  if (kind.includes("escalat")) return "warning";
  return "circle-small";
}

/** The view, its commands and its first load on every (re)connect. */
export function registerFeed(conn: GastownConnection, store: TownStore, metrics: Metrics, log: (line: string) => void): vscode.Disposable[] {
  const max = () => vscode.workspace.getConfiguration("gastown").get<number>("feed.maxEvents", 1000);
  const feed = new FeedLog(max(), store.onEvent);
  const tree = new FeedTree(feed, () => conn.state === "connected", metrics);
  const view = vscode.window.createTreeView("gastown.feed", { treeDataProvider: tree });
  const describe = () => {
    // How many events are kept (at most gastown.feed.maxEvents, plus a tenth before a trim).
    view.description = `${feed.size} events · ${feed.describeFilter()}`;
    void vscode.commands.executeCommand("setContext", "gastown.feed.noise", feed.filter.noise);
  };
  describe();
  tree.onRender = describe;

  let town: string | undefined;
  const loadRecent = async () => {
    // Another town (the settings changed): its events only.
    const root = conn.server?.town.root;
    if (town !== undefined && root !== town) feed.clear();
    town = root;
    if (!conn.server?.capabilities.includes(Methods.feedRecent)) return; // an older server: pushes only
    try {
      // Noise included: the filter is the client's, and toggling it needs no round trip.
      const r = await conn.request(Methods.feedRecent, { limit: Math.min(5000, Math.max(1, feed.max)), noise: true });
      feed.add(listOf(r, "events").map(toFeedEvent).filter((e): e is FeedEvent => e !== undefined), undefined);
    } catch (e) {
      log(`[feed] feed/recent: ${describeError(e)}`);
    }
  };

  const pickRig = async () => {
    const rigs = listOf(await conn.request(Methods.rigList, {}).catch(() => ({})), "rigs")
      .map((r) => ({ name: typeof r.name === "string" ? r.name : "", prefix: typeof r.prefix === "string" ? r.prefix : "" }))
      .filter((r) => r.name);
    const items = [{ label: "All rigs", description: "", rig: undefined as { name: string; prefix: string } | undefined }, ...rigs.map((r) => ({ label: r.name, description: `beads ${r.prefix}-…`, rig: r }))];
    const picked = await vscode.window.showQuickPick(items, { placeHolder: "Show the feed of which rig?" });
    if (picked) feed.setFilter({ rig: picked.rig });
  };

  const pickKind = async () => {
    const items = [{ label: "All kinds" }, ...feed.kinds().map((k) => ({ label: k }))];
    const picked = await vscode.window.showQuickPick(items, { placeHolder: "Show which kind of event?" });
    if (picked) feed.setFilter({ kind: picked.label === "All kinds" ? undefined : picked.label });
  };

  return [
    feed,
    tree,
    view,
    conn.onDidConnect(() => void loadRecent()),
    conn.onDidChangeState(() => tree.refresh()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("gastown.feed.maxEvents")) feed.max = max();
    }),
    vscode.commands.registerCommand("gastown.feed.showNoise", () => feed.setFilter({ noise: true })),
    vscode.commands.registerCommand("gastown.feed.hideNoise", () => feed.setFilter({ noise: false })),
    vscode.commands.registerCommand("gastown.feed.filterRig", () => pickRig()),
    vscode.commands.registerCommand("gastown.feed.filterKind", () => pickKind()),
    vscode.commands.registerCommand("gastown.feed.clearFilter", () => feed.setFilter({ noise: true, rig: undefined, kind: undefined })),
  ];
}
