"""Wire types: the params and result of every method, the params of every notification.

These Structs are the protocol: the server decodes params with them (so a
bad field gets an error naming it), encodes results from them, and
``python -m gastown_server.rpc.docs`` generates ``docs/protocol.md`` (a JSON
Schema per method) from them.

Names: ``initialize`` uses LSP's camelCase names (``clientInfo``,
``serverInfo``) because editors send those; everything else uses the
ledger's snake_case names (a Bead is Beads' JSON shape).  Params reject
unknown fields (a typo is an error, not a silent no-op), except
``initialize``, which editors extend freely.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ..beads.models import Bead, Event
from ..runtime.nudge import NudgeResult
from ..runtime.seance import SeanceAnswer
from ..town.core import Rig
from ..town.identity import Identity
from ..town.lifecycle import SessionRecord, StartResult
from ..town.status import AgentStatus, TmuxStatus
from ..work.convoys import ConvoySummary, ConvoyTree, Stranded
from ..work.mail import Message
from ..work.merge_requests import MergeRequest
from ..work.mailing import MessagingOverview


#: Bounded integers: out-of-range values are refused with the field's name
#: instead of reaching SQLite (which cannot store them).
Limit = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Offset = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
Priority = Annotated[int, msgspec.Meta(ge=0, le=4)]
Cursor = Annotated[int, msgspec.Meta(ge=0, le=2**62)]
SubscriptionId = Annotated[int, msgspec.Meta(ge=1, le=2**62)]


class Params(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every method's params."""


class NoParams(Params):
    pass


# -- session -------------------------------------------------------------------


class ClientInfo(msgspec.Struct, omit_defaults=True):
    name: str = ""
    version: str = ""


class InitializeParams(msgspec.Struct, omit_defaults=True, rename={"client_info": "clientInfo", "process_id": "processId"}):
    """First call of a session.  Required before anything else when the server has a token."""

    client_info: ClientInfo | None = None
    process_id: int | None = None
    #: The town the client wants; must match the server's town if it has one.
    town: str | None = None
    #: Who the client acts as (default ``overseer``); recorded on every event.
    actor: str | None = None
    #: The server's token (``--token``); required when the server has one.
    token: str | None = None


class ServerInfo(msgspec.Struct):
    name: str
    version: str


class TownInfo(msgspec.Struct):
    name: str
    root: str


class InitializeResult(msgspec.Struct, rename={"server_info": "serverInfo", "protocol_version": "protocolVersion"}):
    server_info: ServerInfo
    town: TownInfo | None
    #: Every method this server implements.
    capabilities: list[str]
    #: Every notification it may send.
    notifications: list[str]
    actor: str
    protocol_version: int = 1


class ShutdownResult(msgspec.Struct):
    ok: bool = True


# -- beads -----------------------------------------------------------------------


class BeadIdParams(Params):
    id: str


class BeadListParams(Params):
    #: One status or several; default: every status but closed.
    status: str | list[str] | None = None
    type: str | list[str] | None = None
    assignee: str | None = None
    label: str | None = None
    parent: str | None = None
    #: Only ids with this prefix (``hq``, a rig's prefix).
    prefix: str | None = None
    #: Include closed beads.
    all: bool = False
    limit: Limit | None = 500
    #: Text searched (any case) in the id, title, description and assignee.
    q: str | None = None
    #: A list view's preset: ``open``, ``ready`` (unblocked work), ``blocked``, ``in_progress``,
    #: ``mine`` (assigned to the caller), ``closed`` or ``all``.
    preset: Literal["open", "ready", "blocked", "in_progress", "mine", "closed", "all"] | None = None
    #: Leave out the ledger's plumbing (mail, agents, molecules, gates, wisps) unless ``type`` names it.
    work_only: bool = False
    #: Order: ``created`` (default, oldest first), ``updated``, ``priority``, ``status``, ``id``, ``title``.
    sort: Literal["created", "updated", "priority", "status", "id", "title"] = "created"
    #: Reverse the order.
    desc: bool = False
    #: Skip this many matching beads (paging).
    offset: Offset = 0
    #: Also answer ``total``, how many beads match in all (for "1-200 of 2,143").
    count: bool = False


