"""The loopback model's mind: a deterministic policy over an API-neutral conversation.

It plays a Gas Town agent the way the ``script`` runtime does, but only
through the shell tool the CLI offers, so every step is a real tool call the
CLI runs (and its hooks and guards see):

1. a role prompt ("Run `gt prime` ...") or a work nudge ("check hook",
   "do your job", ...) -> ``gt prime``;
2. after ``gt prime``: ``gt hook --json`` when something is hooked, a patrol
   wisp (``bd mol wisp mol-<role>-patrol``, and its first step in the same
   call) for an idle Deacon/Witness/Refinery, else end the turn ("hook empty");
3. the hooked bead's molecule is walked: ``bd mol current <mol> --json``,
   then for the first step its ``run`` command (a conditional gate's ``run``
   decides close or ``bd mol skip``), ``bd close <step>``, and the next
   ``bd mol current`` in the same call (one model round trip per step);
4. a finished work molecule is closed (a polecat's issue stays for the
   Refinery; rework after a ``REWORK_REQUEST`` pours a fresh one with
   ``gt apply --rework``), a finished patrol wisp is burned and the next one
   poured (patrols never end their turn, as in Gas Town);
5. "run `<command>`" runs that command and reports its output (or the
   refusal a guard gave);
6. anything else typed to it is a question, answered from the conversation
   so far (the lines of earlier tool output and replies that share the most
   words with it): that is what a nudge to the Mayor or a seance gets.

State lives only in the conversation: each tool call carries its purpose in
the shell tool's ``description`` (a label, then ``[gastown:<kind>[:<arg>]]``), which the
CLI sends back with the history, so the same history always gives the same
reply.  Requests without tools (a CLI's side requests: titles, summaries)
get a short text.
"""

from __future__ import annotations

import hashlib
import json
import re

import msgspec


class ToolCall(msgspec.Struct):
    id: str
    command: str
    description: str = ""


class ToolResult(msgspec.Struct):
    call_id: str
    output: str
    is_error: bool = False


class Turn(msgspec.Struct):
    role: str  # "user" | "assistant"
    text: str = ""
    calls: list[ToolCall] = []
    results: list[ToolResult] = []


class Conversation(msgspec.Struct):
    system: str = ""
    turns: list[Turn] = []
    #: Names of the tools the client offers; ``shell_tool`` is the one used.
    tools: list[str] = []
    shell_tool: str = ""
    model: str = ""


class Usage(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0


class Reply(msgspec.Struct):
    text: str = ""
    calls: list[ToolCall] = []
    usage: Usage = msgspec.field(default_factory=Usage)
    #: What the policy decided, for the stub's log (``prime``, ``step``, ``answer``, ...).
    kind: str = ""

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.calls else "end_turn"


#: Words in a user message that mean "do your work" rather than a question.
WORK_WORDS = re.compile(
    r"\b(gt prime|check (your )?hook|hook|gupp|do your job|work|patrol|run it|wake up|heartbeat)\b", re.I
)
PATROL_ROLES = ("deacon", "witness", "refinery")
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)
_IDENT = re.compile(r"You are (\S+?) \((\w+)\) in Gas Town|You are (\S+?) in Gas Town")
_STOP = set("the a an and or of to in on is are was were be it this that what which who how why did do does you your "
            "me my i we our for with from at by as about tell please can could would should have has had".split())  # fmt: skip


