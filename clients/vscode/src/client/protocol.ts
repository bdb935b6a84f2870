// The slice of the gastown-server JSON-RPC protocol this client speaks.
//
// Method and notification names are fixed by the RPC issue (docs/protocol.md
// in the repository documents params and results, generated from
// gastown_server/rpc/types.py).  Results are read through the small
// normalisers below so that an optional field the server omits, or a list
// wrapped in an object, never breaks a tree.

export const Methods = {
  initialize: "initialize",
  townStatus: "town/status",
  rigList: "rig/list",
  agentList: "agent/list",
  agentShow: "agent/show",
  agentAttachCommand: "agent/attachCommand",
  agentTranscript: "agent/transcript",
  convoyList: "convoy/list",
  convoyTree: "convoy/tree",
  convoyCreate: "convoy/create",
  convoyAdd: "convoy/add",
  convoyLand: "convoy/land",
  beadList: "bead/list",
  beadReady: "bead/ready",
  beadShow: "bead/show",
  beadClose: "bead/close",
  mailInbox: "mail/inbox",
  mailRead: "mail/read",
  mailSend: "mail/send",
  mailReply: "mail/reply",
  mailAck: "mail/ack",
  sling: "sling",
  nudge: "nudge",
  handoff: "handoff",
  seanceList: "seance/list",
  seanceTalk: "seance/talk",
  formulaList: "formula/list",
  formulaShow: "formula/show",
  slingCandidates: "sling/candidates",
  feedSubscribe: "feed/subscribe",
  feedRecent: "feed/recent",
  feedUnsubscribe: "feed/unsubscribe",
  transcriptSubscribe: "transcript/subscribe",
  transcriptUnsubscribe: "transcript/unsubscribe",
} as const;

export const Notifications = {
  event: "$/gastown/event",
  convoyChanged: "$/gastown/convoyChanged",
  mailArrived: "$/gastown/mailArrived",
  agentChanged: "$/gastown/agentChanged",
  transcript: "$/gastown/transcript",
} as const;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = Record<string, unknown>;

export interface InitializeResult {
  serverInfo: { name: string; version: string };
  town: { name: string; root: string };
  capabilities: string[];
}

export interface TownStatus {
  name: string;
  root: string;
  tmuxSocket: string;
  tmuxRunning: boolean;
  sessionCount: number;
  daemonRunning: boolean | undefined;
  rigs: string[];
}

export interface Agent {
  address: string;
  role: string;
  rig: string | undefined;
  name: string;
  session: string | undefined;
  state: string;
  running: boolean;
  hook: string | undefined;
  hookTitle: string | undefined;
  lastActivity: string | undefined;
  /** What its sessions cost (US dollars, `gt costs`); undefined when it used no tokens. */
  costUsd: number | undefined;
  /** The session's sandbox in a few words ("bwrap", "bwrap, network none, tmux", "OFF"); undefined = never started. */
  sandbox: string | undefined;
}

export interface Bead {
  id: string;
  title: string;
  status: string;
  issueType: string;
  assignee: string | undefined;
  priority: number | undefined;
}

export interface Convoy extends Bead {
  total: number;
  closed: number;
  /** Every tracked bead is done. */
  landed: boolean;
  /** When the convoy bead was closed (landed), if it was. */
  closedAt: string | undefined;
}

export interface ConvoyTree {
  convoy: Convoy;
  tracked: Bead[];
}

/** What `sling` did: the work on a hook, the convoy tracking it, and where it runs. */
export interface SlingResult {
  /** The bead on the hook (a formula's molecule root when a formula was slung). */
  bead: string;
  title: string;
  convoy: string | undefined;
  convoyCreated: boolean;
  /** The address whose hook holds the work. */
  agent: string;
  rig: string | undefined;
  polecat: string | undefined;
  session: string | undefined;
  worktree: string | undefined;
  branch: string | undefined;
  molecule: string | undefined;
  formula: string | undefined;
  sessionStatus: string | undefined;
}

export interface Mail {
  id: string;
  from: string;
  to: string;
  subject: string;
  body: string;
  read: boolean;
  createdAt: string | undefined;
}

export interface FeedEvent {
  id: number;
  at: string | undefined;
  actor: string | undefined;
  kind: string;
  beadId: string | undefined;
  payload: unknown;
}