class BeadsResult(msgspec.Struct):
    beads: list[Bead]


class BeadPageResult(msgspec.Struct, omit_defaults=True):
    beads: list[Bead]
    #: How many beads match in all (only when ``count`` was asked).
    total: int | None = None
    offset: int = 0


class BeadBulkUpdateParams(Params):
    """The same change on every bead of ``ids``: all of them change, or (on any refusal) none."""

    ids: Annotated[list[str], msgspec.Meta(min_length=1, max_length=5000)]
    status: str | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    assignee: str | UnsetType = UNSET
    type: str | UnsetType = UNSET
    #: Labels added where missing / removed where present.
    add_labels: list[str] = []
    remove_labels: list[str] = []
    #: The close reason, when ``status`` is ``closed``.
    reason: str = ""


class BeadBulkUpdateResult(msgspec.Struct):
    beads: list[Bead]
    updated: int


class BeadDepsParams(Params):
    id: str
    #: Levels of blockers and of dependents to follow.
    depth: Annotated[int, msgspec.Meta(ge=1, le=20)] = 3
    #: Most beads in the answer (the graph says ``truncated`` past it).
    max_nodes: Annotated[int, msgspec.Meta(ge=1, le=2000)] = 300


class BeadDepAddParams(Params):
    """``issue`` depends on ``depends_on`` (``bd dep add ISSUE DEPENDS_ON``)."""

    issue: str
    depends_on: str
    #: blocks, parent-child, conditional-blocks, waits-for, related, tracks, discovered-from, ...
    type: str = "blocks"
    #: JSON metadata, e.g. ``{"gate": "any-children"}`` for waits-for.
    metadata: str = ""


class BeadDepRemoveParams(Params):
    """The edge ``issue`` -> ``depends_on`` to remove (``bd dep remove ISSUE DEPENDS_ON``)."""

    issue: str
    depends_on: str


class BeadDepRemoveResult(msgspec.Struct):
    issue_id: str
    depends_on_id: str
    #: The type the removed dependency had.
    type: str
    removed: bool = True


class BeadReadyParams(Params):
    limit: Limit | None = 10
    assignee: str | None = None
    unassigned: bool = False
    type: str | None = None
    label: str | None = None
    priority: Priority | None = None
    parent: str | None = None


class DepSpec(Params):
    id: str
    type: str = "blocks"


class BeadCreateParams(Params):
    title: str
    description: str = ""
    type: str = "task"
    priority: Priority = 2
    status: str = "open"
    assignee: str = ""
    parent: str = ""
    labels: list[str] = []
    deps: list[DepSpec] = []
    design: str = ""
    acceptance_criteria: str = ""
    notes: str = ""
    external_ref: str = ""
    prefix: str | None = None
    #: An explicit id instead of a generated one.
    id: str | None = None
    ephemeral: bool = False


class BeadUpdateParams(Params):
    """Only the fields given change; ``claim`` takes the bead for the caller."""

    id: str
    title: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    design: str | UnsetType = UNSET
    acceptance_criteria: str | UnsetType = UNSET
    notes: str | UnsetType = UNSET
    status: str | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    type: str | UnsetType = UNSET
    assignee: str | UnsetType = UNSET
    external_ref: str | UnsetType = UNSET
    defer_until: str | UnsetType = UNSET
    due_at: str | UnsetType = UNSET
    add_labels: list[str] = []
    remove_labels: list[str] = []
    claim: bool = False


class BeadCloseParams(Params):
    id: str
    reason: str = ""


# -- convoys ---------------------------------------------------------------------


class ConvoyListParams(Params):
    #: ``open`` (default), ``closed``, ``all``, or ``recent``: the last landed convoys, newest first
    #: (``limit`` of them, default 10).
    status: Literal["open", "closed", "all", "recent"] = "open"
    limit: Limit | None = None


class ConvoyListResult(msgspec.Struct):
    convoys: list[ConvoySummary]


class ConvoyCreateParams(Params):
    title: str
    #: Bead ids the convoy tracks.
    tracked: list[str] = []
    description: str = ""
    labels: list[str] = []


class ConvoyAddParams(Params):
    #: The convoy.
    id: str
    #: Beads to track (all exist, or nothing changes; ones already tracked are skipped).
    tracked: list[str]


