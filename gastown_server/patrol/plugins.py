"""Town plugins: what they are, when they are due, what their runs left behind.

A plugin is a directory ``<town>/plugins/<name>/`` holding ``plugin.md``:
TOML front matter between two ``+++`` lines, then markdown instructions
for an agent::

    +++
    name = "rotate-logs"
    description = "Rotate the daemon log"
    version = 1
    run = "gt daemon status"           # optional: what a script-runtime dog runs

    [gate]
    type = "cooldown"                  # cooldown | manual
    duration = "1h"

    [execution]
    timeout = "5m"

    [sandbox]
    writes = ["reports/"]              # under the town root: see plugin_writes.py
    +++
    Instructions an LLM dog follows ...

Gates: ``cooldown`` is due when ``duration`` has passed since the last run
finished (or when it never ran); ``cron`` (``schedule = "*/5 * * * *"``, UTC,
read by cronsim) when the schedule has fired since the last run started (or,
never run, since ``plugin.md`` was last written; a missed hour is one run,
not twelve); ``manual`` never is (``gt plugin run``).  A plugin without a
``[gate]`` is manual.  Durations: ``90s``, ``5m``,
``1h30m``, ``2d``, ``500ms`` (decimals allowed).

Run records are beads (ephemeral: town bookkeeping, never exported to git)
labelled ``plugin-run`` and ``plugin:<name>``; a finished one is closed
with ``result:success``, ``result:failure``, ``result:skipped`` or
``result:abandoned``.  The gate reads them; :mod:`.plugin_runs` writes them.

A bad ``plugin.md`` is one line naming the file and the field; the other
plugins are unaffected (:func:`load_all` returns both).
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

import msgspec

from ..errors import InvalidInput, NotFound

PLUGIN_FILE = "plugin.md"
RUN_LABEL = "plugin-run"
RESULTS = ("success", "failure", "skipped", "abandoned")
DEFAULT_TIMEOUT = "5m"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class Gate(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["cooldown", "manual", "cron"] = "manual"
    duration: str = ""
    schedule: str = ""


class Execution(msgspec.Struct, forbid_unknown_fields=True):
    timeout: str = DEFAULT_TIMEOUT


class SandboxDecl(msgspec.Struct, forbid_unknown_fields=True):
    #: Paths under the town root the plugin writes (:mod:`.plugin_writes`).
    writes: list[str] = msgspec.field(default_factory=list)


class FrontMatter(msgspec.Struct):
    """``plugin.md``'s TOML front matter (unknown top-level keys are ignored)."""

    name: str = ""
    description: str = ""
    version: int | str = ""
    run: str = ""
    gate: Gate = msgspec.field(default_factory=Gate)
    execution: Execution = msgspec.field(default_factory=Execution)
    sandbox: SandboxDecl = msgspec.field(default_factory=SandboxDecl)


class Plugin(msgspec.Struct, omit_defaults=False):
    name: str
    path: str
    description: str
    version: str
    gate: str
    #: Seconds (cooldown gates; 0 otherwise).
    cooldown_s: float
    timeout_s: float
    run: str
    instructions: str
    #: Cron expression (cron gates; "" otherwise).
    schedule: str = ""
    #: ``[sandbox] writes``: paths under the town root its dog's sandbox binds read-write.
    writes: list[str] = msgspec.field(default_factory=list)

    @property
    def dir(self) -> Path:
        return Path(self.path).parent

    def gate_text(self) -> str:
        if self.gate == "cron":
            return f"cron {self.schedule}"
        return f"cooldown {_fmt(self.cooldown_s)}" if self.gate == "cooldown" else self.gate


class RunRecord(msgspec.Struct, omit_defaults=False):
    id: str
    plugin: str
    status: str
    #: The dog (or agent) whose hook it is on / was on.
    assignee: str
    created_at: str
    closed_at: str
    #: ``success``, ``failure``, ``skipped``, ``abandoned``; "" while open or when nobody recorded one.
    result: str
    close_reason: str

    @property
    def open(self) -> bool:
        return self.status != "closed"


class PluginStatus(msgspec.Struct, omit_defaults=False):
    name: str
    path: str
    gate: str = ""
    description: str = ""
    version: str = ""
    #: The last run's bead, when it was made, how it ended.
    last_run: str = ""
    last_run_at: str = ""
    last_result: str = ""
    #: ``now``, an RFC 3339 time, ``running`` (a run is open) or ``manual``.
    next_due: str = ""
    #: The open run's bead ("" when none is open).
    open_run: str = ""
    #: Set (one line naming file and field) when plugin.md is broken; the rest is then empty.
    error: str = ""


# -- parsing ------------------------------------------------------------------------


