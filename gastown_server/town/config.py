"""The town's configuration file, ``<town>/settings/config.json``.

What it holds: the town's name, which agent runtime each role runs
(``default_agent`` plus per-role overrides in ``role_agents``), the town's own
agent definitions (``agents``: overrides of a preset's command/env, or a
custom command), and the daemon and nudge settings.  ``gt config agent
list|set|default`` edits it; the runtime package reads it through
:func:`resolve_agent` (the contract with ``gastown_server.runtime``).

Written atomically (temp file + rename), so a reader never sees half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from ..errors import InvalidInput, NotFound
from . import layout

DEFAULT_AGENT = "script"


class AgentSettings(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """A town's own agent: a preset with its command and environment overridden.

    ``preset`` names the runtime preset it builds on (default: the agent's
    own name when that is a preset, else ``custom``).
    """

    preset: str = ""
    command: list[str] = msgspec.field(default_factory=list)
    env: dict[str, str] = msgspec.field(default_factory=dict)
    #: How the startup prompt is given (``arg``, ``flag``, ``nudge``, ``none``).
    prompt_style: str = ""


class DaemonSettings(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    #: Seconds between heartbeats.
    heartbeat_s: float = 30.0
    #: Wake Boot every N beats.
    boot_every: int = 1
    #: Boot nudges a Deacon whose session has been quiet this long.
    deacon_stale_s: float = 900.0
    #: A session that died is restarted at most once per this many seconds.
    restart_backoff_s: float = 10.0
    #: The daemon runs a watchdog that revives it (and that it restarts): patrol/watchdog.py.
    watchdog: bool = True


class NudgeSettings(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    #: Attached clients must have been idle this long before text is typed.
    idle_s: float = 1.0
    #: Past this, the nudge is queued instead (delivered on a later beat).
    timeout_s: float = 30.0


class PatrolSettings(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Patrol loops of script-runtime Deacon/Witness/Refinery (env ``GT_PATROL_*`` overrides)."""

    #: Run the patrol loop at all (``GT_PATROL=0`` turns it off for one session).
    enabled: bool = True
    #: Sleep after a cycle that acted; the base of the idle backoff (``GT_PATROL_INTERVAL``).
    interval_s: float = 5.0
    #: Longest idle sleep (``GT_PATROL_MAX_BACKOFF``); the formula's ``--max`` caps it too.
    max_backoff_s: float = 60.0
    #: A hooked polecat with no transcript activity this long is stuck (``GT_PATROL_STUCK_AFTER``).
    stuck_after_s: float = 900.0
    #: After nudging a stuck polecat, wait this long for a sign of life before restarting it.
    nudge_grace_s: float = 60.0
    #: Hooked work whose state (bead, molecule steps, MR) has not changed this long cannot progress
    #: (``GT_PATROL_STALL_AFTER``): nudge, restart, escalate (patrol/stalls.py).
    stall_after_s: float = 1800.0
    #: A polecat idle at its prompt (no child process, transcript quiet) this long with work on its hook
    #: starts the same ladder (``GT_PATROL_IDLE_AFTER``).
    idle_after_s: float = 300.0
    #: Time between the ladder's rungs (nudge -> restart -> escalate) (``GT_PATROL_STALL_GRACE``).
    stall_grace_s: float = 120.0
    #: An MR whose gate failed this many times is escalated (``GT_PATROL_MAX_GATE_FAILURES``).
    max_gate_failures: int = 3