class ConvoyLandParams(Params):
    id: str
    #: Land even though some tracked beads are not closed.
    force: bool = False


class ConvoyCheckResult(msgspec.Struct):
    #: Convoys landed by this call.
    landed: list[str]
    #: Tracked work nobody is on (open, not blocked, no assignee).
    stranded: list[Stranded]


# -- mail ------------------------------------------------------------------------


class MailInboxParams(Params):
    #: Whose inbox; default: the session's actor.
    address: str | None = None
    unread_only: bool = False
    limit: Limit | None = None


class MailInboxResult(msgspec.Struct):
    address: str
    #: Own mail, plus (for a worker of a queue) that queue's unclaimed messages, whose ``queue`` is set.
    messages: list[Message]
    unread: int
    #: How many of ``messages`` are unclaimed queue work (``mail/claim`` takes one).
    queued: int = 0
    #: Set when settings/messaging.json is unreadable: own mail is listed, queue work is not.
    warning: str = ""


class MailIdParams(Params):
    id: str


class MailSendParams(Params):
    #: A mailbox, ``list:<name>`` (a copy per member) or ``queue:<name>`` (one message a worker claims).
    to: str
    subject: str
    body: str = ""
    priority: Priority = 2


class MailSendResult(Message):
    """The message sent; for ``list:<name>`` the first member's copy, with every copy listed."""

    #: ``direct``, ``list`` or ``queue``.
    kind: str = "direct"
    #: Every recipient reached (one per copy; ``queue:<name>`` for queue work).
    recipients: list[str] = msgspec.field(default_factory=list)
    #: The copies' ids, in ``recipients`` order.
    message_ids: list[str] = msgspec.field(default_factory=list)


class MailClaimParams(Params):
    #: The queue's name (or ``queue:<name>``).
    queue: str
    #: Who claims (a worker of the queue); default: the session's actor.
    address: str | None = None


class MailClaimResult(msgspec.Struct):
    queue: str
    #: The claimed message (now assigned to the claimer), or ``null`` when the queue is empty.
    message: Message | None


class MailReplyParams(Params):
    id: str
    body: str
    subject: str = ""


class MailThreadResult(msgspec.Struct):
    #: The whole conversation (root first, replies in order).
    messages: list[Message]


# -- feed --------------------------------------------------------------------------


class FeedSubscribeParams(Params):
    """Resume after ``cursor`` (an event id); ``null``: from now on."""

    cursor: Cursor | None = None
    #: Only these event kinds (``created``, ``closed``, ...); default: all.
    kinds: list[str] | None = None


class FeedSubscribeResult(msgspec.Struct):
    subscription: int
    #: The newest event id when the subscription started.
    cursor: int


