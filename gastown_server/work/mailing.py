"""Mailing lists and work queues: the town's group addresses (SPEC: "lists/queues configured by the town").

Configured in ``<town>/settings/messaging.json``::

    {"lists": {"oncall": ["mayor", "gastown/witness"]},
     "queues": {"triage": {"workers": ["gastown/polecats/*", "mayor"]}}}

- ``list:<name>`` fans out: one message per member (the sender excluded),
  every copy labelled ``list:<name>`` and ``thread:<id of the first copy>``,
  so replies to any copy form one conversation (:func:`mail.thread`).
- ``queue:<name>`` is ONE message owned by the queue (assignee
  ``queue:<name>``, label ``queue:<name>``), unclaimed.  Its workers (exact
  addresses or a prefix ending in ``*``) see it in their inbox;
  :func:`claim` gives the oldest unclaimed message to one worker inside one
  ``BEGIN IMMEDIATE`` transaction, so two claimers never get the same one;
  :func:`release` puts a claimed message back.

The file is validated on load (one error line naming the file and the
field) and written atomically (temp file + rename) under a lock, so two
``gt mail list add`` at once do not lose each other's change.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import msgspec

from ..beads.store import Ledger
from ..errors import Conflict, InvalidInput, NotFound
from . import mail
from .mail import Message

MESSAGING_FILE = "messaging.json"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_NAME_HINT = "lowercase letters, digits, '-' and '_' (at most 64)"


class QueueSettings(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    #: Who may claim: exact addresses, or a prefix ending in ``*`` (``gastown/polecats/*``).
    workers: list[str] = msgspec.field(default_factory=list)


class MessagingConfig(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    lists: dict[str, list[str]] = msgspec.field(default_factory=dict)
    queues: dict[str, QueueSettings] = msgspec.field(default_factory=dict)


class ListView(msgspec.Struct, omit_defaults=False):
    name: str
    #: ``list:<name>``: what to send to.
    address: str
    members: list[str]


class QueueView(msgspec.Struct, omit_defaults=False):
    name: str
    #: ``queue:<name>``: what to send to.
    address: str
    #: The configured patterns.
    workers: list[str]
    #: The town's addresses those patterns match now.
    members: list[str]
    unclaimed: int


class MessagingOverview(msgspec.Struct, omit_defaults=False):
    lists: list[ListView]
    queues: list[QueueView]


class InboxView(msgspec.Struct, omit_defaults=False):
    """An inbox as every client shows it (``gt mail inbox --json``, RPC ``mail/inbox``)."""

    address: str
    messages: list[Message]
    #: The address's own unread mail (:func:`mail.unread_beads`, whatever ``limit`` cut).
    unread: int
    #: How many of ``messages`` are unclaimed queue work.
    queued: int = 0
    #: Set when the queue config is unreadable: own mail is listed, queue work is not.
    warning: str = ""


class Delivery(msgspec.Struct, omit_defaults=False):
    """What one send did: the address as given, its kind and the message(s) it made."""

    to: str
    #: ``direct``, ``list`` or ``queue``.
    kind: str
    messages: list[Message]


# -- the file --------------------------------------------------------------------------------


def config_path(root: Path) -> Path:
    from ..town import layout

    return Path(root) / layout.SETTINGS_DIR / MESSAGING_FILE


def town_root_of(ledger: Ledger) -> Path:
    """The town a ledger belongs to (``<town>/.gastown/ledger.db``)."""
    return ledger.path.resolve().parent.parent


def load(root: Path) -> MessagingConfig:
    """The town's lists and queues (none when the file does not exist); malformed: one clear error."""
    path = config_path(root)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return MessagingConfig()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    try:
        config = msgspec.json.decode(data, type=MessagingConfig)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"{path}: {_where(data) or _one_line(str(exc))}") from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"{path} is not valid JSON: {_one_line(str(exc))}") from None
    try:
        return _validated(config)
    except InvalidInput as exc:
        raise InvalidInput(f"{path}: {exc.message}") from None


