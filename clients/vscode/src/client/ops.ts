// The operator's data: town status (rigs, agents, daemon, patrol, costs,
// failures), the ready/blocked board, the merge queue and doctor findings.
//
// Like TownStore it loads snapshots on (re)connect and after that refreshes
// only on server pushes ($/gastown/event, $/gastown/agentChanged), coalesced
// so that a burst of events costs one request per part; nothing polls.
// Doctor runs on demand only (its checks touch the disk and tmux).  The feed
// subscription whose $/gastown/event pushes it follows is TownStore's (one
// per connection); OpsStore only listens.

import { Emitter, type Disposable, type Event } from "vscode-jsonrpc/node";
import { describeError, type GastownConnection } from "./connection";
import { isObject, Notifications, toAgent, toBead, type Agent, type Bead } from "./protocol";

export const OpsMethods = {
  townStatus: "town/status",
  workBoard: "work/board",
  mqList: "mq/list",
  mqRetry: "mq/retry",
  mqReject: "mq/reject",
  doctorRun: "doctor/run",
  rigAdd: "rig/add",
  rigPark: "rig/park",
  rigUnpark: "rig/unpark",
  rigRemove: "rig/remove",
  crewAdd: "crew/add",
  agentStart: "agent/start",
  agentStop: "agent/stop",
  agentRestart: "agent/restart",
  agentNuke: "agent/nuke",
  formulaPour: "formula/pour",
  formulaShow: "formula/show",
  formulaList: "formula/list",
  molStatus: "mol/status",
  hookShow: "hook/show",
  broadcast: "mail/broadcast",
  escalate: "escalate",
} as const;

type Obj = Record<string, unknown>;

const s = (o: Obj, k: string): string => (typeof o[k] === "string" ? (o[k] as string) : typeof o[k] === "number" ? String(o[k]) : "");
const n = (o: Obj, k: string): number => (typeof o[k] === "number" ? (o[k] as number) : 0);
const b = (o: Obj, k: string): boolean => o[k] === true;
const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObject) : []);

export interface RigInfo {
  name: string;
  prefix: string;
  url: string;
  /** Parked (rig/park): its agents are down and nothing restarts them until rig/unpark. */
  parked: boolean;
}

export interface FullStatus {
  town: string;
  root: string;
  /** A ledger-only town (bd init) has no rigs, agents or daemon. */
  ledgerOnly: boolean;
  rigs: RigInfo[];
  agents: Agent[];
  /** Agents whose session runs but whose pane's process is gone (a dead pane). */
  dead: Set<string>;
  daemon: { running: boolean; pid: number; beats: number; intervalS: number };
  tmux: { socket: string; running: boolean; sessions: number };
  costUsd: number;
  costsError: string;
  nudgeFailures: { session: string; reason: string }[];
  ledger: { total: number; ready: number; blocked: number };
}

export function toFullStatus(r: unknown): FullStatus {
  const o = isObject(r) ? r : {};
  const town = isObject(o.town) ? o.town : {};
  const st = isObject(o.status) ? o.status : undefined;
  const led = isObject(o.ledger) ? o.ledger : {};
  const daemon = st && isObject(st.daemon) ? st.daemon : {};
  const tmux = st && isObject(st.tmux) ? st.tmux : {};
  return {
    town: s(town, "name"),
    root: s(town, "root"),
    ledgerOnly: st === undefined,
    rigs: objs(st?.rigs).map((x) => ({ name: s(x, "name"), prefix: s(x, "prefix"), url: s(x, "url"), parked: Array.isArray(st?.parked_rigs) && st.parked_rigs.includes(s(x, "name")) })),
    agents: objs(st?.agents).map(toAgent),
    dead: new Set(objs(st?.agents).filter((a) => a.running === true && a.alive === false).map((a) => s(a, "address"))),
    daemon: { running: b(daemon, "running"), pid: n(daemon, "pid"), beats: n(daemon, "beats"), intervalS: n(daemon, "interval_s") },
    tmux: { socket: s(tmux, "socket"), running: b(tmux, "running"), sessions: n(tmux, "session_count") },
    costUsd: st ? n(st, "cost_usd") : 0,
    costsError: st ? s(st, "costs_error") : "",
    nudgeFailures: objs(st?.nudge_failures).map((x) => ({ session: s(x, "session"), reason: s(x, "reason") })),
    ledger: { total: n(led, "total"), ready: n(led, "ready"), blocked: n(led, "blocked") },
  };
}

