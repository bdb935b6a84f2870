"""A town opened from disk: root, ledger, configuration, rigs, agents, tmux.

Rigs and agents live in the ledger (DESIGN: one source of truth): a rig is
a bead of type ``rig`` (``hq-rig-<prefix>``) whose ``metadata`` holds a
:class:`Rig`; an agent is a bead of type ``agent`` whose ``metadata`` holds
its :class:`~.identity.Identity`.  Opening a town costs one config read;
everything else is lazy.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from ..errors import InvalidInput, NoTown, NotFound
from ..paths import find_town_root, ledger_path
from . import layout
from .identity import DOG_ROLE, Identity, dog_identity, parse_address, rig_identity, town_identity

RIG_TYPE = "rig"
AGENT_TYPE = "agent"
ROLE_TYPE = "role"


class Rig(msgspec.Struct, omit_defaults=True):
    name: str
    prefix: str
    #: Where it was cloned from (URL or path, as given).
    url: str
    #: The canonical clone, absolute.
    repo: str
    default_branch: str = ""


def rig_bead_id(prefix: str) -> str:
    return f"hq-rig-{prefix}"


class Town:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._config = None
        self._ledger = None
        self._tmux = None
        self._rigs: list[Rig] | None = None

    # -- parts -----------------------------------------------------------------

    @property
    def config(self):
        if self._config is None:
            from . import config

            self._config = config.load(self.root)
        return self._config

    def reload_config(self) -> None:
        self._config = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def ledger(self):
        if self._ledger is None:
            from ..beads.store import Ledger

            self._ledger = Ledger(ledger_path(self.root))
        return self._ledger

    @property
    def state_dir(self) -> Path:
        return layout.state_dir(self.root)

    @property
    def socket(self) -> str:
        from ..runtime.tmux import socket_name

        return socket_name(self.root)

    @property
    def tmux(self):
        if self._tmux is None:
            from ..runtime.tmux import TownTmux

            self._tmux = TownTmux(self.socket)
        return self._tmux

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.disconnect()
            self._ledger = None

    def __enter__(self) -> Town:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- rigs --------------------------------------------------------------------

    def rigs(self) -> list[Rig]:
        if self._rigs is None:
            beads = self.ledger.list(issue_type=RIG_TYPE, status="pinned", order="title, id")
            self._rigs = [msgspec.json.decode(b.metadata, type=Rig) for b in beads if b.metadata]
        return self._rigs

    def forget_rigs(self) -> None:
        self._rigs = None

    def rig(self, name: str) -> Rig:
        for r in self.rigs():
            if r.name == name:
                return r
        known = ", ".join(r.name for r in self.rigs()) or "none yet: gt rig add <name> <repo>"
        raise NotFound(f"no rig {name!r} in town {self.name} (rigs: {known})")

    # -- agents ------------------------------------------------------------------

    def identity(self, address: str) -> Identity:
        role, rig, name = parse_address(address)
        if role == DOG_ROLE:
            return dog_identity(self.root, name)
        if not rig:
            return town_identity(self.root, role)
        r = self.rig(rig)
        return rig_identity(self.root, r.name, r.prefix, role, name)

    def agents(self) -> list[Identity]:
        """Every agent with an agent bead (town roles, rig roles, polecats, crew)."""
        out = []
        for b in self.ledger.list(issue_type=AGENT_TYPE, order="id"):
            if b.metadata:
                try:
                    out.append(msgspec.json.decode(b.metadata, type=Identity))
                except msgspec.DecodeError:
                    continue
        return out

    def always_on(self) -> list[Identity]:
        """The agents ``gt up`` starts and the daemon keeps alive."""
        out = [town_identity(self.root, "mayor"), town_identity(self.root, "deacon")]
        parked = {k.split(".")[1] for k, v in self.ledger.config_items("rig.").items() if k.endswith(".parked") and v == "1"}
        for r in self.rigs():
            if r.name in parked:  # gt rig park: nothing starts its agents
                continue
            out.append(rig_identity(self.root, r.name, r.prefix, "witness"))
            out.append(rig_identity(self.root, r.name, r.prefix, "refinery"))
        return out

    def resolve(self, target: str) -> Identity:
        """An address (``mayor``, ``<rig>/witness``, ...) or a session name."""
        target = (target or "").strip()
        try:
            return self.identity(target)
        except NotFound:
            raise
        except Exception as exc:  # not an address: try session names
            for ident in self.agents():
                if ident.session == target:
                    return ident
            for ident in self.always_on():
                if ident.session == target:
                    return ident
            raise exc


def town_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute for use as a town root; :class:`InvalidInput` if no path can be made of it.

    A NUL byte (``ValueError``) or an unreadable component (``OSError``)
    arrives from RPC clients, not only from typos: one clear error, no traceback.
    """
    try:
        return Path(path).expanduser().resolve()
    except (ValueError, OSError, RuntimeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(f"bad town path {str(path)!r}: {reason}") from None


def open_town(start: str | os.PathLike[str] | None = None) -> Town:
    """The town at or above ``start`` (default: ``$GT_TOWN``, else the cwd)."""
    if start is not None:
        root = town_dir(start)
        if not ledger_path(root).exists() or not layout.config_path(root).exists():
            raise NoTown(f"{root} is not a town (no .gastown/ledger.db or settings/config.json): run 'gt install {root}'")
        return Town(root)
    root = find_town_root()
    if root is None:
        where = os.environ.get("GT_TOWN") or os.getcwd()
        raise NoTown(f"not in a town ({where}): run 'gt install <dir>' or cd into a town, or set GT_TOWN")
    if not layout.config_path(root).exists():
        raise NoTown(f"{root} has a ledger but is not a gt town (no settings/config.json): run 'gt install {root}'")
    return Town(root)