def _where(data: bytes) -> str:
    """Name the list or queue whose entry is malformed (msgspec only says ``$.lists[...]`` for a dict value)."""
    raw = msgspec.json.decode(data)
    if not isinstance(raw, dict):
        return ""
    for section, kind in (("lists", list[str]), ("queues", QueueSettings)):
        entries = raw.get(section)
        for name, value in entries.items() if isinstance(entries, dict) else ():
            try:
                msgspec.convert(value, kind)
            except msgspec.ValidationError as exc:
                return f"{section}.{name}: {_one_line(str(exc))}"
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _validated(config: MessagingConfig) -> MessagingConfig:
    """Names and addresses well formed, spellings normalised (``mayor/`` -> ``mayor``), no duplicates."""
    for name, members in config.lists.items():
        _check_name(name, "list")
        config.lists[name] = _dedupe(_address(a, f"list {name!r}") for a in members)
    for name, queue in config.queues.items():
        _check_name(name, "queue")
        queue.workers = _dedupe(_pattern(w, f"queue {name!r}") for w in queue.workers)
    return config


def _dedupe(items) -> list[str]:
    return list(dict.fromkeys(items))


def _check_name(name: str, kind: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidInput(f"bad {kind} name {name!r}: {_NAME_HINT}")


def _address(address: str, where: str) -> str:
    try:
        return mail.normalize_address(address)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.message}") from None


def _pattern(pattern: str, where: str) -> str:
    """An exact address, or a prefix ending in ``*`` (``gastown/polecats/*``; ``*`` alone: everybody)."""
    if not isinstance(pattern, str):
        raise InvalidInput(f"{where}: a worker must be a string")
    if pattern.endswith("*"):
        stem = pattern[:-1]
        if "*" in stem or (stem and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.@/-]*$", stem)):
            raise InvalidInput(f"{where}: bad worker pattern {pattern!r} (an address, or a prefix ending in '*')")
        return pattern
    return _address(pattern, where)