/** Roles that patrol the town (their health is the town's). */
export const PATROL_ROLES = new Set(["deacon", "witness", "refinery"]);

/** An agent's state in one word, as `gt status` shows it: a session that is not running is stopped. */
export function opsAgentState(a: Agent, dead?: Set<string>): string {
  if (!a.running) return "stopped";
  if (dead?.has(a.address)) return "dead";
  return a.state && a.state !== "unknown" ? a.state : "running";
}

/** Agents whose state is a failure (dead pane, stuck). */
export function failingAgents(st: FullStatus): Agent[] {
  return st.agents.filter((a) => a.running && (st.dead.has(a.address) || /^(dead|stuck|dialog)/.test(a.state)));
}

export interface BlockedBead {
  bead: Bead;
  blockers: string[];
}

export interface Board {
  ready: Bead[];
  blocked: BlockedBead[];
}

export function toBoard(r: unknown): Board {
  const o = isObject(r) ? r : {};
  return {
    ready: objs(o.ready).map(toBead),
    blocked: objs(o.blocked).map((x) => ({
      bead: toBead(isObject(x.bead) ? x.bead : {}),
      blockers: Array.isArray(x.blockers) ? x.blockers.filter((y): y is string => typeof y === "string") : [],
    })),
  };
}

export interface MqItem {
  id: string;
  title: string;
  status: string;
  branch: string;
  head: string;
  polecat: string;
  closeReason: string;
  gateOutput: string;
}

export function toMqItems(r: unknown): MqItem[] {
  const o = isObject(r) ? r : {};
  return objs(o.items).map((i) => {
    const mr = isObject(i.mr) ? i.mr : {};
    const meta = isObject(mr.meta) ? mr.meta : {};
    return {
      id: s(mr, "id"),
      title: s(mr, "title"),
      status: s(mr, "status"),
      branch: s(meta, "branch"),
      head: s(meta, "head").slice(0, 12),
      polecat: s(meta, "polecat"),
      closeReason: s(mr, "close_reason"),
      gateOutput: s(i, "gate_output"),
    };
  });
}

/** Merge request statuses in display order, with their group names. */
export const MQ_GROUPS: [string, string][] = [
  ["open", "Pending"],
  ["in_progress", "Running"],
  ["deferred", "Rework"],
  ["blocked", "Failed"],
  ["closed", "Merged or abandoned"],
];

export interface Finding {
  check: string;
  severity: string;
  message: string;
  fix: string;
}

export interface DoctorReport {
  ok: boolean;
  errors: number;
  warnings: number;
  findings: Finding[];
}

const SEVERITY_ORDER: Record<string, number> = { error: 0, warning: 1, info: 2, ok: 3 };

export function toDoctorReport(r: unknown): DoctorReport {
  const o = isObject(r) ? r : {};
  const findings = objs(o.findings)
    .map((f) => ({ check: s(f, "check"), severity: s(f, "severity"), message: s(f, "message"), fix: s(f, "fix") }))
    .sort((a, c) => (SEVERITY_ORDER[a.severity] ?? 2) - (SEVERITY_ORDER[c.severity] ?? 2));
  return { ok: b(o, "ok"), errors: n(o, "errors"), warnings: n(o, "warnings"), findings };
}