class FeedRecentParams(Params):
    """The newest events, as a feed view opens: patrol noise (wisps, burns, heartbeats) left out
    unless ``noise``; only one ``kind`` or one ``rig`` (its agents' and its beads' events) if given."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=5000)] = 100
    kind: str = ""
    rig: str = ""
    noise: bool = False


class FeedRecentResult(msgspec.Struct):
    #: Oldest first, so a client appends them as it appends pushed events.
    events: list[Event]
    #: The newest event id now: ``feed/subscribe`` from it misses nothing after these.
    cursor: int


class UnsubscribeParams(Params):
    subscription: SubscriptionId


class UnsubscribeResult(msgspec.Struct):
    unsubscribed: bool


# -- transcripts -------------------------------------------------------------------


class TranscriptRangeParams(Params):
    """Give ``agent`` (an address) or ``session`` (a tmux session name)."""

    agent: str | None = None
    session: str | None = None
    #: Byte offset into the live transcript file.
    offset: Offset = 0
    #: Bytes to read (default: to the end, at most 1 MiB).
    length: Offset | None = None
    #: Instead of a byte range: the last N lines as plain text.
    lines: Limit | None = None


class TranscriptRangeResult(msgspec.Struct):
    session: str
    agent: str
    #: Byte range returned; ``end`` is the offset to continue from.
    offset: int
    end: int
    #: Current size of the live transcript.
    size: int
    data: str


class TranscriptSubscribeParams(Params):
    agent: str | None = None
    session: str | None = None
    #: Start at this byte offset; ``null``: at the current end.
    offset: Offset | None = None


class TranscriptSubscribeResult(msgspec.Struct):
    subscription: int
    session: str
    agent: str
    offset: int
    size: int


# -- town --------------------------------------------------------------------------


class LedgerStatus(msgspec.Struct):
    total: int
    by_status: dict[str, int]
    by_type: dict[str, int]
    ready: int
    blocked: int


class ConvoyCounts(msgspec.Struct):
    open: int
    landed: int


class ServerStatus(msgspec.Struct):
    version: str
    pid: int
    clients: int
    feed_subscriptions: int
    transcript_subscriptions: int
    uptime_s: float


class TownStatusResult(msgspec.Struct, omit_defaults=True):
    town: TownInfo
    #: The newest event id (a feed cursor).
    cursor: int
    ledger: LedgerStatus
    convoys: ConvoyCounts
    server: ServerStatus
    #: Rigs, agents, tmux, daemon: absent for a ledger-only town.
    status: TownFullStatus | None = None


class TownFullStatus(msgspec.Struct, omit_defaults=True):
    """What ``gt status`` shows, for a town made by ``gt install`` (absent for a ledger-only one)."""

    rigs: list[Rig]
    agents: list[AgentStatus]
    tmux: TmuxStatus
    daemon: dict
    nudge_failures: list[dict]
    other_sessions: list[str] = []
    #: Every agent's cost together (US dollars; docs/costs.md), and why costs are missing if they are.
    cost_usd: float = 0.0
    costs_error: str = ""
    #: The names of the parked rigs (``rig/park``).
    parked_rigs: list[str] = []


# -- rigs and agents -------------------------------------------------------------------


class RigListResult(msgspec.Struct):
    rigs: list[Rig]
    #: The names of the parked rigs (``rig/park``): nothing starts their agents until ``rig/unpark``.
    parked: list[str] = []


class RigNameParams(Params):
    #: The rig's name (as in ``rig/list``).
    name: str


class RigParkParams(RigNameParams):
    #: Seconds each agent gets to exit before it is killed.
    grace_s: Annotated[float, msgspec.Meta(ge=0, le=120)] = 5.0


class RigRemoveParams(RigNameParams):
    #: Stop its running sessions first (without it, a rig with running sessions is refused).
    force: bool = False


class AgentListResult(msgspec.Struct):
    agents: list[AgentStatus]


class AgentParams(Params):
    """An agent: an address (``mayor``, ``<rig>/witness``, ``<rig>/polecats/<name>``) or a session name."""

    agent: str


class OptionalAgentParams(Params):
    #: Default: the session's actor.
    agent: str | None = None


class AgentShowResult(msgspec.Struct):
    agent: AgentStatus
    identity: Identity
    hook: list[Bead]
    sessions: list[SessionRecord]


class AttachCommandResult(msgspec.Struct):
    agent: str
    session: str
    #: argv of the command an editor terminal runs to attach.
    command: list[str]
    #: The same, quoted for a shell.
    shell: str
    running: bool


class HookResult(msgspec.Struct):
    agent: str
    hook: list[Bead]


class NudgeParams(Params):
    agent: str
    message: str
    #: Seconds attached clients must have been idle (default: town settings).
    idle_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] | None = None
    #: Seconds to wait for idle clients before queueing (default: town settings).
    timeout_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] | None = None


class HandoffParams(Params):
    #: Default: the session's actor.
    agent: str | None = None
    message: str = ""


class SeanceListResult(msgspec.Struct):
    agent: str
    sessions: list[SessionRecord]


class SeanceTalkParams(Params):
    #: A session id from ``seance/list`` (or a unique prefix).
    session_id: str
    question: str
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 120.0
    #: Send ``$/progress`` notifications with this token (``report``: the answer as it arrives).
    progress_token: int | str | None = None
    #: Whose session it is (needed only for one known from its runtime's files alone).
    agent: str = ""


# -- costs ------------------------------------------------------------------------------


class CostSummaryParams(Params):
    #: How to group: by agent address, rig (``town`` for town agents), convoy, or UTC day.
    by: Literal["agent", "rig", "convoy", "day"] = "agent"


# -- formulas and molecules ------------------------------------------------------------


class FormulaListParams(Params):
    #: Include this rig's formulas (``<town>/<rig>/formulas``).
    rig: str | None = None


class FormulaEntry(msgspec.Struct, omit_defaults=True):
    name: str
    layer: str
    path: str
    type: str = ""
    description: str = ""
    error: str = ""
    #: The town's overlay applied to this formula on load (gt formula overlay), if any.
    overlay: str = ""
    #: The molecule kind it pours (``work``, ``patrol``...), when the formula says.
    mol_type: str = ""


class FormulaListResult(msgspec.Struct):
    formulas: list[FormulaEntry]


class FormulaShowParams(Params):
    name: str
    rig: str | None = None


class MolStatusParams(Params):
    #: A molecule root or any of its steps; default: the actor's only unfinished molecule.
    molecule: str | None = None
    #: How many steps to list (0: none).
    steps: Limit = 200


class MolProgress(msgspec.Struct):
    total: int
    closed: int
    open: int
    in_progress: int
    blocked: int
    ready: int
    complete: bool
    started_at: str
    last_closed_at: str
    percent: float


class MolStatusResult(msgspec.Struct):
    root: Bead
    formula: str
    vars: dict
    progress: MolProgress
    #: The steps to work on now (ready, in pour order).
    current: list[Bead]
    steps: list[Bead]


# -- notifications -------------------------------------------------------------------


class EventNotification(msgspec.Struct):
    """``$/gastown/event``: one ledger event, in id order, exactly once per subscription."""

    subscription: int
    event: Event


class ConvoyChangedNotification(msgspec.Struct):
    """``$/gastown/convoyChanged``: a convoy or a bead it tracks changed."""

    convoy: str
    #: The bead that changed (the convoy itself or a tracked bead).
    bead_id: str
    #: The event that caused it.
    event_id: int
    kind: str


class MailArrivedNotification(msgspec.Struct):
    """``$/gastown/mailArrived``: a message was delivered to ``to``."""

    id: str
    to: str
    sender: str
    subject: str
    event_id: int


class AgentChangedNotification(msgspec.Struct):
    """``$/gastown/agentChanged``: an agent bead changed, a session event happened, or work went on or off its hook."""

    agent: str
    event_id: int
    kind: str


class TranscriptNotification(msgspec.Struct):
    """``$/gastown/transcript``: bytes ``[offset, end)`` appended to a transcript.

    ``data`` is UTF-8 text cut on character boundaries; ``rotated`` is true
    on the first chunk after the log was rotated (offsets restart at 0).
    """

    subscription: int
    session: str
    agent: str
    offset: int
    end: int
    data: str
    rotated: bool = False


class ProgressValue(msgspec.Struct, omit_defaults=True):
    kind: Literal["begin", "report", "end"]
    message: str = ""
    percentage: int | None = None


class ProgressNotification(msgspec.Struct):
    """``$/progress``: progress of a long-running request that gave ``progress_token``."""

    token: int | str
    value: ProgressValue


# -- merge queue and doctor ----------------------------------------------------------------


class MqListParams(Params):
    #: One rig's queue ("" for every rig).
    rig: str = ""
    #: Include merged and abandoned merge requests.
    all: bool = False


class MqItem(msgspec.Struct, omit_defaults=False):
    mr: MergeRequest
    #: For a failed one (``blocked``): the gate output tail from the Refinery's MERGE_FAILED mail.
    gate_output: str = ""


class MqListResult(msgspec.Struct, omit_defaults=False):
    items: list[MqItem]


class MqIdParams(Params):
    id: str


class MqRejectParams(Params):
    id: str
    #: Why (required, not blank): told to the polecat.
    reason: str
    #: Mail the polecat the reason.
    notify: bool = True


class MqRejectResult(msgspec.Struct, omit_defaults=False):
    mr: MergeRequest
    #: The id of the MR_REJECTED mail ("" when not notified).
    mail: str = ""


class DoctorRunParams(Params):
    #: Repair what is safe to.
    fix: bool = False
    #: Only these checks, by id (default: every check).
    only: list[str] = msgspec.field(default_factory=list)
