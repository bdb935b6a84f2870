"""The ledger: one SQLite database (WAL) per town, safe for many processes.

Every public mutation is one ``BEGIN IMMEDIATE`` transaction that also
appends exactly one row to ``events``; several mutations can be grouped
into one transaction (and one event) with :meth:`Ledger.mutation`.
Readers never block writers (WAL); writers queue on SQLite's busy handler
and, past that, on a bounded retry loop, so callers never see "database is
locked".
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import msgspec

from ..errors import Conflict, GastownError, InvalidInput, NotFound, SecretRefused
from ..paths import STATE_DIR
from . import clock, feedlog, ids, limits, readiness
from .filters import Where
from .models import (
    BEAD_COLUMNS,
    BEAD_SELECT,
    BLOCKING_DEP_TYPES,
    DEP_TYPES,
    DONE_STATUSES,
    ISSUE_TYPES,
    PRIORITY_MAX,
    PRIORITY_MIN,
    STATUSES,
    Bead,
    Comment,
    Dependency,
    Event,
    vocabulary,
)
from . import schema
from .schema import READY_PREDICATE, SCHEMA_VERSION

BUSY_TIMEOUT_S = 30.0
_RETRIES = 50
#: The WAL is truncated back to this size after each checkpoint.
WAL_SIZE_LIMIT = 4 * 1024 * 1024
#: Longest a committer waits for a bounding checkpoint (it holds other writers meanwhile).
WAL_CHECKPOINT_WAIT_S = 1.0
#: Bounding checkpoints are at least this far apart (across processes: the gate file's mtime).
WAL_CHECKPOINT_SPACING_S = 0.02

_SELECT = "SELECT " + BEAD_SELECT + " FROM issues"
_UPDATABLE = frozenset(BEAD_COLUMNS) - {"id", "created_at", "created_by"}
_BOOL_COLUMNS = ("ephemeral", "pinned")
_RECENT_S = 48 * 3600


def _row_to_bead(row: Sequence) -> Bead:
    values = dict(zip(BEAD_COLUMNS, row))
    for col in _BOOL_COLUMNS:
        values[col] = bool(values[col])
    return Bead(**values)


def secure_state(ledger: Path, *, create: bool = False) -> None:
    """A town's ``.gastown/`` is 0700 and its ledger files 0600 (new towns, and old ones on open).

    Beads hold the town's work, mail and agents' notes: no other local user
    reads them.  A directory we do not own is left as it is.
    """
    state = ledger.parent
    if create and not ledger.exists():
        os.close(os.open(ledger, os.O_WRONLY | os.O_CREAT, 0o600))
    try:
        if state.stat().st_mode & 0o077:
            os.chmod(state, 0o700)
        for p in (ledger, ledger.with_name(ledger.name + "-wal"), ledger.with_name(ledger.name + "-shm")):
            if p.exists() and p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
    except OSError:
        pass


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    msg = str(exc)
    return "locked" in msg or "busy" in msg


class _Recorder:
    """Collects the payload of the one event a mutation writes."""

    def __init__(self, kind: str, actor: str, bead_id: str, payload: dict | None) -> None:
        self.kind = kind
        self.actor = actor
        self.bead_id = bead_id
        self.payload = dict(payload or {})


class Ledger:
    """A town's ledger.  Not thread-safe: use one per thread or process."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise NotFound(f"no ledger at {self.path}")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.parent.name == STATE_DIR:
            secure_state(self.path, create=create)
        self.conn = sqlite3.connect(
            str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        self._depth = 0
        self._recorder: _Recorder | None = None
        self._configure(create)
        feed_path = feedlog.path_for_ledger(self.path)
        self._feed = feedlog.FeedLog(feed_path) if feed_path else None

    # -- connection and transactions ---------------------------------------

    def _configure(self, create: bool) -> None:
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        c.execute("PRAGMA synchronous = NORMAL")
        c.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        # Checkpoints are _bound_wal's (after each commit): SQLite's own at every commit
        # past 1000 pages would hold its checkpoint lock all the time under many writers.
        c.execute("PRAGMA wal_autocheckpoint = 0")
        if create:
            self._retry(lambda: c.execute("PRAGMA journal_mode = WAL"))
            with self._transaction():
                for stmt in schema.statements():
                    c.execute(stmt)
                c.execute(
                    "INSERT OR IGNORE INTO config(key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
        else:
            self._migrate()

    def _migrate(self) -> None:
        version = int(self.config_get("schema_version") or 1)
        if version >= SCHEMA_VERSION:
            return
        with self._transaction():
            version = int(self.config_get("schema_version") or 1)  # another process may have done it
            for stmt in schema.migrations(version):
                try:
                    self.conn.execute(stmt)
                except sqlite3.OperationalError as exc:
                    if "duplicate column name" not in str(exc):  # a column added by hand or by an aborted upgrade
                        raise
            if version < 3:  # duration strings of older versions become nanoseconds
                rows = self.conn.execute("SELECT id, timeout FROM issues WHERE timeout GLOB '*[^0-9-]*'").fetchall()
                for bead_id, text in rows:
                    try:
                        ns = clock.duration_ns(text)
                    except ValueError:
                        ns = 0
                    self.conn.execute("UPDATE issues SET timeout = ? WHERE id = ?", (ns, bead_id))
            self.conn.execute(
                "UPDATE config SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )

    def _retry(self, fn):
        for attempt in range(_RETRIES):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or attempt == _RETRIES - 1:
                    raise
                time.sleep(min(0.5, 0.005 * (2 ** min(attempt, 7))) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self._pass_gate()
        self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        self._depth = 1
        feed = getattr(self, "_feed", None)  # not set yet while the schema is created
        try:
            yield self.conn
        except BaseException as exc:
            self.conn.execute("ROLLBACK")
            if feed is not None:
                feed.discard()
            if isinstance(exc, SecretRefused):
                self._depth = 0
                self._escalate_leak(exc)
            raise
        else:
            self._retry(lambda: self.conn.execute("COMMIT"))
            if feed is not None:
                feed.flush()
            self._depth = 0
            try:
                self._bound_wal()
            except (sqlite3.Error, OSError):
                pass  # the commit stands; bounding the WAL is best effort (the next commit tries again)
        finally:
            self._depth = 0

    def _bound_wal(self, *, truncate_over: int = WAL_SIZE_LIMIT, spaced: bool = True) -> tuple[int, int, int] | None:
        """Keep the WAL near ``journal_size_limit``; the checkpoint's result, or None if none ran.

        SQLite's automatic checkpoints are PASSIVE: under continuous writers and
        readers holding snapshots the WAL never restarts, so ``journal_size_limit``
        never applies and the file grows (12.8 MB seen with a 4 MB limit; hundreds
        of MB in benchmarks/wal.py).  So, after a commit: past half the limit, a
        PASSIVE checkpoint copies what it can back (blocking nobody); past
        ``truncate_over``, a TRUNCATE, which needs the write lock and waits for
        the readers to move to the database file, then empties the WAL.  So that
        30 busy writers cannot starve it of SQLite's write lock it closes the gate
        every writer passes before ``BEGIN IMMEDIATE`` (:meth:`_pass_gate`):
        writers stall for at most WAL_CHECKPOINT_WAIT_S, about once per limit's
        worth of WAL.  Attempts are WAL_CHECKPOINT_SPACING_S apart across
        processes (the gate file's mtime).  One ``stat`` per commit below half
        the limit.  (Connections run with ``wal_autocheckpoint = 0``: SQLite's own
        attempt at every commit would hold its checkpoint lock all the time.)
        """
        import fcntl

        try:
            size = os.stat(f"{self.path}-wal").st_size
        except OSError:
            return None
        if size <= min(truncate_over, WAL_SIZE_LIMIT // 2):
            return None
        fd = self._gate()
        if fd < 0:
            return None
        c = self.conn
        try:
            if spaced and time.time() - os.fstat(fd).st_mtime < WAL_CHECKPOINT_SPACING_S:
                return None
            if size <= truncate_over:
                os.utime(fd)
                return tuple(c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())  # type: ignore[return-value]
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return None  # another process is checkpointing (or a writer is passing the gate)
        except sqlite3.OperationalError:
            return None
        try:
            os.utime(fd)
            if os.stat(f"{self.path}-wal").st_size <= truncate_over:
                return None  # done by another process meanwhile
            c.execute(f"PRAGMA busy_timeout = {int(WAL_CHECKPOINT_WAIT_S * 1000)}")
            try:
                return tuple(c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())  # type: ignore[return-value]
            except sqlite3.OperationalError:
                return None  # busy: a later commit past the limit tries again
            finally:
                c.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        except OSError:
            return None
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _gate(self) -> int:
        """The fd of ``<ledger>-ckpt.lock`` (opened once); -1 if it cannot be had (read-only place)."""
        fd = getattr(self, "_gate_fd", None)
        if fd is None:
            try:
                fd = os.open(f"{self.path}-ckpt.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                fd = -1
            self._gate_fd = fd
        return fd

    def _pass_gate(self) -> None:
        """Wait while a bounding checkpoint runs (a shared flock taken and dropped: ~2 us)."""
        import fcntl

        fd = self._gate()
        if fd >= 0:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError:
                pass

    def maintain_wal(self) -> tuple[int, int, int] | None:
        """The daemon's per-beat bound: TRUNCATE once the WAL is past a quarter of the limit."""
        return self._bound_wal(truncate_over=WAL_SIZE_LIMIT // 4, spaced=False)

    def _guard_secrets(self, actor: str, bead_id: str, texts: Iterable[object]) -> None:
        """Refuse a write quoting a known secret's value (``sandbox/secrets.py``); it is escalated."""
        from ..sandbox.secrets import find_leak

        found = find_leak(self.path.parent, *(t for t in texts if isinstance(t, str)))
        if found is None:
            return
        rig, name = found
        exc = SecretRefused(
            f"refused: the text contains the value of secret {rig}/{name}; remove it "
            "(never paste credentials into beads or mail; this was escalated)",
            data={"rig": rig, "secret": name, "actor": actor, "bead": bead_id},
        )
        if not self._depth:
            self._escalate_leak(exc)
        raise exc

    def _escalate_leak(self, exc: SecretRefused) -> None:
        """File the escalation in a transaction of its own (the refused one is rolled back)."""
        from ..work import escalation

        d = exc.data
        where = f" on {d['bead']}" if d.get("bead") else ""
        text = (
            f"secret leak refused: {d.get('actor') or 'someone'} tried to write the value of secret "
            f"{d['rig']}/{d['secret']} into the ledger{where} (a bead, comment or message); nothing was stored. "
            f"Rotate the credential if it may have been seen elsewhere (gt secret set {d['rig']} {d['secret']})."
        )
        try:
            escalation.escalate(self, text, actor=d.get("actor") or "overseer", severity="high")
        except GastownError:
            escalation.escalate(self, text, actor="overseer", severity="high")

    def atomic(self):
        """A transaction grouping several mutations, each keeping its own event."""
        return self._transaction()

    @contextmanager
    def mutation(
        self, kind: str, actor: str, bead_id: str = "", payload: dict | None = None
    ) -> Iterator[_Recorder]:
        """One transaction, one event.  Nested mutations join the outer one."""
        if self._recorder is not None:
            with self._transaction():
                yield _Recorder(kind, actor, bead_id, payload)
            return
        rec = _Recorder(kind, actor, bead_id, payload)
        with self._transaction():
            self._recorder = rec
            try:
                yield rec
                at = clock.now()
                self.conn.execute(
                    "INSERT INTO events(at, actor, kind, bead_id, payload) VALUES (?, ?, ?, ?, ?)",
                    (at, rec.actor, rec.kind, rec.bead_id, msgspec.json.encode(rec.payload, order="sorted").decode()),
                )
                if self._feed is not None:
                    self._feed.add(at, rec.kind, rec.actor, rec.bead_id, rec.payload)
            finally:
                self._recorder = None

    def annotate(self, key: str, value) -> None:
        """Add ``value`` to the list ``key`` in the payload of the event the current mutation writes.

        A mutation nested in another writes no event of its own, so a bead it
        makes (a message mailed in the middle of a merge) would be invisible
        to feed readers; the nested code names it in the outer event this way.
        Outside any mutation this does nothing (the caller's own event says it).
        """
        if self._recorder is not None:
            values = self._recorder.payload.setdefault(key, [])
            if value not in values:
                values.append(value)

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A consistent read view across several queries."""
        if self._depth:
            yield self.conn
            return
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            self.conn.execute("COMMIT")

    def disconnect(self) -> None:
        """Close the database connection (``close`` closes beads)."""
        self.conn.close()
        fd = getattr(self, "_gate_fd", None)
        if fd is not None and fd >= 0:
            os.close(fd)
        self._gate_fd = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()

    # -- config --------------------------------------------------------------

    def config_get(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM config WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def config_set(self, key: str, value: str, *, actor: str = "") -> None:
        with self.mutation("config_set", actor, payload={"key": key, "value": value}):
            self.conn.execute(
                "INSERT INTO config(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def config_items(self, prefix: str = "") -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT key, value FROM config WHERE key LIKE ? ORDER BY key", (prefix + "%",)
        )
        return dict(rows.fetchall())

    def vocabulary(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(statuses, issue types): Beads' built-ins plus ``status.custom`` / ``types.custom``."""
        return vocabulary(self.config_items("status.") | self.config_items("types."))

    def validate_status(self, status: str) -> None:
        statuses = self.vocabulary()[0] if status not in STATUSES else STATUSES
        if status not in statuses:
            raise InvalidInput(f"invalid status {status!r} (one of: {', '.join(statuses)})")

    def validate_type(self, issue_type: str) -> None:
        types = self.vocabulary()[1] if issue_type not in ISSUE_TYPES else ISSUE_TYPES
        if issue_type not in types:
            raise InvalidInput(f"invalid type {issue_type!r} (one of: {', '.join(types)})")

    @property
    def default_prefix(self) -> str:
        return self.config_get("issue_prefix") or "bd"

    # -- reads ---------------------------------------------------------------

    def exists(self, bead_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM issues WHERE id = ?", (bead_id,)).fetchone() is not None

    def get(self, bead_id: str, *, full: bool = False) -> Bead:
        row = self.conn.execute(_SELECT + " WHERE id = ?", (bead_id,)).fetchone()
        if row is None:
            raise NotFound(f"no bead {bead_id!r}")
        bead = _row_to_bead(row)
        if full:
            self._embed(bead)
        return bead

    def get_many(self, bead_ids: Iterable[str]) -> dict[str, Bead]:
        wanted = list(dict.fromkeys(bead_ids))
        found: dict[str, Bead] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"{_SELECT} WHERE id IN ({marks})", chunk):
                found[row[0]] = _row_to_bead(row)
        return found

    def _embed(self, bead: Bead) -> Bead:
        """Fill labels, dependencies, comments and counts (the JSONL shape)."""
        bead.labels = self.labels(bead.id)
        bead.dependencies = self.dependencies(bead.id)
        bead.comments = self.comments(bead.id)
        bead.dependency_count = len(bead.dependencies)
        bead.dependent_count = self.conn.execute(
            "SELECT COUNT(*) FROM dependencies WHERE depends_on_id = ?", (bead.id,)
        ).fetchone()[0]
        bead.comment_count = len(bead.comments)
        return bead

    def embed_many(self, beads: Sequence[Bead]) -> list[Bead]:
        """Fill the JSONL collections of many beads with a few bulk queries."""
        by_id = {b.id: b for b in beads}
        for b in beads:
            b.labels, b.dependencies, b.comments = [], [], []
            b.dependent_count = 0
        keys = list(by_id)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for issue_id, label in self.conn.execute(
                f"SELECT issue_id, label FROM labels WHERE issue_id IN ({marks}) ORDER BY issue_id, label", chunk
            ):
                by_id[issue_id].labels.append(label)
            for row in self.conn.execute(
                "SELECT issue_id, depends_on_id, type, created_at, created_by, metadata FROM dependencies "
                f"WHERE issue_id IN ({marks}) ORDER BY issue_id, depends_on_id",
                chunk,
            ):
                by_id[row[0]].dependencies.append(Dependency(*row))
            for row in self.conn.execute(
                f"SELECT id, issue_id, author, text, created_at FROM comments WHERE issue_id IN ({marks}) ORDER BY id",
                chunk,
            ):
                by_id[row[1]].comments.append(Comment(*row))
            for target, n in self.conn.execute(
                f"SELECT depends_on_id, COUNT(*) FROM dependencies WHERE depends_on_id IN ({marks}) "
                "GROUP BY depends_on_id",
                chunk,
            ):
                by_id[target].dependent_count = n
        for b in beads:
            b.dependency_count = len(b.dependencies)
            b.comment_count = len(b.comments)
        return list(beads)

    def labels(self, bead_id: str) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT label FROM labels WHERE issue_id = ? ORDER BY label", (bead_id,))]

    def dependencies(self, bead_id: str) -> list[Dependency]:
        rows = self.conn.execute(
            "SELECT issue_id, depends_on_id, type, created_at, created_by, metadata "
            "FROM dependencies WHERE issue_id = ? ORDER BY depends_on_id",
            (bead_id,),
        )
        return [Dependency(*r) for r in rows]

    def dependents(self, bead_id: str, dep_type: str | None = None) -> list[Dependency]:
        sql = (
            "SELECT issue_id, depends_on_id, type, created_at, created_by, metadata "
            "FROM dependencies WHERE depends_on_id = ?"
        )
        params: list = [bead_id]
        if dep_type:
            sql += " AND type = ?"
            params.append(dep_type)
        return [Dependency(*r) for r in self.conn.execute(sql + " ORDER BY issue_id", params)]

    def children(self, parent_id: str) -> list[Bead]:
        rows = self.conn.execute(
            f"{_SELECT} WHERE id IN (SELECT issue_id FROM dependencies "
            "WHERE depends_on_id = ? AND type = 'parent-child') ORDER BY created_at, id",
            (parent_id,),
        )
        return [_row_to_bead(r) for r in rows]

    def comments(self, bead_id: str) -> list[Comment]:
        rows = self.conn.execute(
            "SELECT id, issue_id, author, text, created_at FROM comments WHERE issue_id = ? ORDER BY id",
            (bead_id,),
        )
        return [Comment(*r) for r in rows]

    def list(
        self,
        *,
        status: str | Sequence[str] | None = None,
        issue_type: str | Sequence[str] | None = None,
        assignee: str | None = None,
        label: str | None = None,
        parent: str | None = None,
        prefix: str | None = None,
        include_closed: bool = False,
        include_ephemeral: bool = True,
        limit: int | None = None,
        order: str = "created_at, id",
    ) -> list[Bead]:
        where = Where()
        where.status(self, status, include_closed=include_closed)
        where.issue_type(self, issue_type)
        where.fields(assignee=assignee, label=label, parent=parent, prefix=prefix)
        if not include_ephemeral:
            where.add("ephemeral = 0")
        sql = f"{_SELECT}{where.clause} ORDER BY {order}"
        params = where.params
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [_row_to_bead(r) for r in self.conn.execute(sql, params)]

    def ready(
        self,
        *,
        limit: int | None = 10,
        assignee: str | None = None,
        unassigned: bool = False,
        issue_type: str | None = None,
        label: str | None = None,
        priority: int | None = None,
        parent: str | None = None,
        include_ephemeral: bool = False,
    ) -> list[Bead]:
        """Ready work, Beads' hybrid order: recent by priority, then oldest first."""
        now = clock.now()
        cutoff = clock.ago(_RECENT_S)
        terms, params = [], []
        if assignee is not None:
            terms.append("assignee = ?")
            params.append(assignee)
        if unassigned:
            terms.append("assignee = ''")
        if issue_type:
            terms.append("issue_type = ?")
            params.append(issue_type)
        if label:
            terms.append("id IN (SELECT issue_id FROM labels WHERE label = ?)")
            params.append(label)
        if parent:
            terms.append("parent = ?")
            params.append(parent)
        terms.append("(defer_until = '' OR defer_until <= ?)")
        params.append(now)
        terms.append(
            "(parent = '' OR NOT EXISTS (SELECT 1 FROM issues p WHERE p.id = issues.parent "
            "AND (p.status = 'deferred' OR p.defer_until > ?)))"
        )
        params.append(now)
        base = READY_PREDICATE
        if include_ephemeral:
            base = base.replace("AND ephemeral = 0 ", "")
        extra = " AND " + " AND ".join(terms)
        out: list[Bead] = []
        priorities = [priority] if priority is not None else range(PRIORITY_MIN, PRIORITY_MAX + 1)

        def take(sql: str, args: list) -> bool:
            want = None if limit is None else limit - len(out)
            if want is not None and want <= 0:
                return False
            if want is not None:
                sql += " LIMIT ?"
                args = args + [want]
            out.extend(_row_to_bead(r) for r in self.conn.execute(sql, args))
            return True

        with self.snapshot():
            for p in priorities:
                sql = f"{_SELECT} WHERE {base} AND priority = ? AND created_at >= ?{extra} ORDER BY created_at, id"
                if not take(sql, [p, cutoff, *params]):
                    break
            prio = "" if priority is None else " AND priority = ?"
            sql = f"{_SELECT} WHERE {base} AND created_at < ?{prio}{extra} ORDER BY created_at, id"
            take(sql, [cutoff, *([] if priority is None else [priority]), *params])
        return out

    def blocked(self, *, limit: int | None = None, include_ephemeral: bool = False) -> list[tuple[Bead, list[str]]]:
        """Blocked beads with the ids that block each (directly or via parent).

        Wisps (a patrol cycle's later steps wait on its earlier ones) are left
        out unless asked for, as :meth:`ready` leaves them out: they are
        workflow plumbing, not work a person unblocks.
        """
        wisps = "" if include_ephemeral else " AND ephemeral = 0"
        sql = _SELECT + f" WHERE is_blocked = 1{wisps} ORDER BY priority, created_at, id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        result = []
        for row in self.conn.execute(sql).fetchall():
            bead = _row_to_bead(row)
            result.append((bead, self.blockers(bead.id)))
        return result

    def blockers(self, bead_id: str) -> list[str]:
        out = []
        for target, dep_type, metadata in self.conn.execute(
            "SELECT d.depends_on_id, d.type, d.metadata FROM dependencies d JOIN issues b "
            "ON b.id = d.depends_on_id WHERE d.issue_id = ? ORDER BY d.depends_on_id",
            (bead_id,),
        ).fetchall():
            status, parent_blocked = self.conn.execute(
                "SELECT status, is_blocked FROM issues WHERE id = ?", (target,)
            ).fetchone()
            if dep_type in ("blocks", "conditional-blocks") and status not in DONE_STATUSES:
                out.append(target)
            elif dep_type == "parent-child" and parent_blocked:
                out.append(target)
            elif dep_type == "waits-for" and readiness.waits_for_blocks(self.conn, target, metadata):
                out.append(target)
        return out

    def is_blocked(self, bead_id: str) -> bool:
        row = self.conn.execute("SELECT is_blocked FROM issues WHERE id = ?", (bead_id,)).fetchone()
        if row is None:
            raise NotFound(f"no bead {bead_id!r}")
        return bool(row[0])

    def search(self, query: str, *, limit: int | None = 50, include_closed: bool = True) -> list[Bead]:
        """Beads whose id, title or description contains ``query`` (any case)."""
        status = "status != 'tombstone'" if include_closed else "status NOT IN ('closed', 'tombstone')"
        status += " AND ephemeral = 0"  # wisps are workflow plumbing, not searchable work
        if len(query) >= 3:  # the trigram index answers substring queries of 3+ characters
            phrase = '"' + query.replace('"', '""') + '"'
            where, params = f"rowid IN (SELECT rowid FROM issues_fts WHERE issues_fts MATCH ?) AND {status}", [phrase]
        else:
            pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where = (
                f"{status} AND (title LIKE ?1 ESCAPE '\\' OR id LIKE ?1 ESCAPE '\\' "
                "OR description LIKE ?1 ESCAPE '\\')"
            )
            params = [pattern]
        sql = f"{_SELECT} WHERE {where} ORDER BY priority, created_at, id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_row_to_bead(r) for r in self.conn.execute(sql, params)]

    def stats(self) -> dict:
        by_status = dict(self.conn.execute("SELECT status, COUNT(*) FROM issues GROUP BY status").fetchall())
        by_type = dict(
            self.conn.execute(
                "SELECT issue_type, COUNT(*) FROM issues WHERE status != 'tombstone' GROUP BY issue_type"
            ).fetchall()
        )
        ready = self.conn.execute(f"SELECT COUNT(*) FROM issues WHERE {READY_PREDICATE}").fetchone()[0]
        # As blocked() and ready() count: a wisp's waiting steps are plumbing, not blocked work.
        blocked = self.conn.execute("SELECT COUNT(*) FROM issues WHERE is_blocked = 1 AND ephemeral = 0").fetchone()[0]
        total = sum(v for k, v in by_status.items() if k != "tombstone")
        return {
            "total": total,
            "by_status": by_status,
            "by_type": by_type,
            "ready": ready,
            "blocked": blocked,
        }

    # -- events --------------------------------------------------------------

    def last_event_id(self) -> int:
        return self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    def events_since(self, cursor: int = 0, *, limit: int = 1000) -> list[Event]:
        rows = self.conn.execute(
            "SELECT id, at, actor, kind, bead_id, payload FROM events WHERE id > ? ORDER BY id LIMIT ?",
            (cursor, limit),
        )
        return [Event(r[0], r[1], r[2], r[3], r[4], msgspec.json.decode(r[5])) for r in rows]

    def events_for(self, bead_id: str, *, limit: int = 200) -> list[Event]:
        """A bead's history: its events, oldest first (the newest ``limit``)."""
        rows = self.conn.execute(
            "SELECT id, at, actor, kind, bead_id, payload FROM (SELECT * FROM events WHERE bead_id = ? "
            "ORDER BY id DESC LIMIT ?) ORDER BY id",
            (bead_id, limit),
        )
        return [Event(r[0], r[1], r[2], r[3], r[4], msgspec.json.decode(r[5])) for r in rows]

    def recent_events(
        self,
        *,
        limit: int | None = 100,
        kinds: Sequence[str] = (),
        exclude_kinds: Sequence[str] = (),
        exclude_ephemeral: bool = False,
        prefix: str = "",
        actor_prefix: str = "",
        actor: str = "",
        since: str = "",
    ) -> list[Event]:
        """The newest events, newest first, filtered: ``kinds`` (any of), not ``exclude_kinds``,
        not about wisps (``exclude_ephemeral``), about beads with id ``prefix``-... or by an actor
        starting with ``actor_prefix`` (a rig's events: both given, either matches); by exactly
        ``actor``; at or after the stamp ``since``.  ``limit`` None or 0: all of them."""
        where, params = [], []
        if since:
            where.append("at >= ?")
            params.append(since)
        if actor:
            where.append("actor = ?")
            params.append(actor)
        if kinds:
            where.append(f"kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        if exclude_kinds:
            where.append(f"kind NOT IN ({','.join('?' * len(exclude_kinds))})")
            params.extend(exclude_kinds)
        if exclude_ephemeral:
            # by id: a burned wisp is gone from issues, its events stay (wisp ids are <prefix>-wisp-...)
            where.append("instr(bead_id, '-wisp-') = 0")
        scope = []
        if prefix:
            scope.append("(bead_id >= ? AND bead_id < ?)")
            params.extend([prefix + "-", prefix + "."])
        if actor_prefix:
            scope.append("substr(actor, 1, ?) = ?")
            params.extend([len(actor_prefix), actor_prefix])
        if scope:
            where.append("(" + " OR ".join(scope) + ")")
        sql = "SELECT id, at, actor, kind, bead_id, payload FROM events"
        sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self.conn.execute(sql, params)
        return [Event(r[0], r[1], r[2], r[3], r[4], msgspec.json.decode(r[5])) for r in rows]

    def data_version(self) -> int:
        """Changes whenever another connection commits (cheap change probe)."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    # -- creation ------------------------------------------------------------

    def _next_id(self, prefix: str, seed: str, *, wisp: bool) -> str:
        scope = f"prefix:{prefix}"
        row = self.conn.execute("SELECT value FROM id_counters WHERE scope = ?", (scope,)).fetchone()
        count = row[0] if row else 0
        length = ids.hash_length(count)
        for bump in range(64):
            candidate = ids.candidate(prefix, seed, bump, length + bump // 8, wisp=wisp)
            if not self.exists(candidate):
                self.conn.execute(
                    "INSERT INTO id_counters(scope, value) VALUES (?, 1) "
                    "ON CONFLICT(scope) DO UPDATE SET value = value + 1",
                    (scope,),
                )
                return candidate
        raise Conflict(f"could not find a free id under prefix {prefix!r}")

    def _next_child_id(self, parent_id: str) -> str:
        scope = f"child:{parent_id}"
        row = self.conn.execute("SELECT value FROM id_counters WHERE scope = ?", (scope,)).fetchone()
        n = row[0] if row else 0
        while True:
            n += 1
            candidate = f"{parent_id}.{n}"
            if not self.exists(candidate):
                break
        self.conn.execute(
            "INSERT INTO id_counters(scope, value) VALUES (?, ?) "
            "ON CONFLICT(scope) DO UPDATE SET value = excluded.value",
            (scope, n),
        )
        return candidate

    def create(
        self,
        title: str,
        *,
        actor: str,
        description: str = "",
        issue_type: str = "task",
        priority: int = 2,
        status: str = "open",
        assignee: str = "",
        parent: str = "",
        labels: Iterable[str] = (),
        deps: Iterable[tuple[str, str]] = (),
        prefix: str | None = None,
        bead_id: str | None = None,
        ephemeral: bool = False,
        **fields: object,
    ) -> Bead:
        """Create a bead; ``deps`` are ``(type, depends_on_id)`` pairs."""
        if not title or not title.strip():
            raise InvalidInput("title must not be empty")
        limits.check_all({"title": title, "description": description, "assignee": assignee, **fields})
        labels = list(labels)
        for label in labels:
            limits.check("label", label)
        self.validate_type(issue_type)
        self.validate_status(status)
        validate_priority(priority)
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise InvalidInput(f"unknown bead field(s): {', '.join(sorted(unknown))}")
        if "timeout" in fields:
            fields["timeout"] = _timeout(fields["timeout"])
        deps = [(t, d) for t, d in deps]
        labels = list(labels)
        for dep_type, _ in deps:
            validate_dep_type(dep_type)
        self._guard_secrets(actor, bead_id or "", (title, description, *fields.values(), *labels))
        now = clock.now()
        with self.mutation("created", actor) as rec:
            if parent and not self.exists(parent):
                raise NotFound(f"parent {parent!r} does not exist")
            for _, target in deps:
                if not self.exists(target):
                    raise NotFound(f"dependency target {target!r} does not exist")
            if bead_id:
                if not ids.ID_RE.match(bead_id):
                    raise InvalidInput(f"malformed id {bead_id!r}")
                if self.exists(bead_id):
                    raise Conflict(f"bead {bead_id!r} already exists")
            elif parent:
                bead_id = self._next_child_id(parent)
            else:
                p = prefix or self.default_prefix
                if not ids.PREFIX_RE.match(p):
                    raise InvalidInput(f"malformed prefix {p!r}")
                seed = f"{title}|{description}|{actor}|{now}|{random.random()}"
                bead_id = self._next_id(p, seed, wisp=ephemeral)
            values = {
                "id": bead_id,
                "title": title,
                "description": description,
                "status": status,
                "priority": priority,
                "issue_type": issue_type,
                "assignee": assignee,
                "created_by": actor,
                "created_at": now,
                "updated_at": now,
                "ephemeral": int(ephemeral),
                "parent": parent,
                **{k: (int(v) if k in _BOOL_COLUMNS else v) for k, v in fields.items()},
            }
            if status == "closed" and not values.get("closed_at"):
                values["closed_at"] = now
            cols = ", ".join(values)
            self.conn.execute(
                f"INSERT INTO issues({cols}) VALUES ({', '.join('?' * len(values))})", list(values.values())
            )
            if parent:
                self._insert_dep(bead_id, parent, "parent-child", actor, now)
            for dep_type, target in deps:
                if dep_type == "parent-child" and target == parent:
                    continue
                self._insert_dep(bead_id, target, dep_type, actor, now)
            self.conn.executemany(
                "INSERT OR IGNORE INTO labels(issue_id, label) VALUES (?, ?)",
                [(bead_id, lab) for lab in labels if lab],
            )
            seeds = {bead_id}
            if parent or any(t == "parent-child" for t, _ in deps):
                seeds |= readiness.affected_via_parent(self.conn, bead_id)
            readiness.refresh(self.conn, seeds)
            rec.bead_id = bead_id
            rec.payload.update(
                title=title, issue_type=issue_type, status=status, assignee=assignee, parent=parent
            )
        return self.get(bead_id)

    def _insert_dep(
        self, issue_id: str, depends_on: str, dep_type: str, actor: str, now: str, metadata: str = ""
    ) -> None:
        self.conn.execute(
            "INSERT INTO dependencies(issue_id, depends_on_id, type, created_at, created_by, metadata) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (issue_id, depends_on, dep_type, now, actor, metadata),
        )
        if dep_type == "parent-child":
            self.conn.execute(
                "UPDATE issues SET parent = ? WHERE id = ? AND parent = ''", (depends_on, issue_id)
            )

    # -- updates -------------------------------------------------------------

    def update(self, bead_id: str, *, actor: str, **changes: object) -> Bead:
        """Change fields of a bead; status changes keep readiness exact."""
        unknown = set(changes) - _UPDATABLE - {"parent"}
        if unknown:
            raise InvalidInput(f"unknown bead field(s): {', '.join(sorted(unknown))}")
        if "status" in changes:
            self.validate_status(str(changes["status"]))
        if "issue_type" in changes:
            self.validate_type(str(changes["issue_type"]))
        if "timeout" in changes:
            changes["timeout"] = _timeout(changes["timeout"])
        if "priority" in changes:
            validate_priority(changes["priority"])  # type: ignore[arg-type]
        if "title" in changes and not str(changes["title"]).strip():
            raise InvalidInput("title must not be empty")
        limits.check_all(changes)
        self._guard_secrets(actor, bead_id, changes.values())
        with self.mutation("updated", actor, bead_id) as rec:
            old = self.get(bead_id)
            diff = {k: v for k, v in changes.items() if getattr(old, k) != v}
            if not diff:
                return old
            if "status" in diff:
                rec.kind = "status_changed"
                if diff["status"] == "closed" and "closed_at" not in diff:
                    diff["closed_at"] = clock.now()
                elif old.status == "closed" and diff["status"] != "closed":
                    diff.setdefault("closed_at", "")
                    diff.setdefault("close_reason", "")
            diff["updated_at"] = clock.now()
            sets = ", ".join(f"{k} = ?" for k in diff)
            values = [int(v) if k in _BOOL_COLUMNS else v for k, v in diff.items()]
            self.conn.execute(f"UPDATE issues SET {sets} WHERE id = ?", [*values, bead_id])
            if "status" in diff and _status_matters(old.status, str(diff["status"])):
                readiness.refresh(self.conn, readiness.affected_by_status_change(self.conn, bead_id))
            rec.payload["changes"] = {
                k: [getattr(old, k), v] for k, v in diff.items() if k not in ("updated_at",)
            }
            rec.payload["status"] = diff.get("status", old.status)
            rec.payload["assignee"] = diff.get("assignee", old.assignee)
        return self.get(bead_id)

    def close(self, bead_id: str, *, actor: str, reason: str = "") -> Bead:
        with self.mutation("closed", actor, bead_id, {"reason": reason}):
            bead = self.get(bead_id)
            if bead.status == "closed":
                raise Conflict(f"{bead_id} is already closed")
            if bead.status == "tombstone":
                raise Conflict(f"{bead_id} is deleted")
            return self.update(bead_id, actor=actor, status="closed", close_reason=reason)

    def reopen(self, bead_id: str, *, actor: str, reason: str = "") -> Bead:
        with self.mutation("reopened", actor, bead_id, {"reason": reason}):
            bead = self.get(bead_id)
            if bead.status != "closed":
                raise Conflict(f"{bead_id} is not closed (status {bead.status})")
            return self.update(bead_id, actor=actor, status="open", closed_at="", close_reason="")

    def claim(self, bead_id: str, *, actor: str) -> Bead:
        """Atomically take a bead: assignee = actor, status in_progress."""
        with self.mutation("claimed", actor, bead_id):
            bead = self.get(bead_id)
            if bead.assignee and bead.assignee != actor:
                raise Conflict(f"{bead_id} is already claimed by {bead.assignee}")
            if bead.status in DONE_STATUSES:
                raise Conflict(f"{bead_id} is {bead.status}")
            return self.update(bead_id, actor=actor, assignee=actor, status="in_progress")

    def delete(self, bead_id: str, *, actor: str, reason: str = "") -> Bead:
        """Tombstone a bead: kept (for sync) but gone from every view."""
        with self.mutation("deleted", actor, bead_id, {"reason": reason}):
            bead = self.get(bead_id)
            if bead.status == "tombstone":
                raise Conflict(f"{bead_id} is already deleted")
            return self.update(
                bead_id,
                actor=actor,
                status="tombstone",
                original_type=bead.issue_type,
                deleted_at=clock.now(),
                deleted_by=actor,
                delete_reason=reason,
            )

    def purge(self, bead_ids: Iterable[str], *, actor: str, kind: str = "purged", bead_id: str = "") -> int:
        """Remove beads and everything attached to them (burning wisps)."""
        targets = list(dict.fromkeys(bead_ids))
        with self.mutation(kind, actor, bead_id or (targets[0] if targets else ""), {"count": len(targets)}):
            affected: set[str] = set()
            for i in range(0, len(targets), 500):
                chunk = targets[i : i + 500]
                marks = ",".join("?" * len(chunk))
                affected.update(
                    r[0]
                    for r in self.conn.execute(
                        f"SELECT issue_id FROM dependencies WHERE depends_on_id IN ({marks})", chunk
                    )
                )
                for sql in (
                    f"DELETE FROM dependencies WHERE issue_id IN ({marks}) OR depends_on_id IN ({marks})",
                    f"DELETE FROM labels WHERE issue_id IN ({marks})",
                    f"DELETE FROM comments WHERE issue_id IN ({marks})",
                    f"DELETE FROM issues WHERE id IN ({marks})",
                ):
                    self.conn.execute(sql, chunk * sql.count("IN ("))
            readiness.refresh(self.conn, affected - set(targets))
        return len(targets)

    # -- dependencies --------------------------------------------------------

    def add_dependency(
        self, issue_id: str, depends_on: str, *, actor: str, dep_type: str = "blocks", metadata: str = ""
    ) -> Dependency:
        validate_dep_type(dep_type)
        if issue_id == depends_on:
            raise InvalidInput(f"{issue_id} cannot depend on itself")
        with self.mutation(
            "dependency_added", actor, issue_id, {"depends_on_id": depends_on, "type": dep_type}
        ):
            for bid in (issue_id, depends_on):
                if not self.exists(bid):
                    raise NotFound(f"no bead {bid!r}")
            row = self.conn.execute(
                "SELECT type FROM dependencies WHERE issue_id = ? AND depends_on_id = ?", (issue_id, depends_on)
            ).fetchone()
            if row:
                raise Conflict(f"{issue_id} already depends on {depends_on} ({row[0]})")
            if dep_type in BLOCKING_DEP_TYPES:
                cycle = self._find_path(depends_on, issue_id)
                if cycle:
                    shown = " -> ".join([issue_id, *cycle])
                    raise Conflict(f"refused: {dep_type} dependency would create a cycle: {shown}")
            now = clock.now()
            self._insert_dep(issue_id, depends_on, dep_type, actor, now, metadata)
            if dep_type in BLOCKING_DEP_TYPES:
                seeds = {issue_id}
                if dep_type == "parent-child":
                    seeds |= readiness.affected_via_parent(self.conn, issue_id)
                readiness.refresh(self.conn, seeds)
            self.conn.execute("UPDATE issues SET updated_at = ? WHERE id = ?", (now, issue_id))
        return Dependency(issue_id, depends_on, dep_type, now, actor, metadata)

    def _find_path(self, start: str, goal: str) -> list[str] | None:
        """A path start -> ... -> goal along blocking edges, or None."""
        came_from: dict[str, str | None] = {start: None}
        frontier = [start]
        types = ",".join(f"'{t}'" for t in BLOCKING_DEP_TYPES)
        while frontier:
            nxt = []
            for node in frontier:
                if node == goal:
                    path = [node]
                    while came_from[path[-1]] is not None:
                        path.append(came_from[path[-1]])  # type: ignore[arg-type]
                    return list(reversed(path))
                for (target,) in self.conn.execute(
                    f"SELECT depends_on_id FROM dependencies WHERE issue_id = ? AND type IN ({types})", (node,)
                ):
                    if target not in came_from:
                        came_from[target] = node
                        nxt.append(target)
            frontier = nxt
        return None

    def remove_dependency(self, issue_id: str, depends_on: str, *, actor: str) -> str:
        """Remove the edge ``issue_id`` -> ``depends_on``; returns the type it had."""
        with self.mutation("dependency_removed", actor, issue_id, {"depends_on_id": depends_on}) as rec:
            row = self.conn.execute(
                "SELECT type FROM dependencies WHERE issue_id = ? AND depends_on_id = ?", (issue_id, depends_on)
            ).fetchone()
            if row is None:
                # An unknown id is said as such (a typo), not as a missing edge.
                if not self.exists(issue_id):
                    raise NotFound(f"no bead {issue_id!r}")
                raise NotFound(f"{issue_id} does not depend on {depends_on}")
            rec.payload["type"] = row[0]
            self.conn.execute(
                "DELETE FROM dependencies WHERE issue_id = ? AND depends_on_id = ?", (issue_id, depends_on)
            )
            if row[0] == "parent-child":
                self.conn.execute("UPDATE issues SET parent = '' WHERE id = ? AND parent = ?", (issue_id, depends_on))
            if row[0] in BLOCKING_DEP_TYPES:
                seeds = {issue_id}
                if row[0] == "parent-child":
                    seeds |= {
                        r[0]
                        for r in self.conn.execute(
                            "SELECT issue_id FROM dependencies WHERE depends_on_id = ? AND type = 'waits-for'",
                            (depends_on,),
                        )
                    }
                readiness.refresh(self.conn, seeds)
            self.conn.execute("UPDATE issues SET updated_at = ? WHERE id = ?", (clock.now(), issue_id))
        return row[0]

    # -- labels and comments -------------------------------------------------

    def add_label(self, bead_id: str, label: str, *, actor: str) -> None:
        if not label.strip():
            raise InvalidInput("label must not be empty")
        limits.check("label", label)
        with self.mutation("label_added", actor, bead_id, {"label": label}):
            self.get(bead_id)
            self.conn.execute("INSERT OR IGNORE INTO labels(issue_id, label) VALUES (?, ?)", (bead_id, label))
            self.conn.execute("UPDATE issues SET updated_at = ? WHERE id = ?", (clock.now(), bead_id))

    def remove_label(self, bead_id: str, label: str, *, actor: str) -> None:
        with self.mutation("label_removed", actor, bead_id, {"label": label}):
            self.get(bead_id)
            cur = self.conn.execute("DELETE FROM labels WHERE issue_id = ? AND label = ?", (bead_id, label))
            if cur.rowcount == 0:
                raise NotFound(f"{bead_id} has no label {label!r}")
            self.conn.execute("UPDATE issues SET updated_at = ? WHERE id = ?", (clock.now(), bead_id))

    def add_comment(self, bead_id: str, text: str, *, actor: str) -> Comment:
        if not text.strip():
            raise InvalidInput("comment text must not be empty")
        limits.check("text", text)
        self._guard_secrets(actor, bead_id, (text,))
        now = clock.now()
        with self.mutation("commented", actor, bead_id):
            self.get(bead_id)
            cur = self.conn.execute(
                "INSERT INTO comments(issue_id, author, text, created_at) VALUES (?, ?, ?, ?)",
                (bead_id, actor, text, now),
            )
            self.conn.execute("UPDATE issues SET updated_at = ? WHERE id = ?", (now, bead_id))
            return Comment(cur.lastrowid, bead_id, actor, text, now)  # type: ignore[arg-type]

    # -- maintenance ---------------------------------------------------------

    def rebuild_blocked(self, *, actor: str = "") -> None:
        with self.mutation("blocked_rebuilt", actor):
            readiness.rebuild(self.conn)

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            raise InvalidInput(f"unknown checkpoint mode {mode!r}")
        return tuple(self.conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone())  # type: ignore[return-value]

    def vacuum(self) -> None:
        """Compact the file; waits its turn behind running writers."""
        self._retry(lambda: self.conn.execute("VACUUM"))
        self.checkpoint("TRUNCATE")

    def integrity_check(self) -> str:
        return "; ".join(r[0] for r in self.conn.execute("PRAGMA integrity_check"))


# -- validation ----------------------------------------------------------------


def _status_matters(old: str, new: str) -> bool:
    """Whether a status change can flip anyone's blocked flag.

    Blockers care about done vs not done, and waits-for counts closed
    children while ignoring tombstoned ones; so every change into, out of or
    between the done statuses matters, and changes among the others don't.
    """
    return old != new and (old in DONE_STATUSES or new in DONE_STATUSES)


def _timeout(value: object) -> int:
    """A gate timeout as Beads stores it (Go time.Duration: integer ns); "1h30m" is read too."""
    try:
        return clock.duration_ns(value)
    except ValueError as exc:
        raise InvalidInput(f"timeout: {exc}") from None


def validate_status(status: str) -> None:
    if status not in STATUSES:
        raise InvalidInput(f"invalid status {status!r} (one of: {', '.join(STATUSES)})")


def validate_type(issue_type: str) -> None:
    if issue_type not in ISSUE_TYPES:
        raise InvalidInput(f"invalid type {issue_type!r} (one of: {', '.join(ISSUE_TYPES)})")


def validate_dep_type(dep_type: str) -> None:
    if dep_type not in DEP_TYPES:
        raise InvalidInput(f"invalid dependency type {dep_type!r} (one of: {', '.join(DEP_TYPES)})")


def validate_priority(priority: object) -> None:
    if not isinstance(priority, int) or isinstance(priority, bool) or not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise InvalidInput(f"invalid priority {priority!r} (an integer {PRIORITY_MIN}..{PRIORITY_MAX})")