export interface TranscriptChunk {
  subscription: number | undefined;
  session: string;
  agent: string | undefined;
  offset: number;
  /** Offset after this chunk (bytes). */
  end: number | undefined;
  data: string;
  /** The log was rotated: offsets restart at 0 with this chunk. */
  rotated: boolean;
}

// ---- normalisers -----------------------------------------------------------

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(o: Obj, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === "string" && v !== "") return v;
  }
  return undefined;
}

function num(o: Obj, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return undefined;
}

function bool(o: Obj, ...keys: string[]): boolean | undefined {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === "boolean") return v;
  }
  return undefined;
}

/** A list result, whether the server returns `[...]` or `{items: [...]}`-style objects. */
export function listOf(result: unknown, ...keys: string[]): Obj[] {
  if (Array.isArray(result)) return result.filter(isObj);
  if (isObj(result)) {
    for (const k of [...keys, "items", "results"]) {
      const v = result[k];
      if (Array.isArray(v)) return v.filter(isObj);
    }
  }
  return [];
}

export function toInitializeResult(r: unknown): InitializeResult {
  const o = isObj(r) ? r : {};
  const si = isObj(o.serverInfo) ? o.serverInfo : isObj(o.server_info) ? o.server_info : {};
  const town = isObj(o.town) ? o.town : {};
  const caps = Array.isArray(o.capabilities) ? o.capabilities.filter((c): c is string => typeof c === "string") : [];
  return {
    serverInfo: { name: str(si, "name") ?? "gastown-server", version: str(si, "version") ?? "?" },
    town: { name: str(town, "name") ?? "", root: str(town, "root", "path") ?? "" },
    capabilities: caps,
  };
}

export function toTownStatus(r: unknown): TownStatus {
  const o = isObj(r) ? r : {};
  const town = isObj(o.town) ? o.town : o;
  const tmux = isObj(o.tmux) ? o.tmux : {};
  const daemon = isObj(o.daemon) ? o.daemon : {};
  const rigs = listOf(o.rigs).map((x) => str(x, "name") ?? "").filter(Boolean);
  if (rigs.length === 0 && Array.isArray(o.rigs)) {
    for (const x of o.rigs) if (typeof x === "string") rigs.push(x);
  }
  return {
    name: str(town, "name") ?? str(o, "name") ?? "",
    root: str(town, "root", "path") ?? str(o, "root") ?? "",
    tmuxSocket: str(tmux, "socket") ?? "",
    tmuxRunning: bool(tmux, "running") ?? false,
    sessionCount: num(tmux, "session_count", "sessionCount") ?? 0,
    daemonRunning: bool(daemon, "running"),
    rigs,
  };
}

const RUNNING_STATES = new Set(["running", "working", "idle", "active", "busy", "spawning", "started", "up"]);

export function toAgent(o: Obj): Agent {
  const address = str(o, "address", "actor", "id") ?? "?";
  const parts = address.split("/").filter(Boolean);
  const role = str(o, "role") ?? (parts.length >= 2 ? (parts[1] === "polecats" ? "polecat" : parts[1] === "crew" ? "crew" : parts[1]!) : parts[0] ?? "?");
  const rig = str(o, "rig") ?? (parts.length >= 2 ? parts[0] : undefined);
  // The hook: a bead id, a bead object, or a list of hooked beads (gt status --json).
  const hookRaw = Array.isArray(o.hook) ? o.hook[0] : o.hook;
  const hookObj = isObj(hookRaw) ? hookRaw : undefined;
  const hook = hookObj ? str(hookObj, "id", "bead_id") : typeof hookRaw === "string" && hookRaw ? hookRaw : str(o, "hook_bead", "hookBead");
  const state = str(o, "state", "agent_state", "status") ?? "unknown";
  const running = bool(o, "running", "alive", "session_running") ?? RUNNING_STATES.has(state);
  return {
    address,
    role,
    rig,
    name: str(o, "name") ?? parts[parts.length - 1] ?? address,
    session: str(o, "session", "session_name"),
    state,
    running,
    hook,
    hookTitle: hookObj ? str(hookObj, "title") : str(o, "hook_title", "hookTitle"),
    lastActivity: str(o, "last_activity", "lastActivity"),
    costUsd: (num(o, "tokens") ?? 0) > 0 ? num(o, "cost_usd", "costUsd") : undefined,
    sandbox: sandboxText(o.sandbox),
  };
}