def estimate_tokens(text: str) -> int:
    """About four characters a token, as for English text and code."""
    return max(1, (len(text) + 3) // 4)


def visible_text(text: str) -> str:
    """What the person typed: hook context the CLI adds (``<system-reminder>``) removed."""
    return _REMINDER.sub("", text or "").strip()


def identity(conv: Conversation) -> tuple[str, str]:
    """(address, role kind) from the role prompt or ``gt prime`` output."""
    blobs = [conv.system] + [t.text for t in conv.turns] + [r.output for t in conv.turns for r in t.results]
    address = kind = ""
    for blob in blobs:
        for m in _IDENT.finditer(blob or ""):
            if m.group(1):
                return m.group(1), m.group(2)
            address = address or m.group(3)
    if address:
        kind = address.rsplit("/", 1)[-1] if "/" not in address or address.count("/") == 1 else address.split("/")[1]
        kind = {"polecats": "polecat", "dogs": "dog"}.get(kind, kind)
    return address, kind


_TAG = re.compile(r"\[gastown:([^\]]*)\]\s*$")
_LABELS = {"prime": "Read my role, hook and mail", "hook": "Look at my hook", "current": "The molecule's next step",
           "step": "Do the step, close it, look at the next", "pour": "Pour a patrol wisp", "finish": "Finish the work",
           "rework": "Rework the issue", "run": "Run the requested command"}  # fmt: skip


def _call(conv: Conversation, command: str, kind: str) -> ToolCall:
    """A shell call whose id is a hash of the history so far (deterministic); its purpose rides in the description."""
    digest = hashlib.sha256(f"{len(conv.turns)}\0{command}\0{kind}".encode()).hexdigest()[:24]
    label = _LABELS.get(kind.split(":", 1)[0], "Gas Town step")
    return ToolCall(id=f"toolu_{digest}", command=command, description=f"{label} [gastown:{kind}]")


def tag_of(call: ToolCall) -> str | None:
    """The policy's own tag on a call it made (None: not ours)."""
    desc = call.description or ""
    m = _TAG.search(desc)
    if m:
        return m.group(1)
    return desc[len("gastown:"):] if desc.startswith("gastown:") else None  # the bare form, also accepted


def _json_after(output: str, key: str) -> dict | None:
    """The last JSON object in ``output`` that has ``key`` (pretty-printed by gt/bd)."""
    dec = json.JSONDecoder()
    found = None
    for m in re.finditer(r"^\{", output or "", re.M):
        try:
            obj, _ = dec.raw_decode(output[m.start():])
        except ValueError:
            continue
        if isinstance(obj, dict) and key in obj:
            found = obj
    return found


def _q(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def decide(conv: Conversation) -> Reply:
    reply = _decide(conv)
    prompt = conv.system + "".join(t.text + "".join(c.command for c in t.calls) + "".join(r.output for r in t.results)
                                   for t in conv.turns)  # fmt: skip
    out = reply.text + "".join(c.command + c.description for c in reply.calls)
    reply.usage = Usage(input_tokens=estimate_tokens(prompt) + 40 * len(conv.tools), output_tokens=estimate_tokens(out) + 8)
    return reply


def _decide(conv: Conversation) -> Reply:
    if not conv.turns:
        return Reply(text="Ready.", kind="empty")
    if not conv.shell_tool:
        return Reply(text=_side_text(conv), kind="side")
    last = conv.turns[-1]
    if last.role == "user" and last.results:
        calls = {c.id: c for t in conv.turns if t.role == "assistant" for c in t.calls}
        result = last.results[-1]
        call = calls.get(result.call_id)
        if call is not None and tag_of(call) is not None:
            return _after(conv, call, result)
        return Reply(text="Noted.", kind="foreign-tool")
    return _on_text(conv, visible_text(last.text) or last.text)


def _side_text(conv: Conversation) -> str:
    """A CLI's own side request (session title, topic check, summary): short and plain."""
    text = (conv.system + " " + (conv.turns[-1].text if conv.turns else "")).lower()
    if "json" in text and "title" in text:
        return '{"isNewTopic": false, "title": "Gas Town agent"}'
    if "summar" in text:
        return "Gas Town agent session: primed, worked the hook, answered the overseer."
    return "Gas Town agent"


_RUN = re.compile(r"^\s*(?:please\s+)?run:?\s*`([^`]+)`", re.I)


def _on_text(conv: Conversation, text: str) -> Reply:
    explicit = _RUN.match(text)
    if explicit:  # "run `cmd`": an instruction, done as given (guards decide what may run)
        return Reply(calls=[_call(conv, explicit.group(1), "run")], text="Running it.", kind="run")
    if WORK_WORDS.search(text):
        return Reply(calls=[_call(conv, "gt prime", "prime")], text="Priming: reading my role, hook and mail.", kind="prime")
    return _answer(conv, text)


def _answer(conv: Conversation, question: str) -> Reply:
    address, _ = identity(conv)
    words = {w for w in re.findall(r"[a-z0-9][a-z0-9_.-]{2,}", question.lower()) if w not in _STOP}
    lines: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    for t in conv.turns[:-1]:
        sources = [r.output for r in t.results] + ([t.text] if t.role == "assistant" else [])
        sources += [c.command for c in t.calls]
        for src in sources:
            for line in (src or "").splitlines():
                s = line.strip()
                if not s or s in seen or len(s) > 300:
                    continue
                score = sum(1 for w in words if w in s.lower())
                if score:
                    seen.add(s)
                    lines.append((score, len(lines), s))
    best = sorted(sorted(lines, key=lambda x: -x[0])[:8], key=lambda x: x[1])
    who = f"{address}: " if address else ""
    head = f"{who}you asked: {question.strip()[:200]}"
    if best:
        return Reply(text=head + "\nFrom this session:\n" + "\n".join(f"- {s}" for _, _, s in best), kind="answer")
    return Reply(text=head + "\nNothing in this session mentions that.", kind="answer")


def _after(conv: Conversation, call: ToolCall, result: ToolResult) -> Reply:
    kind, _, arg = (tag_of(call) or "").partition(":")
    address, role = identity(conv)
    out = result.output or ""
    if kind == "prime":
        if re.search(r"^## Your hook \(GUPP", out, re.M):
            return Reply(calls=[_call(conv, "gt hook --json", "hook")], text="Work is on my hook.", kind="hook")
        if role in PATROL_ROLES:
            return _pour_patrol(conv, role, address, "")
        mail = re.search(r"^## Mail: (\d+) unread", out, re.M)
        return Reply(text=f"My hook is empty; {mail.group(1) if mail else 'no'} unread mail. Waiting for work.", kind="idle")
    if kind == "hook":
        data = _json_after(out, "hook") or {}
        for bead in data.get("hook") or []:
            mol = _molecule_of(bead)
            if mol:
                return _current(conv, mol, f"{bead.get('id')}")
        ids = ", ".join(b.get("id", "?") for b in data.get("hook") or []) or "nothing"
        return Reply(text=f"Hooked: {ids}, with no molecule to walk; waiting for instructions.", kind="no-molecule")
    if kind in ("current", "step"):
        issue, _, mol_hint = arg.partition("@")
        data = _json_after(out, "molecule")
        if data is None:
            return _failed(conv, role, address, mol_hint, out)
        if kind == "current" and role == "polecat" and issue and data.get("complete") and not data.get("steps"):
            # Hooked again with its molecule finished: the Refinery sent it back.
            cmd = f"gt apply --rework {issue} --json"
            return Reply(calls=[_call(conv, cmd, f"rework:{issue}")], text=f"{issue} came back: reworking it.", kind="rework")
        return _next_step(conv, data, issue, role, address)
    if kind == "pour":
        data = _json_after(out, "id")
        if data is None:
            return _failed(conv, role, address, "", out)
        cur = _json_after(out, "molecule")
        if cur is not None and cur.get("molecule") == data["id"]:
            return _next_step(conv, cur, "", role, address)  # the pour call already asked for its first step
        return _current(conv, data["id"], "")  # (the actor had another molecule: ask by id)
    if kind == "rework":
        data = _json_after(out, "molecule")
        if data is None:
            return _failed(conv, role, address, "", out)
        return _next_step(conv, data, arg, role, address)
    if kind == "run":
        verdict = "failed" if result.is_error else "finished"
        return Reply(text=f"The command {verdict}:\n" + _tail(out, 6), kind="ran")
    if kind == "finish":
        if result.is_error:
            return _failed(conv, role, address, "", out)
        return Reply(text=f"done: {arg}. " + _tail(out, 3), kind="done")
    return Reply(text="Noted.", kind="unknown")


def _molecule_of(bead: dict) -> str:
    meta = bead.get("metadata")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta or "{}")
        except ValueError:
            meta = {}
    if isinstance(meta, dict):
        for key in ("molecule", "mol", "attached_molecule"):
            if isinstance(meta.get(key), str) and meta[key]:
                return meta[key]
    return ""


def _current(conv: Conversation, mol: str, issue: str) -> Reply:
    return Reply(calls=[_call(conv, f"bd mol current {mol} --json", f"current:{issue}@{mol}")], kind="current")


def _pour_patrol(conv: Conversation, role: str, address: str, prefix_cmd: str) -> Reply:
    rig = address.split("/")[0] if role != "deacon" else ""
    var = f" --var rig={rig}" if rig else ""
    # Then its first step in the same call (`bd mol current` without an id: the actor's only
    # unfinished molecule, which is this wisp once the last one is burned): one model round trip
    # less per patrol cycle; a Claude round trip costs seconds on a loaded machine (docs/benchmarks.md).
    cmd = f"bd mol wisp mol-{role}-patrol{var} -a {address} --json && bd mol current --json"
    return Reply(calls=[_call(conv, prefix_cmd + cmd, "pour")], text=f"Starting a {role} patrol cycle.", kind="pour")


def _next_step(conv: Conversation, data: dict, issue: str, role: str, address: str) -> Reply:
    mol = data.get("molecule", "")
    steps = data.get("steps") or []
    if steps:
        step = steps[0]
        sid = step.get("id", "")
        tag = f"step:{issue}@{mol}"
        nxt = f"bd mol current {mol} --json"
        gate = step.get("gate") if isinstance(step.get("gate"), dict) else None
        if gate is not None:
            test = gate.get("run") or "false"
            cmd = (f"if {test}; then bd close {sid} -r 'gate passed'; else bd mol skip {sid} -r 'gate failed'; fi"
                   f" && {nxt}")  # fmt: skip
        elif step.get("run"):
            cmd = f"{step['run']} && bd close {sid} -r {_q('ran ' + step['run'])} && {nxt}"
        else:
            cmd = f"bd close {sid} -r 'done (loopback model: nothing mechanical)' && {nxt}"
        title = step.get("title") or step.get("step") or sid
        return Reply(calls=[_call(conv, cmd, tag)], text=f"Step {sid}: {title}", kind="step")
    if not data.get("complete"):
        return Reply(text=f"Molecule {mol}: waiting (a step needs someone else).", kind="waiting")
    if role in PATROL_ROLES and not issue:
        return _pour_patrol(conv, role, address, f"bd mol burn {mol} && ")
    if role == "polecat":
        cmd = f"bd close {mol} -r 'all steps closed' && bd show {issue} --json"
        return Reply(calls=[_call(conv, cmd, f"finish:{issue}")], text=f"All steps of {mol} closed.", kind="finish")
    cmd = f"bd close {mol} {issue} -r 'all steps closed'" if issue and issue != mol else f"bd close {mol} -r 'all steps closed'"
    return Reply(calls=[_call(conv, cmd, f"finish:{issue or mol}")], text=f"All steps of {mol} closed.", kind="finish")


def _failed(conv: Conversation, role: str, address: str, mol: str, out: str) -> Reply:
    if role in PATROL_ROLES:
        # As the script patrol does: drop the broken cycle, pause, start a fresh one.
        burn = f"bd mol burn {mol}; " if mol else ""
        return _pour_patrol(conv, role, address, f"{burn}sleep 2; ")
    return Reply(text="A step failed; I leave it open.\n" + _tail(out, 8), kind="failed")


def _tail(text: str, n: int) -> str:
    return "\n".join((text or "").strip().splitlines()[-n:])
