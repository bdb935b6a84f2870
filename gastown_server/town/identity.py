"""Who an agent is: address, role, session name, agent bead, working directory, environment.

Naming (SPEC.md; ``<p>`` is the rig's bead prefix):

=========================  ==================  ========================  ====================
address                    session             agent bead                working directory
=========================  ==================  ========================  ====================
``mayor``                  ``hq-mayor``        ``hq-mayor``              ``mayor/``
``deacon``                 ``hq-deacon``       ``hq-deacon``             ``deacon/``
``boot``                   ``hq-boot``         ``hq-boot``               ``deacon/``
``<rig>/witness``          ``<p>-witness``     ``<p>-witness``           ``<rig>/witness/``
``<rig>/refinery``         ``<p>-refinery``    ``<p>-refinery``          ``<rig>/repo/``
``<rig>/polecats/<n>``     ``<p>-<n>``         ``<p>-polecat-<n>``       ``<rig>/polecats/<n>/``
``<rig>/crew/<n>``         ``<p>-crew-<n>``    ``<p>-crew-<n>``          ``<rig>/crew/<n>/``
``deacon/dogs/<n>``        ``hq-dog-<n>``      ``hq-dog-<n>``            ``dogs/<n>/``
=========================  ==================  ========================  ====================

Role beads are ``hq-<role>-role``.  A session's environment is built here
and nowhere else (DESIGN contract 7): exactly the variables below plus the
runtime preset's own; nothing else of the caller's environment.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import msgspec

from ..errors import InvalidInput, NotFound
from . import layout

TOWN_ROLES = ("mayor", "deacon", "boot")
RIG_ROLES = ("witness", "refinery", "polecat", "crew")
#: Dogs are town-level, named, and belong to the Deacon (``deacon/dogs/<name>``).
DOG_ROLE = "dog"
ROLES = TOWN_ROLES + RIG_ROLES + (DOG_ROLE,)
#: Polecat and crew names end up in bead ids and session names.
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
RIG_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
#: Variables copied from the caller (harmless, needed by any program).
PASSTHROUGH = ("HOME", "LANG", "LC_ALL", "USER", "LOGNAME", "SHELL", "TZ")


class Identity(msgspec.Struct, omit_defaults=True):
    address: str
    role: str
    session: str
    bead_id: str
    role_bead: str
    cwd: str
    rig: str = ""
    prefix: str = ""
    name: str = ""


def role_bead_id(role: str) -> str:
    return f"hq-{role}-role"


def town_identity(root: Path, role: str) -> Identity:
    if role not in TOWN_ROLES:
        raise InvalidInput(f"{role!r} is not a town role")
    cwd = layout.MAYOR_DIR if role == "mayor" else layout.DEACON_DIR
    return Identity(
        address=role, role=role, session=f"hq-{role}", bead_id=f"hq-{role}",
        role_bead=role_bead_id(role), cwd=str(root / cwd),
    )  # fmt: skip


def dog_identity(root: Path, name: str) -> Identity:
    if not NAME_RE.match(name or ""):
        raise InvalidInput(f"bad dog name {name!r}: lowercase letters, digits and single '-'")
    return Identity(
        address=f"deacon/dogs/{name}", role=DOG_ROLE, session=f"hq-dog-{name}", bead_id=f"hq-dog-{name}",
        role_bead=role_bead_id(DOG_ROLE), cwd=str(layout.dog_dir(root, name)), name=name,
    )  # fmt: skip


def rig_identity(root: Path, rig: str, prefix: str, role: str, name: str = "") -> Identity:
    if role in ("polecat", "crew"):
        if not NAME_RE.match(name or ""):
            raise InvalidInput(f"bad {role} name {name!r}: lowercase letters, digits and single '-'")
    elif role not in ("witness", "refinery"):
        raise InvalidInput(f"{role!r} is not a rig role")
    if role == "witness":
        address, session, bead, cwd = f"{rig}/witness", f"{prefix}-witness", f"{prefix}-witness", root / rig / layout.RIG_WITNESS
    elif role == "refinery":
        address, session, bead, cwd = f"{rig}/refinery", f"{prefix}-refinery", f"{prefix}-refinery", layout.rig_repo(root, rig)
    elif role == "polecat":
        address, session, bead, cwd = f"{rig}/polecats/{name}", f"{prefix}-{name}", f"{prefix}-polecat-{name}", layout.polecat_dir(root, rig, name)
    else:
        address, session, bead, cwd = f"{rig}/crew/{name}", f"{prefix}-crew-{name}", f"{prefix}-crew-{name}", layout.crew_dir(root, rig, name)
    return Identity(
        address=address, role=role, session=session, bead_id=bead, role_bead=role_bead_id(role),
        cwd=str(cwd), rig=rig, prefix=prefix, name=name,
    )  # fmt: skip


def parse_address(text: str) -> tuple[str, str, str]:
    """``(role, rig, name)`` from an address, syntactically (no lookups).

    Accepts ``mayor``/``mayor/``, ``<rig>/witness``, ``<rig>/refinery``,
    ``<rig>/polecats/<n>``, ``<rig>/polecat/<n>``, ``<rig>/crew/<n>``,
    ``deacon/dogs/<n>`` and the short ``<rig>/<n>`` for a polecat.
    """
    addr = (text or "").strip().rstrip("/")
    parts = addr.split("/") if addr else []
    if len(parts) == 1 and parts[0] in TOWN_ROLES:
        return parts[0], "", ""
    if len(parts) == 2 and parts[1] in ("witness", "refinery"):
        return parts[1], parts[0], ""
    if len(parts) == 2 and parts[0] and parts[1]:
        return "polecat", parts[0], parts[1]
    if len(parts) == 3 and parts[1] in ("polecats", "polecat"):
        return "polecat", parts[0], parts[2]
    if len(parts) == 3 and parts[0] == "deacon" and parts[1] == "dogs" and parts[2]:
        return DOG_ROLE, "", parts[2]
    if len(parts) == 3 and parts[1] == "crew":
        return "crew", parts[0], parts[2]
    raise InvalidInput(
        f"bad agent address {text!r} (like mayor, deacon, <rig>/witness, <rig>/refinery, "
        "<rig>/polecats/<name>, <rig>/crew/<name>, deacon/dogs/<name>)"
    )


def bin_dir() -> str:
    """Where the running Python's ``gt``/``bd`` scripts are."""
    return str(Path(sys.executable).parent)