class SandboxSettings(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Agent sandboxes (``docs/security.md``).

    ``enabled`` false runs every agent with the user's full file view (``gt up``
    warns about it).  ``network``: role -> ``host`` (default: hosted models need
    it) or ``none`` (a private network namespace, loopback only).
    """

    enabled: bool = True
    network: dict[str, str] = msgspec.field(default_factory=dict)


class TownConfig(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    name: str
    version: int = 1
    default_agent: str = DEFAULT_AGENT
    #: Role (``mayor``, ``deacon``, ``witness``, ``refinery``, ``polecat``, ``crew``) -> agent name.
    role_agents: dict[str, str] = msgspec.field(default_factory=dict)
    agents: dict[str, AgentSettings] = msgspec.field(default_factory=dict)
    daemon: DaemonSettings = msgspec.field(default_factory=DaemonSettings)
    nudge: NudgeSettings = msgspec.field(default_factory=NudgeSettings)
    patrol: PatrolSettings = msgspec.field(default_factory=PatrolSettings)
    sandbox: SandboxSettings = msgspec.field(default_factory=SandboxSettings)


def load(root: Path) -> TownConfig:
    path = layout.config_path(root)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{root} has no {path.relative_to(root)}: not a gt town (run 'gt install {root}')") from None
    try:
        return msgspec.json.decode(data, type=TownConfig)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc}") from None


def save(root: Path, config: TownConfig) -> None:
    path = layout.config_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(config), indent=2) + b"\n")
    os.replace(tmp, path)


def known_agents(config: TownConfig) -> list[str]:
    from ..runtime.runtimes import PRESETS

    return sorted(set(PRESETS) | set(config.agents))


def agent_name_for(config: TownConfig, role: str, override: str | None = None) -> str:
    return override or config.role_agents.get(role) or config.default_agent


def resolve_agent(config: TownConfig, name: str | None = None, *, role: str | None = None):
    """The :class:`~gastown_server.runtime.runtimes.RuntimePreset` to run.

    ``name`` wins; else the role's agent; else the town default.  A town
    agent (``agents[name]``) is its preset with the given fields replaced
    (``env`` is merged into the preset's).
    """
    from ..runtime.runtimes import PRESETS, from_config

    agent = name or agent_name_for(config, role or "")
    own = config.agents.get(agent)
    if own is None:
        if agent not in PRESETS:
            raise NotFound(f"unknown agent runtime {agent!r} (known: {', '.join(known_agents(config))})")
        return PRESETS[agent]
    base_name = own.preset or (agent if agent in PRESETS else "custom")
    settings: dict = {"preset": base_name}
    if own.command:
        settings["command"] = list(own.command)
    if own.prompt_style:
        settings["prompt_style"] = own.prompt_style
    if own.env:
        settings["env"] = {**dict(PRESETS[base_name].env if base_name in PRESETS else {}), **own.env}
    return from_config(agent, settings)


def set_agent(
    root: Path, name: str, command: list[str], *, preset: str = "", env: dict[str, str] | None = None,
    prompt_style: str = "",
) -> TownConfig:
    from ..runtime.runtimes import PRESETS

    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput(f"bad agent name {name!r}: letters, digits, '-' and '_'")
    if preset and preset not in PRESETS:
        raise NotFound(f"unknown preset {preset!r} (known: {', '.join(sorted(PRESETS))})")
    if not command and not env:
        raise InvalidInput("give the agent's command (and/or --env K=V)")
    config = load(root)
    config.agents[name] = AgentSettings(
        preset=preset, command=list(command), env=dict(env or {}), prompt_style=prompt_style
    )
    resolve_agent(config, name)  # refuse what cannot run (bad prompt style, no command)
    save(root, config)
    return config


def set_default(root: Path, name: str, *, role: str | None = None) -> TownConfig:
    config = load(root)
    if name not in known_agents(config):
        raise NotFound(f"unknown agent runtime {name!r} (known: {', '.join(known_agents(config))})")
    if role:
        from .identity import ROLES

        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r} (one of {', '.join(ROLES)})")
        config.role_agents[role] = name
    else:
        config.default_agent = name
    save(root, config)
    return config


def _full(value):
    """Builtins of a Struct with its default fields kept (``to_builtins`` omits them here)."""
    if isinstance(value, msgspec.Struct):
        return {f: _full(getattr(value, f)) for f in value.__struct_fields__}
    if isinstance(value, dict):
        return {k: _full(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_full(v) for v in value]
    return value


def _walk(data: dict, key: str):
    parts = key.split(".")
    node = data
    for p in parts[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(p), dict):
            return None, parts[-1]
        node = node[p]
    return node, parts[-1]


def get_key(root: Path, key: str):
    """``gt config get``: a dotted key of the town configuration (``daemon.heartbeat_s``, ``default_agent``)."""
    data = _full(load(root))
    node, last = _walk(data, key)
    if not key or node is None or last not in node:
        raise NotFound(f"no config key {key!r} (keys: {', '.join(sorted(_keys(data)))})")
    return node[last]


def _keys(data: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in data.items():
        if isinstance(v, dict) and v and k not in ("agents", "role_agents"):
            out += _keys(v, f"{prefix}{k}.")
        else:
            out.append(prefix + k)
    return out


def set_key(root: Path, key: str, value: str) -> TownConfig:
    """``gt config set``: ``value`` is JSON when it parses (numbers, booleans), else a string; checked before saving."""
    config = load(root)
    data = msgspec.to_builtins(config)
    full = _full(config)
    node, last = _walk(full, key)
    if not key or node is None or last not in node:
        raise NotFound(f"no config key {key!r} (keys: {', '.join(sorted(_keys(full)))})")
    try:
        parsed = msgspec.json.decode(value)
    except msgspec.DecodeError:
        parsed = value
    if isinstance(node[last], str) and not isinstance(parsed, str):
        parsed = value
    target, _ = _walk(data, key)
    if target is None:  # a section left at its defaults is absent from the file: make it
        target = data
        for p in key.split(".")[:-1]:
            target = target.setdefault(p, {})
    target[last] = parsed
    try:
        new = msgspec.convert(data, type=TownConfig)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"bad value {value!r} for {key}: {exc}") from None
    if key == "default_agent" or key.startswith("role_agents."):
        resolve_agent(new, str(parsed))
    save(root, new)
    return new


def set_sandbox(root: Path, *, enabled: bool | None = None, network: dict[str, str] | None = None) -> SandboxSettings:
    """Turn sandboxes on/off, or set a role's network (``*`` = every role without its own)."""
    from ..sandbox.policy import NETWORKS
    from .roles import ROLE_TEXT as ROLES

    cfg = load(root)
    if enabled is not None:
        cfg.sandbox.enabled = enabled
    for role, net in (network or {}).items():
        if role != "*" and role not in ROLES:
            raise InvalidInput(f"unknown role {role!r} (one of {', '.join(sorted(ROLES))}, or *)")
        if net not in NETWORKS:
            raise InvalidInput(f"network must be one of {', '.join(NETWORKS)}, not {net!r}")
        cfg.sandbox.network[role] = net
    save(root, cfg)
    return cfg.sandbox
