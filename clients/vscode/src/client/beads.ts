// The bead list (bead/list with search, presets, sort and paging), bulk
// edits (bead/bulkUpdate, all or nothing), dependency trees (bead/deps) and
// the dependency graph drawn as SVG by our own code (no library, no network).
// Free of `vscode`: the node unit tests and the benchmark use it directly.

import { Emitter, type Disposable, type Event } from "vscode-jsonrpc/node";
import type { GastownConnection } from "./connection";
import { isObject, listOf, type FeedEvent } from "./protocol";

type Obj = Record<string, unknown>;

export const BeadMethods = {
  list: "bead/list",
  show: "bead/show",
  create: "bead/create",
  update: "bead/update",
  bulkUpdate: "bead/bulkUpdate",
  deps: "bead/deps",
  depAdd: "bead/depAdd",
  depRemove: "bead/depRemove",
} as const;

/** Dependency types offered when adding one, "blocks" first (the server validates; SPEC.md has them all). */
export const DEP_TYPES: { type: string; description: string }[] = [
  { type: "blocks", description: "it waits until the other bead closes" },
  { type: "parent-child", description: "the other bead is its parent" },
  { type: "waits-for", description: "it waits for the other bead's children (a fan-out gate)" },
  { type: "conditional-blocks", description: "it runs only if the other bead fails" },
  { type: "related", description: "a link; blocks nothing" },
  { type: "discovered-from", description: "found while working on the other bead; blocks nothing" },
  { type: "tracks", description: "follows the other bead; blocks nothing" },
  { type: "caused-by", description: "blocks nothing" },
  { type: "duplicates", description: "blocks nothing" },
  { type: "supersedes", description: "blocks nothing" },
];

/** One direct dependency edge: `issue` depends on `dependsOn`. */
export interface DepEdge {
  issue: string;
  dependsOn: string;
  type: string;
  /** The title of the bead at the other end. */
  title: string;
}

/** A bead's direct edges both ways (what it depends on, what depends on it), from bead/deps at depth 1. */
export async function directEdges(conn: GastownConnection, id: string): Promise<DepEdge[]> {
  const t = await fetchDeps(conn, id, 1);
  return [
    ...t.blockers.map((n) => ({ issue: id, dependsOn: n.id, type: n.type, title: n.title })),
    ...t.dependents.map((n) => ({ issue: n.id, dependsOn: id, type: n.type, title: n.title })),
  ];
}

/** Add a dependency (bead/depAdd); the server refuses unknown beads, self-dependencies and cycles with one line. */
export async function addDependency(conn: GastownConnection, issue: string, dependsOn: string, type = "blocks"): Promise<string> {
  const r = await conn.request(BeadMethods.depAdd, { issue, depends_on: dependsOn, type });
  return isObject(r) && typeof r.type === "string" ? r.type : type;
}

/** Remove a dependency (bead/depRemove); returns the type it had. */
export async function removeDependency(conn: GastownConnection, issue: string, dependsOn: string): Promise<string> {
  const r = await conn.request(BeadMethods.depRemove, { issue, depends_on: dependsOn });
  return isObject(r) && typeof r.type === "string" ? r.type : "";
}

export const PRESETS = ["open", "ready", "blocked", "in_progress", "mine", "closed", "all"] as const;
export type Preset = (typeof PRESETS)[number];
export const SORTS = ["priority", "updated", "created", "status", "id", "title"] as const;
export type Sort = (typeof SORTS)[number];
export const STATUSES = ["open", "in_progress", "blocked", "deferred", "hooked", "pinned", "closed"] as const;

export interface ListBead {
  id: string;
  title: string;
  status: string;
  priority: number;
  issueType: string;
  assignee: string;
  labels: string[];
  updatedAt: string;
  /** Beads it depends on / that depend on it (from the server's counts). */
  dependencyCount: number;
  dependentCount: number;
}