def session_env(
    root: Path,
    ident: Identity,
    *,
    socket: str,
    session_id: str,
    runtime: str,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The complete environment of an agent session (nothing else is inherited)."""
    env = {k: os.environ[k] for k in PASSTHROUGH if os.environ.get(k)}
    env.setdefault("HOME", str(Path.home()))
    env.setdefault("LANG", "C.UTF-8")
    path = os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin"
    env["PATH"] = bin_dir() + os.pathsep + path
    env["TERM"] = "tmux-256color"
    env.update(
        GT_TOWN=str(root),
        GT_ROLE=ident.address,
        GT_ROLE_KIND=ident.role,
        BD_ACTOR=ident.address,
        GT_TMUX_SOCKET=socket,
        GT_SESSION=ident.session,
        GT_SESSION_ID=session_id,
        GT_RUNTIME=runtime,
    )
    if ident.rig:
        env["GT_RIG"] = ident.rig
        env["GT_PREFIX"] = ident.prefix
    if ident.role == "polecat":
        env["GT_POLECAT"] = ident.name
    if ident.role == "crew":
        env["GT_CREW"] = ident.name
    if ident.role == DOG_ROLE:
        env["GT_DOG"] = ident.name
    for key, value in (extra or {}).items():
        env[key] = str(value)
    return env


def actor_from_env(explicit: str | None = None) -> str:
    """The acting agent's address: ``--actor``, else ``BD_ACTOR``, else ``GT_ROLE``."""
    actor = explicit or os.environ.get("BD_ACTOR") or os.environ.get("GT_ROLE") or ""
    if not actor:
        raise NotFound("who are you? run inside an agent session, or pass --actor <address> (e.g. mayor)")
    return actor.strip().rstrip("/")