/**
 * The state to show.  The ledger's state and the tmux session are two sources: right after a
 * sling the ledger says "running" (or "spawning") before the session exists, which read as the
 * contradictory "running, no session".  A state that claims a live session without one is shown
 * as "starting" (it becomes "running" with the session's agentChanged push); other states
 * without a session keep the note.
 */
export function agentStateLabel(a: Agent): string {
  if (a.running) return a.state;
  if (LIVE_STATES.has(a.state.toLowerCase())) return "starting";
  return `${a.state}, no session`;
}

const LIVE_STATES = new Set(["running", "working", "active", "busy", "spawning", "started", "up"]);

/** A cost for display: `$0.0123` under a dollar, `$12.50` above. */
export function formatUsd(usd: number): string {
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** agent/list's `sandbox` object in a few words (docs/security.md). */
export function sandboxText(box: unknown): string | undefined {
  if (!isObj(box)) return undefined;
  if (box.enabled === false) return "OFF";
  const extras: string[] = [];
  if (box.network === "none") extras.push("network none");
  if (box.tmux === true) extras.push("tmux");
  if (box.git_broker === true) extras.push("git broker");
  const rw = Array.isArray(box.rw) ? box.rw.length : 0;
  const ro = Array.isArray(box.ro) ? box.ro.length : 0;
  extras.push(`${rw} rw / ${ro} ro`);
  return [str(box, "tool") ?? "sandbox", ...extras].join(", ");
}

export function toBead(o: Obj): Bead {
  return {
    id: str(o, "id") ?? "?",
    title: str(o, "title") ?? "",
    status: str(o, "status") ?? "open",
    issueType: str(o, "issue_type", "type", "issueType") ?? "task",
    assignee: str(o, "assignee"),
    priority: num(o, "priority"),
  };
}

export function toConvoy(o: Obj, tracked?: Bead[]): Convoy {
  const inner = isObj(o.convoy) ? o.convoy : o;
  const progress = isObj(o.progress) ? o.progress : isObj(inner.progress) ? inner.progress : {};
  const total = num(progress, "total") ?? num(o, "total", "tracked_count", "total_count") ?? num(inner, "total", "tracked_count") ?? tracked?.length ?? 0;
  const closed = num(progress, "closed", "done") ?? num(o, "closed", "closed_count", "done") ?? num(inner, "closed", "closed_count") ?? tracked?.filter((b) => b.status === "closed").length ?? 0;
  const bead = toBead(inner);
  const landed = bool(o, "landed") ?? bool(inner, "landed") ?? (bead.status === "closed" || (total > 0 && closed === total));
  return { ...bead, total, closed, landed, closedAt: str(o, "closed_at") ?? str(inner, "closed_at") };
}

/** One variable a formula declares (`formula/show` result's `vars` table), for a prompt. */
export interface FormulaVar {
  name: string;
  description: string;
  /** The declared default as text; undefined when there is none. */
  defaultValue?: string;
  required: boolean;
}

/** The variables of a `formula/show` result, required ones first, then by name. */
export function formulaVars(show: unknown): FormulaVar[] {
  const vars = isObj(show) && isObj(show.vars) ? show.vars : {};
  const out: FormulaVar[] = [];
  for (const [name, spec] of Object.entries(vars)) {
    const o = isObj(spec) ? spec : {};
    const d = o.default;
    const defaultValue = d === undefined || d === null ? undefined : typeof d === "string" ? d : JSON.stringify(d);
    out.push({ name, description: str(o, "description") ?? "", defaultValue, required: bool(o, "required") ?? false });
  }
  return out.sort((a, b) => Number(b.required) - Number(a.required) || a.name.localeCompare(b.name));
}

/** `sling` params: exactly one of `bead` and `formula`, the target, and formula variables. */
export function slingParams(what: string, kind: "bead" | "formula", target?: string, vars?: Record<string, string>): Obj {
  const p: Obj = { [kind]: what.trim() };
  if (target && target.trim()) p.target = target.trim();
  if (vars && Object.keys(vars).length > 0) p.vars = vars;
  return p;
}

export function toSlingResult(r: unknown, what = "", target = ""): SlingResult {
  const o = isObj(r) ? r : {};
  return {
    bead: str(o, "bead", "id") ?? what,
    title: str(o, "title") ?? "",
    convoy: str(o, "convoy", "convoy_id"),
    convoyCreated: bool(o, "convoy_created") ?? false,
    agent: str(o, "agent", "target", "assignee") ?? target,
    rig: str(o, "rig"),
    polecat: str(o, "polecat"),
    session: str(o, "session"),
    worktree: str(o, "worktree"),
    branch: str(o, "branch"),
    molecule: str(o, "molecule"),
    formula: str(o, "formula"),
    sessionStatus: str(o, "session_status"),
  };
}

/** One line for the user: what went where, and the convoy that tracks it. */
export function describeSling(r: SlingResult): string {
  const what = r.formula ? `${r.formula} (${r.bead})` : r.bead;
  const parts = [`slung ${what} to ${r.agent}`];
  if (r.session) parts.push(`session ${r.session}${r.sessionStatus ? ` ${r.sessionStatus}` : ""}`);
  else if (r.sessionStatus) parts.push(r.sessionStatus);
  if (r.convoy) parts.push(`${r.convoyCreated ? "new convoy" : "convoy"} ${r.convoy}`);
  return parts.join("; ");
}

export function toConvoyTree(r: unknown): ConvoyTree {
  const o = isObj(r) ? r : {};
  const tracked = listOf(o.tracked ?? o.beads ?? o.children).map(toBead);
  return { convoy: toConvoy(o, tracked), tracked };
}

export function toMail(o: Obj): Mail {
  const labels = Array.isArray(o.labels) ? o.labels : [];
  const read = bool(o, "read", "is_read") ?? (labels.includes("read") || o.status === "closed");
  return {
    id: str(o, "id") ?? "?",
    from: str(o, "from", "sender") ?? "?",
    to: str(o, "to", "recipient", "assignee") ?? "",
    subject: str(o, "subject", "title") ?? "(no subject)",
    body: str(o, "body", "description") ?? "",
    read,
    createdAt: str(o, "created_at", "createdAt", "at"),
  };
}

export function toFeedEvent(r: unknown): FeedEvent | undefined {
  if (!isObj(r)) return undefined;
  const e = isObj(r.event) ? r.event : r;
  const id = num(e, "id", "cursor");
  if (id === undefined) return undefined;
  return {
    id,
    at: str(e, "at", "created_at"),
    actor: str(e, "actor"),
    kind: str(e, "kind", "type", "event_type") ?? "event",
    beadId: str(e, "bead_id", "beadId", "issue_id"),
    payload: e.payload,
  };
}

export function toTranscriptChunk(r: unknown): TranscriptChunk | undefined {
  if (!isObj(r)) return undefined;
  const data = str(r, "data", "text", "chunk");
  if (data === undefined) return undefined;
  return {
    subscription: num(r, "subscription"),
    session: str(r, "session") ?? "",
    agent: str(r, "agent", "address"),
    offset: num(r, "offset") ?? 0,
    end: num(r, "end"),
    data,
    rotated: bool(r, "rotated") ?? false,
  };
}

/** Strip ANSI escape sequences (colours, cursor moves) from a whole text (see TerminalText for a stream). */
export function stripAnsi(s: string): string {
  const t = new TerminalText();
  return t.feed(s) + t.flush();
}

// CSI ... final byte, OSC ... BEL/ST, and two-byte escapes.
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b\[([0-?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/y;
// eslint-disable-next-line no-control-regex
const PARTIAL_ESCAPE = /^\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?)?$/;

/**
 * A pane's raw output as plain lines, fed chunk by chunk.  Where the terminal starts a new
 * line without a "\n" (a bare CR, a cursor move down or to another row) this emits one, so
 * that text the pane shows on separate rows is not glued together ("ready for inputstatus
 * please").  An escape sequence or a CR split across two chunks is held back until the next.
 */
export class TerminalText {
  private pending = "";
  /** The last character emitted ("\n" at the start: no blank line first). */
  private last = "\n";

  feed(chunk: string): string {
    const s = this.pending + chunk;
    this.pending = "";
    let out = "";
    const newline = () => {
      if (this.last !== "\n") {
        out += "\n";
        this.last = "\n";
      }
    };
    let i = 0;
    while (i < s.length) {
      const ch = s[i]!;
      if (ch === "\x1b") {
        ESCAPE.lastIndex = i;
        const m = ESCAPE.exec(s);
        if (!m) {
          if (PARTIAL_ESCAPE.test(s.slice(i))) {
            this.pending = s.slice(i);
            break;
          }
          i++; // a lone ESC: drop it
          continue;
        }
        const final = m[2];
        const args = m[1] ?? "";
        // Cursor down / next line / to a row (H, f, d with a row other than the current one): a new line.
        if (final === "B" || final === "E" || ((final === "H" || final === "f" || final === "d") && args !== "")) newline();
        i += m[0].length;
        continue;
      }
      if (ch === "\r") {
        if (i + 1 === s.length) {
          this.pending = "\r"; // the "\n" may come in the next chunk
          break;
        }
        if (s[i + 1] !== "\n") newline();
        i++;
        continue;
      }
      out += ch;
      this.last = ch;
      i++;
    }
    return out;
  }

  /** Whatever is held back, at the end of the stream. */
  flush(): string {
    const p = this.pending;
    this.pending = "";
    if (p === "\r" && this.last !== "\n") {
      this.last = "\n";
      return "\n";
    }
    return "";
  }

  reset(): void {
    this.pending = "";
    this.last = "\n";
  }
}

/** The argv to run for `agent/attachCommand`'s result ({command: argv, shell}). */
export function attachArgv(r: unknown): string[] | undefined {
  if (isObj(r) && Array.isArray(r.command) && r.command.length) return r.command.map(String);
  if (isObj(r) && Array.isArray(r.argv) && r.argv.length) return r.argv.map(String);
  const shell = isObj(r) ? (typeof r.shell === "string" ? r.shell : typeof r.command === "string" ? r.command : undefined) : typeof r === "string" ? r : undefined;
  return shell ? ["/bin/sh", "-c", shell] : undefined;
}

/** A nudge's result: failures are results ({status: "failed", reason}), not errors. */
export function checkNudge(r: unknown, agent: string): string {
  const status = isObj(r) && typeof r.status === "string" ? r.status : "delivered";
  if (status === "failed") throw new Error(`the nudge to ${agent} failed: ${isObj(r) && typeof r.reason === "string" && r.reason ? r.reason : "no reason given"}`);
  return status;
}

/** The one line a user sees after a nudge: delivered, queued (the pane was busy), or failed with its reason. */
export function describeNudge(r: unknown, agent: string): { ok: boolean; text: string } {
  const o = isObj(r) ? r : {};
  const status = str(o, "status") ?? "delivered";
  const reason = str(o, "reason");
  if (status === "failed") return { ok: false, text: `nudge to ${agent} failed: ${reason ?? "no reason given"}` };
  if (status === "queued") return { ok: true, text: `nudge to ${agent} queued (busy): delivered when its pane is idle${reason ? ` (${reason})` : ""}` };
  return { ok: true, text: `nudge to ${agent} ${status}` };
}

/** One item a sling picker offers (`sling/candidates`). */
export interface SlingCandidate {
  kind: "bead" | "formula";
  id: string;
  title: string;
  status: string;
  priority: number | undefined;
  issueType: string;
  internal: boolean;
  why: string;
}

/** `sling/candidates`' list, in the server's order (real work first). */
export function toSlingCandidates(r: unknown): SlingCandidate[] {
  return listOf(r, "candidates").map((o) => ({
    kind: o.kind === "formula" ? "formula" : "bead",
    id: str(o, "id") ?? "?",
    title: str(o, "title") ?? "",
    status: str(o, "status") ?? "",
    priority: num(o, "priority"),
    issueType: str(o, "issue_type") ?? "",
    internal: bool(o, "internal") ?? false,
    why: str(o, "why") ?? "",
  }));
}

export function isObject(v: unknown): v is Obj {
  return isObj(v);
}