export interface BeadQuery {
  q?: string;
  preset: Preset;
  sort: Sort;
  desc: boolean;
  showClosed: boolean;
  type?: string;
  label?: string;
  /** A rig's bead id prefix. */
  prefix?: string;
}

export interface DepNode {
  id: string;
  title: string;
  status: string;
  type: string;
  blocking: boolean;
  repeated: boolean;
  children: DepNode[];
}

export interface GraphNode {
  id: string;
  title: string;
  status: string;
  layer: number;
  order: number;
  root: boolean;
}

export interface GraphEdge {
  source: string;
  target: string;
  type: string;
  blocking: boolean;
}

export interface DepTree {
  id: string;
  title: string;
  status: string;
  blockers: DepNode[];
  dependents: DepNode[];
  graph: { nodes: GraphNode[]; edges: GraphEdge[]; layers: number; truncated: boolean };
}

const s = (o: Obj, k: string, d = ""): string => (typeof o[k] === "string" ? (o[k] as string) : d);
const n = (o: Obj, k: string, d = 0): number => (typeof o[k] === "number" ? (o[k] as number) : d);
const b = (o: Obj, k: string): boolean => o[k] === true;

export function toListBead(o: Obj): ListBead {
  return {
    id: s(o, "id", "?"),
    title: s(o, "title"),
    status: s(o, "status", "open"),
    priority: n(o, "priority", 2),
    issueType: s(o, "issue_type", "task"),
    assignee: s(o, "assignee"),
    labels: Array.isArray(o.labels) ? o.labels.filter((l): l is string => typeof l === "string") : [],
    updatedAt: s(o, "updated_at"),
    dependencyCount: n(o, "dependency_count"),
    dependentCount: n(o, "dependent_count"),
  };
}

function toDepNode(o: Obj): DepNode {
  return {
    id: s(o, "id", "?"),
    title: s(o, "title"),
    status: s(o, "status", "open"),
    type: s(o, "type", "blocks"),
    blocking: b(o, "blocking"),
    repeated: b(o, "repeated"),
    children: listOf(o.children).map(toDepNode),
  };
}

export function toDepTree(r: unknown): DepTree {
  const o = isObject(r) ? r : {};
  const g = isObject(o.graph) ? o.graph : {};
  return {
    id: s(o, "id", "?"),
    title: s(o, "title"),
    status: s(o, "status", "open"),
    blockers: listOf(o.blockers).map(toDepNode),
    dependents: listOf(o.dependents).map(toDepNode),
    graph: {
      nodes: listOf(g.nodes).map((x) => ({ id: s(x, "id"), title: s(x, "title"), status: s(x, "status", "open"), layer: n(x, "layer"), order: n(x, "order"), root: b(x, "root") })),
      edges: listOf(g.edges).map((x) => ({ source: s(x, "source"), target: s(x, "target"), type: s(x, "type", "blocks"), blocking: b(x, "blocking") })),
      layers: n(g, "layers"),
      truncated: b(g, "truncated"),
    },
  };
}

/** bead/list params for a query and page. */
export function listParams(q: BeadQuery, offset: number, limit: number): Obj {
  const p: Obj = { preset: q.preset, sort: q.sort, desc: q.desc, all: q.showClosed, work_only: !q.type, offset, limit, count: true };
  if (q.q) p.q = q.q;
  if (q.type) p.type = q.type;
  if (q.label) p.label = q.label;
  if (q.prefix) p.prefix = q.prefix;
  return p;
}

export function describeQuery(q: BeadQuery): string {
  const parts: string[] = [q.preset === "in_progress" ? "in progress" : q.preset];
  if (q.showClosed && q.preset !== "closed" && q.preset !== "all") parts.push("+closed");
  if (q.type) parts.push(`type ${q.type}`);
  if (q.label) parts.push(`#${q.label}`);
  if (q.prefix) parts.push(`rig ${q.prefix}`);
  if (q.q) parts.push(`"${q.q}"`);
  parts.push(`by ${q.sort}${q.desc ? " ↓" : ""}`);
  return parts.join(" · ");
}