export interface MolStatus {
  id: string;
  title: string;
  formula: string;
  closed: number;
  total: number;
  percent: number;
  complete: boolean;
  current: string[];
  steps: Bead[];
}

export function toMolStatus(r: unknown): MolStatus {
  const o = isObject(r) ? r : {};
  const root = isObject(o.root) ? o.root : {};
  const p = isObject(o.progress) ? o.progress : {};
  return {
    id: s(root, "id"),
    title: s(root, "title"),
    formula: s(o, "formula"),
    closed: n(p, "closed"),
    total: n(p, "total"),
    percent: n(p, "percent"),
    complete: b(p, "complete"),
    current: objs(o.current).map((x) => s(x, "id")),
    steps: objs(o.steps).map(toBead),
  };
}

export type OpsPart = "status" | "board" | "mq" | "doctor";

const PART_METHOD: Record<Exclude<OpsPart, "doctor">, string> = {
  status: OpsMethods.townStatus,
  board: OpsMethods.workBoard,
  mq: OpsMethods.mqList,
};

/** How long pushes are gathered before one refresh (a sling or a landing is a burst of events). */
const COALESCE_MS = 120;

export interface OpsChange {
  part: OpsPart;
  /** performance.now() of the push that caused it (undefined for a load on connect). */
  pushedAt: number | undefined;
}

export class OpsStore {
  status: FullStatus | undefined;
  board: Board | undefined;
  mq: MqItem[] = [];
  doctor: DoctorReport | undefined;
  readonly errors = new Map<OpsPart, string>();
  private readonly _onDidChange = new Emitter<OpsChange>();
  readonly onDidChange: Event<OpsChange> = this._onDidChange.event;
  private readonly subs: Disposable[] = [];
  private readonly timers = new Map<OpsPart, { timer: ReturnType<typeof setTimeout>; pushedAt: number }>();

  constructor(
    private readonly conn: GastownConnection,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.subs.push(
      conn.onDidConnect(() => void this.loadAll()),
      conn.onNotification(Notifications.event, () => {
        const t = performance.now();
        this.schedule("status", t);
        this.schedule("board", t);
        this.schedule("mq", t);
      }),
      conn.onNotification(Notifications.agentChanged, () => this.schedule("status", performance.now())),
    );
  }

  async loadAll(): Promise<void> {
    await Promise.all([this.load("status", undefined), this.load("board", undefined), this.load("mq", undefined)]);
  }

  private schedule(part: Exclude<OpsPart, "doctor">, pushedAt: number): void {
    if (this.timers.has(part)) return;
    const timer = setTimeout(() => {
      const t = this.timers.get(part);
      this.timers.delete(part);
      void this.load(part, t?.pushedAt);
    }, COALESCE_MS);
    this.timers.set(part, { timer, pushedAt });
  }

  async load(part: Exclude<OpsPart, "doctor">, pushedAt: number | undefined): Promise<void> {
    try {
      const r = await this.conn.request(PART_METHOD[part], part === "board" ? { limit: 200 } : {});
      if (part === "status") this.status = toFullStatus(r);
      else if (part === "board") this.board = toBoard(r);
      else this.mq = toMqItems(r);
      this.errors.delete(part);
    } catch (e) {
      this.errors.set(part, describeError(e));
      this.log(`[ops] ${PART_METHOD[part]} failed: ${describeError(e)}`);
    }
    this._onDidChange.fire({ part, pushedAt });
  }

  async runDoctor(): Promise<DoctorReport> {
    try {
      this.doctor = toDoctorReport(await this.conn.request(OpsMethods.doctorRun, {}));
      this.errors.delete("doctor");
    } catch (e) {
      this.errors.set("doctor", describeError(e));
      throw e;
    } finally {
      this._onDidChange.fire({ part: "doctor", pushedAt: undefined });
    }
    return this.doctor;
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    for (const d of this.subs) d.dispose();
    this._onDidChange.dispose();
  }
}