def parse_duration(text: str) -> float:
    """``1h30m`` -> 5400.0; :class:`ValueError` for anything else."""
    s = (text or "").strip()
    pos, total = 0, 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not s or pos != len(s):
        raise ValueError(f"bad duration {text!r} (like 30s, 5m, 1h30m, 2d)")
    return total


def _fmt(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    """(TOML, markdown, line number of the TOML's first line)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "+++":
        raise InvalidInput(f"{path}: no front matter: the file must start with a '+++' line, then TOML, then '+++'")
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "+++":
            return "".join(lines[1:i]), "".join(lines[i + 1 :]), 2
    raise InvalidInput(f"{path}: front matter is not closed: add a '+++' line after the TOML")


def parse(path: Path, dir_name: str | None = None) -> Plugin:
    """One ``plugin.md``; :class:`InvalidInput` (one line naming file and field) when it is bad."""
    dir_name = dir_name or path.parent.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    toml_text, body, first = split_front_matter(text, path)
    try:
        data = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        msg = re.sub(r"\(at line (\d+)", lambda m: f"(at line {int(m.group(1)) + first - 1}", str(exc))
        raise InvalidInput(f"{path}: front matter is not valid TOML: {msg}") from None
    try:
        meta = msgspec.convert(data, FrontMatter)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"{path}: {_field_error(str(exc))}") from None

    def bad(field: str, why: str) -> InvalidInput:
        return InvalidInput(f"{path}: {field}: {why}")

    name = meta.name.strip() or dir_name
    if name != dir_name:
        raise bad("name", f"{meta.name!r} differs from its directory {dir_name!r} (the directory name is the plugin's name)")
    if not _NAME.match(name):
        raise bad("name", f"{name!r} must be letters, digits, '.', '_' or '-'")
    cooldown = 0.0
    schedule = meta.gate.schedule.strip()
    if meta.gate.type == "cron":
        if not schedule:
            raise bad("gate.schedule", 'a cron gate needs a schedule (like schedule = "*/5 * * * *")')
        from cronsim import CronSim, CronSimError

        try:
            CronSim(schedule, datetime.now(timezone.utc))
        except CronSimError as exc:
            raise bad("gate.schedule", f"bad cron schedule {schedule!r}: {exc}") from None
    elif schedule:
        raise bad("gate.schedule", f"only a cron gate takes a schedule (this gate is {meta.gate.type})")
    if meta.gate.type == "cooldown":
        if not meta.gate.duration:
            raise bad("gate.duration", 'a cooldown gate needs a duration (like duration = "1h")')
        try:
            cooldown = parse_duration(meta.gate.duration)
        except ValueError as exc:
            raise bad("gate.duration", str(exc)) from None
    elif meta.gate.duration:
        raise bad("gate.duration", f"only a cooldown gate takes a duration (this gate is {meta.gate.type})")
    try:
        timeout = parse_duration(meta.execution.timeout)
    except ValueError as exc:
        raise bad("execution.timeout", str(exc)) from None
    if timeout <= 0:
        raise bad("execution.timeout", "must be more than 0")
    from .plugin_writes import check as check_write
    from .plugin_writes import refused_at_start

    writes = []
    for entry in meta.sandbox.writes:
        try:
            writes.append(check_write(entry))
        except ValueError as exc:
            raise bad("sandbox.writes", str(exc)) from None
        town_root = Path(path).resolve().parent.parent.parent  # <town>/plugins/<name>/plugin.md
        why = refused_at_start(town_root, writes[-1], set())
        if why:
            raise bad("sandbox.writes", f"{entry!r}: {why}")
    return Plugin(
        name=name, path=str(path), description=meta.description, version=str(meta.version),
        gate=meta.gate.type, cooldown_s=cooldown, timeout_s=timeout, run=meta.run.strip(), instructions=body.strip(),
        schedule=schedule, writes=writes,
    )  # fmt: skip


def _field_error(message: str) -> str:
    """msgspec's ``Expected `str`, got `int` - at `$.gate.duration``` -> ``gate.duration: expected ...``."""
    m = re.match(r"^(.*) - at `\$\.?(.*)`$", message)
    if not m:
        return message
    why, field = m.group(1), m.group(2)
    why = why[:1].lower() + why[1:]
    return f"{field}: {why}" if field else why


# -- finding ------------------------------------------------------------------------


def plugins_dir(root: Path) -> Path:
    from ..town.layout import plugins_dir as where

    return where(root)


def load_all(root: Path) -> tuple[list[Plugin], list[InvalidInput]]:
    """Every plugin directory under ``<town>/plugins``: the good ones and one error per bad one."""
    d = plugins_dir(root)
    good, bad = [], []
    if not d.is_dir():
        return good, bad
    for sub in sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")):
        path = sub / PLUGIN_FILE
        if not path.is_file():
            bad.append(InvalidInput(f"{sub}: no {PLUGIN_FILE} (a plugin is a directory holding {PLUGIN_FILE})"))
            continue
        try:
            good.append(parse(path, sub.name))
        except InvalidInput as exc:
            bad.append(exc)
    return good, bad


def load(root: Path, name: str) -> Plugin:
    d = plugins_dir(root)
    if not name or "/" in name or name.startswith(".") or not (d / name).is_dir():
        known = ", ".join(sorted(p.name for p in d.iterdir() if p.is_dir())) if d.is_dir() else ""
        raise NotFound(f"no plugin {name!r} in {d} (plugins: {known or 'none'})")
    path = d / name / PLUGIN_FILE
    if not path.is_file():
        raise InvalidInput(f"{d / name}: no {PLUGIN_FILE} (a plugin is a directory holding {PLUGIN_FILE})")
    return parse(path, name)


# -- run records ------------------------------------------------------------------------


def runs(ledger, plugin: str | None = None) -> list[RunRecord]:
    """Run records, oldest first (one plugin's, or every plugin's); one query."""
    sql = (
        "SELECT i.id, substr(l.label, 8), i.status, i.assignee, i.created_at, i.closed_at, i.close_reason, "
        "(SELECT substr(r.label, 8) FROM labels r WHERE r.issue_id = i.id AND r.label LIKE 'result:%' LIMIT 1) "
        "FROM issues i JOIN labels l ON l.issue_id = i.id AND l.label LIKE 'plugin:%' "
        "WHERE i.status != 'tombstone' AND i.id IN (SELECT issue_id FROM labels WHERE label = ?)"
    )
    params: list = [RUN_LABEL]
    if plugin is not None:
        sql += " AND l.label = ?"
        params.append(f"plugin:{plugin}")
    sql += " ORDER BY i.created_at, i.id"
    return [
        RunRecord(id=r[0], plugin=r[1], status=r[2], assignee=r[3] or "", created_at=r[4], closed_at=r[5] or "",
                  close_reason=r[6] or "", result=r[7] or "")  # fmt: skip
        for r in ledger.conn.execute(sql, params)
    ]


def open_run(records: list[RunRecord]) -> RunRecord | None:
    return next((r for r in reversed(records) if r.open), None)


def next_due(plugin: Plugin, records: list[RunRecord]) -> str:
    """``running``, ``manual``, ``now`` or the RFC 3339 time the cooldown ends."""
    from ..beads import clock

    if open_run(records) is not None:
        return "running"
    if plugin.gate == "cron":
        return _cron_due(plugin, records)
    if plugin.gate != "cooldown":
        return plugin.gate
    last = next((r for r in reversed(records) if r.closed_at), None)
    if last is None:
        return "now"
    due = clock.parse(last.closed_at) + timedelta(seconds=plugin.cooldown_s)
    if due <= clock.parse(clock.now()):
        return "now"
    return due.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cron_due(plugin: Plugin, records: list[RunRecord]) -> str:
    from cronsim import CronSim

    from ..beads import clock

    if records:
        since = clock.parse(records[-1].created_at)
    else:
        try:
            since = datetime.fromtimestamp(Path(plugin.path).stat().st_mtime, timezone.utc)
        except OSError:
            return "now"
    due = next(CronSim(plugin.schedule, since))
    if due <= datetime.now(timezone.utc):
        return "now"
    return due.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def statuses(town) -> list[PluginStatus]:
    """Every plugin (broken ones with their error line), with its last run and next due time."""
    good, bad = load_all(town.root)
    by_plugin: dict[str, list[RunRecord]] = {}
    for rec in runs(town.ledger):
        by_plugin.setdefault(rec.plugin, []).append(rec)
    out = []
    for p in good:
        records = by_plugin.get(p.name, [])
        last = records[-1] if records else None
        current = open_run(records)
        out.append(PluginStatus(
            name=p.name, path=p.path, gate=p.gate_text(), description=p.description, version=p.version,
            last_run=last.id if last else "", last_run_at=last.created_at if last else "",
            last_result=(last.result or ("running" if last.open else "")) if last else "",
            next_due=next_due(p, records), open_run=current.id if current else "",
        ))  # fmt: skip
    for exc in bad:
        path = exc.message.split(": ", 1)[0]
        name = Path(path).parent.name if path.endswith(PLUGIN_FILE) else Path(path).name
        out.append(PluginStatus(name=name, path=path, error=exc.message))
    return sorted(out, key=lambda s: s.name)