export interface BeadListChange {
  /** performance.now() of the push that caused the reload (undefined for a user action). */
  pushedAt: number | undefined;
}

/**
 * The Beads view's data: the pages loaded so far for the current query,
 * reloaded (coalesced: one request in flight, one queued) when a feed event
 * names a bead, so it is current without polling.
 */
export class BeadList {
  query: BeadQuery = { preset: "open", sort: "priority", desc: false, showClosed: false };
  beads: ListBead[] = [];
  total = 0;
  error: string | undefined;
  loaded = false;
  /** How long the last bead/list round trip took (ms), for the metrics. */
  lastFetchMs = 0;
  private shown: number;
  private readonly _onDidChange = new Emitter<BeadListChange>();
  readonly onDidChange: Event<BeadListChange> = this._onDidChange.event;
  private inflight: Promise<void> | undefined;
  private queued: { pushedAt: number | undefined } | undefined;
  private readonly subs: Disposable[] = [];

  constructor(
    private readonly conn: GastownConnection,
    readonly pageSize = 200,
    onEvent?: Event<FeedEvent>,
  ) {
    this.shown = pageSize;
    if (onEvent) this.subs.push(onEvent((ev) => ev.beadId && this.onBeadEvent()));
  }

  /**
   * While paused (the view is hidden), bead events only mark the list stale:
   * a busy town must not cost a bead/list per burst for nobody to see.
   */
  get paused(): boolean {
    return this._paused;
  }

  set paused(value: boolean) {
    this._paused = value;
    if (!value && this.stale) void this.reload(undefined);
  }

  private _paused = false;
  private stale = false;

  private onBeadEvent(): void {
    if (this._paused) this.stale = true;
    else void this.reload(performance.now());
  }

  get hasMore(): boolean {
    return this.beads.length < this.total;
  }

  /** Change the query (a filter, sort, search) and load its first page. */
  async setQuery(change: Partial<BeadQuery>): Promise<void> {
    this.query = { ...this.query, ...change };
    for (const k of Object.keys(change) as (keyof BeadQuery)[]) if (change[k] === undefined || change[k] === "") delete this.query[k];
    this.shown = this.pageSize;
    await this.reload(undefined);
  }

  /** Load one more page (the view's "Load more" row). */
  async loadMore(): Promise<void> {
    this.shown += this.pageSize;
    await this.reload(undefined);
  }

  /** Fetch the pages shown again; calls during a fetch coalesce into one more. */
  reload(pushedAt: number | undefined): Promise<void> {
    if (this.inflight) {
      this.queued = { pushedAt: this.queued?.pushedAt ?? pushedAt };
      return this.inflight;
    }
    this.inflight = (async () => {
      try {
        await this.fetch(pushedAt);
      } finally {
        this.inflight = undefined;
      }
      const q = this.queued;
      this.queued = undefined;
      if (q) await this.reload(q.pushedAt);
    })();
    return this.inflight;
  }