def save(root: Path, config: MessagingConfig) -> None:
    path = config_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(msgspec.json.format(msgspec.json.encode(config), indent=2) + b"\n")
            f.flush()
            os.fsync(f.fileno())  # a crash right after the rename must not leave an empty file
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """The exclusive lock every read-modify-write of the file holds."""
    import fcntl

    from ..paths import STATE_DIR

    config_path(root).parent.mkdir(parents=True, exist_ok=True)
    # The lock lives with the town's state (never in git), not beside the settings file.
    with open(Path(root) / STATE_DIR / "messaging.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextmanager
def _editing(root: Path) -> Iterator[MessagingConfig]:
    """Load, let the caller change, save: under an exclusive lock (read-modify-write loses nothing)."""
    with _locked(root):
        config = load(root)
        yield config
        save(root, config)


# -- editing ---------------------------------------------------------------------------------


def _known(ledger: Ledger, address: str) -> str:
    """The canonical address of a town mailbox (lists hold mailboxes, not other lists or queues)."""
    if address.startswith((mail.LIST_LABEL, mail.QUEUE_LABEL)):
        raise InvalidInput(f"{address!r}: a list holds agents' addresses, not lists or queues")
    return mail.require_known(ledger, address).address


def create_list(ledger: Ledger, root: Path, name: str, members: list[str]) -> ListView:
    _check_name(name, "list")
    if not members:
        raise InvalidInput(f"list {name!r} needs at least one member")
    resolved = _dedupe(_known(ledger, a) for a in members)
    with _editing(root) as config:
        if name in config.lists:
            raise Conflict(f"list:{name} already exists (gt mail list add {name} ADDR to extend it)")
        config.lists[name] = resolved
    return ListView(name, f"list:{name}", resolved)


def add_members(ledger: Ledger, root: Path, name: str, members: list[str]) -> ListView:
    if not members:
        raise InvalidInput("give at least one address to add")
    resolved = [_known(ledger, a) for a in members]
    with _editing(root) as config:
        current = _require_list(config, name)
        config.lists[name] = _dedupe([*current, *resolved])
        out = config.lists[name]
    return ListView(name, f"list:{name}", out)


def remove_members(ledger: Ledger, root: Path, name: str, members: list[str]) -> ListView:
    if not members:
        raise InvalidInput("give at least one address to remove")
    with _editing(root) as config:
        current = _require_list(config, name)
        gone = []
        for a in members:
            addr = mail.normalize_address(a)
            found = addr if addr in current else mail.canonical(addr)
            if found not in current:
                raise NotFound(f"{a!r} is not on list:{name} (members: {', '.join(current) or 'none'})")
            gone.append(found)
        config.lists[name] = [a for a in current if a not in gone]
        out = config.lists[name]
    return ListView(name, f"list:{name}", out)


def delete_list(root: Path, name: str) -> None:
    with _editing(root) as config:
        _require_list(config, name)
        del config.lists[name]


def create_queue(ledger: Ledger, root: Path, name: str, workers: list[str]) -> QueueView:
    _check_name(name, "queue")
    if not workers:
        raise InvalidInput(f"queue {name!r} needs at least one --worker (an address or a prefix ending in '*')")
    patterns = _dedupe(
        w if w.endswith("*") else _known(ledger, w) for w in (_pattern(w, f"queue {name!r}") for w in workers)
    )
    with _editing(root) as config:
        if name in config.queues:
            raise Conflict(f"queue:{name} already exists (gt mail queue delete {name} first)")
        config.queues[name] = QueueSettings(patterns)
    return _queue_view(ledger, name, patterns, mail.directory(ledger))


def delete_queue(ledger: Ledger, root: Path, name: str) -> None:
    """Remove a queue; refused while it still holds unclaimed work (that work would have no owner).

    The count and the file write happen inside one ledger write transaction, and
    :func:`send` checks the queue inside its own: a send and a delete are
    serialised by SQLite, so no message is ever left owned by a deleted queue.
    """
    with _locked(root):
        with ledger.atomic():
            config = load(root)
            _require_queue(config, name)
            waiting = len(_unclaimed_beads(ledger, name))
            if waiting:
                raise Conflict(
                    f"queue:{name} still holds {waiting} unclaimed message(s): claim them first (gt mail claim {name})"
                )
            del config.queues[name]
            save(root, config)


def _require_list(config: MessagingConfig, name: str) -> list[str]:
    if name not in config.lists:
        raise NotFound(f"no list {name!r} (lists: {', '.join(sorted(config.lists)) or 'none'}; see gt mail lists)")
    return config.lists[name]


def _require_queue(config: MessagingConfig, name: str) -> QueueSettings:
    if name not in config.queues:
        raise NotFound(
            f"no queue {name!r} (queues: {', '.join(sorted(config.queues)) or 'none'}; see gt mail lists)"
        )
    return config.queues[name]


# -- reading ---------------------------------------------------------------------------------


def matches(pattern: str, address: str) -> bool:
    if pattern.endswith("*"):
        return address.startswith(pattern[:-1])
    return address == pattern


def worker_queues(config: MessagingConfig, address: str) -> list[str]:
    """The queues ``address`` works (sorted)."""
    addr = mail.canonical(mail.normalize_address(address))
    return sorted(n for n, q in config.queues.items() if any(matches(p, addr) for p in q.workers))


def _queue_view(ledger: Ledger, name: str, workers: list[str], directory) -> QueueView:
    members = [r.address for r in directory if any(matches(p, r.address) for p in workers)]
    return QueueView(name, f"queue:{name}", list(workers), members, len(_unclaimed_beads(ledger, name)))


def overview(ledger: Ledger, root: Path) -> MessagingOverview:
    """Everything configured, queues with their workers resolved against the town's directory."""
    config = load(root)
    directory = mail.directory(ledger)
    return MessagingOverview(
        [ListView(n, f"list:{n}", list(m)) for n, m in sorted(config.lists.items())],
        [_queue_view(ledger, n, q.workers, directory) for n, q in sorted(config.queues.items())],
    )


def _unclaimed_beads(ledger: Ledger, name: str):
    return ledger.list(issue_type=mail.MESSAGE_TYPE, assignee=mail.QUEUE_LABEL + name)


def unclaimed(ledger: Ledger, name: str) -> list[Message]:
    """A queue's unclaimed messages, oldest first."""
    return mail.messages(ledger, _unclaimed_beads(ledger, name))


def queued_for(ledger: Ledger, root: Path, address: str) -> list[Message]:
    """Unclaimed work in every queue ``address`` works, oldest first."""
    return _queued(ledger, load(root), address)


def _queued(ledger: Ledger, config: MessagingConfig, address: str) -> list[Message]:
    out: list[Message] = []
    for name in worker_queues(config, address):
        out.extend(unclaimed(ledger, name))
    out.sort(key=lambda m: (m.created_at, m.id))
    return out


def parse(address: str) -> tuple[str, str]:
    """``(kind, name)``: ``("list", n)``, ``("queue", n)``, or ``("direct", normalized address)``."""
    if not isinstance(address, str):
        raise InvalidInput("an address must be a string")
    addr = address.strip()
    for kind in ("list", "queue"):
        if addr.startswith(f"{kind}:"):
            name = addr[len(kind) + 1 :].rstrip("/")
            _check_name(name, kind)
            return kind, name
    return "direct", mail.normalize_address(addr)


def inbox(
    ledger: Ledger, root: Path | None, address: str, *, unread_only: bool = False, limit: int | None = None,
    include_closed: bool = False,
) -> list[Message]:
    """An inbox: the address's own mail plus unclaimed work of the queues it works, oldest first.

    ``queue:<name>`` as the address lists that queue's unclaimed messages.
    An unreadable queue config fails here (:func:`inbox_view` tolerates it).
    """
    return _inbox(ledger, root, address, unread_only=unread_only, limit=limit, include_closed=include_closed)[0]


def inbox_view(
    ledger: Ledger, root: Path | None, address: str, *, unread_only: bool = False, limit: int | None = None,
    include_closed: bool = False,
) -> InboxView:
    """:func:`inbox` with its counts; a broken messaging.json only costs the queue work (``warning`` says so)."""
    kind, name = parse(address)
    messages, warning = _inbox(ledger, root, address, unread_only=unread_only, limit=limit,
                               include_closed=include_closed, tolerant=True)  # fmt: skip
    unread = len(mail.unread_beads(ledger, name)) if kind == "direct" else 0
    shown = name if kind == "direct" else f"{kind}:{name}"
    return InboxView(shown, messages, unread, sum(1 for m in messages if m.queue), warning)


def _inbox(
    ledger: Ledger, root: Path | None, address: str, *, unread_only: bool, limit: int | None, include_closed: bool,
    tolerant: bool = False,
) -> tuple[list[Message], str]:
    kind, name = parse(address)
    if kind == "list":
        raise InvalidInput(f"list:{name} has no inbox: each member gets a copy in their own")
    if kind == "queue":
        if root is not None:
            _require_queue(load(root), name)
        msgs = unclaimed(ledger, name)
        return (msgs[:limit] if limit else msgs), ""
    own = mail.inbox(ledger, name, unread_only=unread_only, limit=limit, include_closed=include_closed)
    if root is None:
        return own, ""
    try:
        config = load(root)
    except InvalidInput as exc:
        if not tolerant:
            raise
        # Direct mail has nothing to do with the lists/queues file: show it, say what is missing.
        return own, f"queue work not shown: {exc.message}"
    queued = _queued(ledger, config, name)
    if not queued:
        return own, ""
    merged = sorted([*own, *queued], key=lambda m: (m.created_at, m.id))
    return (merged[:limit] if limit else merged), ""


# -- sending, claiming -----------------------------------------------------------------------


def send(
    ledger: Ledger, root: Path | None, to: str, subject: str, body: str = "", *, actor: str, priority: int = 2,
    replies_to: str = "", labels: list[str] | tuple[str, ...] = (),
) -> Delivery:
    """Send to any address: a mailbox (one message), ``list:<name>`` (one per member) or ``queue:<name>``.

    Unknown list or queue: :class:`NotFound`, nothing sent.  A direct address
    is only syntax-checked here (callers that want the directory check call
    :func:`mail.require_known` first, as ``gt mail send`` does).
    """
    kind, name = parse(to)
    if kind == "direct":
        return Delivery(name, kind, [mail.send(ledger, name, subject, body, actor=actor, priority=priority,
                                               replies_to=replies_to, labels=labels)])  # fmt: skip
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidInput("a message needs a subject")
    sender = mail.normalize_address(actor)
    if kind == "queue":
        # Checked inside the write transaction: delete_queue counts its work inside one too.
        with ledger.atomic():
            _require_queue(load(root) if root is not None else MessagingConfig(), name)
            msg = mail.send(ledger, mail.QUEUE_LABEL + name, subject, body, actor=sender, priority=priority,
                            replies_to=replies_to, labels=[mail.QUEUE_LABEL + name, *labels])  # fmt: skip
        return Delivery(f"queue:{name}", kind, [msg])
    config = load(root) if root is not None else MessagingConfig()
    members = [m for m in _require_list(config, name) if mail.canonical(m) != mail.canonical(sender)]
    if not members:
        raise NotFound(f"list:{name} has nobody to send to (members: {', '.join(config.lists[name]) or 'none'})")
    with ledger.mutation("mail_list", sender, "", {"list": name, "subject": subject, "to": members}):
        tag = mail.LIST_LABEL + name
        first = mail.send(ledger, members[0], subject, body, actor=sender, priority=priority,
                          replies_to=replies_to, labels=[tag, *labels])  # fmt: skip
        thread_tag = mail.THREAD_LABEL + (first.thread_id or first.id)
        if not first.thread_id:
            ledger.add_label(first.id, thread_tag, actor=sender)
        ids = [first.id] + [
            mail.send(ledger, m, subject, body, actor=sender, priority=priority, replies_to=replies_to,
                      labels=[tag, thread_tag, *labels]).id
            for m in members[1:]
        ]  # fmt: skip
    return Delivery(f"list:{name}", kind, [mail.show(ledger, i) for i in ids])


def claim(ledger: Ledger, root: Path, queue: str, *, actor: str) -> Message | None:
    """Give the oldest unclaimed message of ``queue`` to ``actor`` (a worker); None when the queue is empty.

    The select and the update run in one ``BEGIN IMMEDIATE`` transaction:
    concurrent claimers are serialised by SQLite, so each message goes to
    exactly one of them.
    """
    kind, name = parse(queue if queue.startswith("queue:") else f"queue:{queue}")
    worker = mail.canonical(mail.normalize_address(actor))
    settings = _require_queue(load(root), name)
    if not any(matches(p, worker) for p in settings.workers):
        raise Conflict(f"{worker} is not a worker of queue:{name} (workers: {', '.join(settings.workers)})")
    with ledger.mutation("mail_claimed", worker, "", {"queue": name}) as rec:
        row = ledger.conn.execute(
            "SELECT id FROM issues WHERE issue_type = ? AND assignee = ? AND status NOT IN ('closed', 'tombstone') "
            "ORDER BY created_at, id LIMIT 1",
            (mail.MESSAGE_TYPE, mail.QUEUE_LABEL + name),
        ).fetchone()
        if row is None:
            return None
        rec.bead_id = row[0]
        ledger.update(row[0], actor=worker, assignee=worker)
    return mail.show(ledger, row[0])


def release(ledger: Ledger, root: Path, message_id: str, *, actor: str) -> Message:
    """Put a claimed queue message back, unclaimed and unread (by its claimer or the Overseer)."""
    who = mail.canonical(mail.normalize_address(actor))
    with ledger.mutation("mail_released", who, message_id):
        bead = mail.require_message(ledger, message_id)
        name = next((lab[len(mail.QUEUE_LABEL):] for lab in ledger.labels(message_id)
                     if lab.startswith(mail.QUEUE_LABEL)), "")  # fmt: skip
        if not name:
            raise InvalidInput(f"message {message_id} did not come from a queue (only queue work can be released)")
        if mail.is_unclaimed(bead):
            raise Conflict(f"message {message_id} is not claimed (it is waiting in queue:{name})")
        if bead.status == "closed":
            raise Conflict(f"message {message_id} is closed ({bead.close_reason or 'acked'}): nothing to release")
        if who not in (bead.assignee, mail.OVERSEER):
            raise Conflict(f"message {message_id} is claimed by {bead.assignee}: only they (or the overseer) can release it")
        _require_queue(load(root), name)
        ledger.update(message_id, actor=who, assignee=mail.QUEUE_LABEL + name)
        if mail.READ_LABEL in ledger.labels(message_id):
            ledger.remove_label(message_id, mail.READ_LABEL, actor=who)
    return mail.show(ledger, message_id)


def release_claims(ledger: Ledger, root: Path, address: str, *, actor: str) -> list[str]:
    """Put back every queue message ``address`` claimed and has not acked/archived (a retired worker's).

    Each goes back to its queue unclaimed and unread, in one transaction; work
    whose queue no longer exists (or with an unreadable queue config) stays
    where it is rather than be handed to a queue nobody serves.  Returns the ids.
    """
    worker = mail.canonical(mail.normalize_address(address))
    try:
        queues = load(root).queues
    except InvalidInput:
        return []
    released: list[str] = []
    with ledger.mutation("mail_released", actor, "", {"worker": worker, "messages": released}):
        beads = ledger.list(issue_type=mail.MESSAGE_TYPE, assignee=worker)
        labels = mail.labels_of(ledger, [b.id for b in beads])
        for bead in beads:
            mine = labels.get(bead.id, ())
            name = next((lab[len(mail.QUEUE_LABEL):] for lab in mine if lab.startswith(mail.QUEUE_LABEL)), "")
            if not name or name not in queues:
                continue
            ledger.update(bead.id, actor=actor, assignee=mail.QUEUE_LABEL + name)
            if mail.READ_LABEL in mine:
                ledger.remove_label(bead.id, mail.READ_LABEL, actor=actor)
            released.append(bead.id)
    return released


# -- nudging -----------------------------------------------------------------------------------


def notify(town, delivery: Delivery) -> list[str]:
    """Nudge running recipients like direct mail does; queue work nudges each running worker once.

    Never fails the send: problems come back as lines to show.
    """
    if delivery.kind != "queue":
        return mail.notify(town, delivery.messages)
    name = delivery.to[len("queue:"):]
    config = load(town.root)
    workers = config.queues[name].workers if name in config.queues else []
    problems: list[str] = []
    for msg in delivery.messages:
        text = f"new work in queue:{name} from {msg.sender or '?'}: {msg.subject} — gt mail claim {name}"
        for r in mail.directory(town.ledger):
            if r.address != msg.sender and any(matches(p, r.address) for p in workers):
                problems += mail.nudge_recipient(town, r, text, sender=msg.sender, done=f"queued {msg.id}")
    return problems