  private async fetch(pushedAt: number | undefined): Promise<void> {
    this.stale = false;
    const start = performance.now();
    try {
      const r = await this.conn.request(BeadMethods.list, listParams(this.query, 0, this.shown));
      this.lastFetchMs = performance.now() - start;
      this.beads = listOf(r, "beads").map(toListBead);
      this.total = isObject(r) && typeof r.total === "number" ? r.total : this.beads.length;
      this.error = undefined;
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
    this.loaded = true;
    this._onDidChange.fire({ pushedAt });
  }

  /** Clear (after a disconnect). */
  reset(): void {
    this.beads = [];
    this.total = 0;
    this.loaded = false;
    this._onDidChange.fire({ pushedAt: undefined });
  }

  dispose(): void {
    for (const d of this.subs) d.dispose();
    this._onDidChange.dispose();
  }
}

export interface BulkChange {
  status?: string;
  priority?: number;
  assignee?: string;
  add_labels?: string[];
  remove_labels?: string[];
  reason?: string;
}

/** The same change on every bead of `ids`: all change, or the server's refusal is thrown and none does. */
export async function bulkUpdate(conn: GastownConnection, ids: string[], change: BulkChange): Promise<number> {
  const r = await conn.request(BeadMethods.bulkUpdate, { ids, ...change });
  return isObject(r) && typeof r.updated === "number" ? r.updated : ids.length;
}

export async function fetchDeps(conn: GastownConnection, id: string, depth = 4): Promise<DepTree> {
  return toDepTree(await conn.request(BeadMethods.deps, { id, depth }));
}

// ---- the graph picture -----------------------------------------------------

const BOX_W = 190;
const BOX_H = 44;
const GAP_X = 70;
const GAP_Y = 20;
const PAD = 16;

const FILL: Record<string, string> = { closed: "#3a3d41", in_progress: "#264f78", hooked: "#3b2e58", blocked: "#5a1d1d", deferred: "#4d3b1a" };

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/**
 * The dependency graph as an SVG document: one column per layer (blockers
 * left of what they block), boxes coloured by status, the root outlined,
 * blocking edges solid red, other links dashed.  Each box carries
 * data-bead so the panel can open it on click.
 */
export function graphSvg(tree: DepTree): string {
  const { nodes, edges } = tree.graph;
  const layers = Math.max(1, tree.graph.layers, ...nodes.map((x) => x.layer + 1));
  const rows = Math.max(1, ...nodes.map((x) => x.order + 1));
  const width = PAD * 2 + layers * BOX_W + (layers - 1) * GAP_X;
  const height = PAD * 2 + rows * BOX_H + (rows - 1) * GAP_Y;
  const at = new Map<string, { x: number; y: number }>();
  for (const node of nodes) at.set(node.id, { x: PAD + node.layer * (BOX_W + GAP_X), y: PAD + node.order * (BOX_H + GAP_Y) });
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Dependency graph of ${esc(tree.id)}">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#999"/></marker></defs>`,
  ];
  for (const e of edges) {
    const a = at.get(e.source);
    const c = at.get(e.target);
    if (!a || !c) continue;
    const x1 = a.x + BOX_W;
    const y1 = a.y + BOX_H / 2;
    const x2 = c.x;
    const y2 = c.y + BOX_H / 2;
    const mid = (x1 + x2) / 2;
    const dash = ["blocks", "parent-child", "conditional-blocks", "waits-for"].includes(e.type) ? "" : ` stroke-dasharray="5 4"`;
    out.push(
      `<path class="edge" data-source="${esc(e.source)}" data-target="${esc(e.target)}" d="M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}" fill="none" stroke="${e.blocking ? "#f14c4c" : "#999"}" stroke-width="2"${dash} marker-end="url(#arrow)"><title>${esc(`${e.source} ${e.type} → ${e.target}${e.blocking ? " (blocking)" : ""}`)}</title></path>`,
    );
  }
  for (const node of nodes) {
    const p = at.get(node.id)!;
    out.push(
      `<g class="node" data-bead="${esc(node.id)}" tabindex="0"><title>${esc(`${node.id} ${node.status}: ${node.title}`)}</title>` +
        `<rect x="${p.x}" y="${p.y}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${FILL[node.status] ?? "#1e1e1e"}" stroke="${node.root ? "#3794ff" : "#777"}" stroke-width="${node.root ? 3 : 1}"/>` +
        `<text x="${p.x + 8}" y="${p.y + 17}" font-family="monospace" font-size="12" fill="#ddd">${esc(`${node.id} · ${node.status}`)}</text>` +
        `<text x="${p.x + 8}" y="${p.y + 34}" font-family="sans-serif" font-size="12" fill="#ccc">${esc(clip(node.title, 26))}</text></g>`,
    );
  }
  out.push("</svg>");
  return out.join("\n");
}
