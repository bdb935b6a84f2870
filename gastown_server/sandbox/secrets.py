"""The town's secret store: ``gt secret set|list|remove <rig> <name>``.

``<town>/.gastown/secrets/secrets.json`` (file 0600, directory 0700), one
object ``{rig: {name: {"value": ..., "set_at": ...}}}``, written atomically.
Every sandbox mounts an empty directory over ``secrets/`` (policy.py), so no
agent can read it; only gastown code running outside a sandbox reads it: the
git credential helper (:func:`credential_main`, run by the Refinery's git
broker) and the redaction of the broker's output.  The ledger refuses beads and mail
quoting a value through keyed fingerprints of the values (:func:`find_leak`),
which sandboxes can see: a sandboxed ``bd create`` is checked too.

Values never travel in argv or an environment: ``gt secret set`` reads stdin
(or prompts without echo).

Names a credential helper understands: ``git-password`` (or ``git-token``)
and, optionally, ``git-username`` (default ``x-access-token``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import msgspec

from ..errors import InvalidInput, NotFound
from ..town import layout

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
#: Values shorter than this are not searched for in beads and mail (too many false hits).
MIN_CHECKED_LEN = 6
MAX_VALUE = 64 * 1024
GIT_USERNAME = "git-username"
GIT_PASSWORDS = ("git-password", "git-token")


class SecretEntry(msgspec.Struct, omit_defaults=False):
    """One secret as ``gt secret list`` shows it: never the value."""

    rig: str
    name: str
    set_at: str
    length: int


def _path(root: Path) -> Path:
    return layout.secrets_path(root)


def _load(root: Path) -> dict:
    try:
        data = _path(root).read_bytes()
    except FileNotFoundError:
        return {}
    return msgspec.json.decode(data) if data.strip() else {}


def _save(root: Path, store: dict) -> None:
    path = _path(root)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(msgspec.json.encode(store))
    os.replace(tmp, path)
    _write_fingerprints(root, store)
    _cache.clear()


def _check_name(name: str) -> None:
    if not _NAME_RE.match(name or ""):
        raise InvalidInput(f"bad secret name {name!r}: letters, digits, '.', '_' and '-', starting with a letter")


def _check_rig(town, rig: str) -> None:
    town.rig(rig)  # NotFound with the rig list when it does not exist


def set_secret(town, rig: str, name: str, value: str) -> SecretEntry:
    from ..beads import clock

    _check_rig(town, rig)
    _check_name(name)
    value = value.rstrip("\r\n")
    if not value:
        raise InvalidInput("empty secret value (give it on stdin, e.g. gt secret set RIG NAME < file)")
    if len(value) > MAX_VALUE:
        raise InvalidInput(f"secret value too long ({len(value)} bytes; at most {MAX_VALUE})")
    store = _load(town.root)
    at = clock.now()
    store.setdefault(rig, {})[name] = {"value": value, "set_at": at}
    _save(town.root, store)
    return SecretEntry(rig, name, at, len(value))


def list_secrets(town, rig: str | None = None) -> list[SecretEntry]:
    if rig is not None:
        _check_rig(town, rig)
    out = []
    for r, names in sorted(_load(town.root).items()):
        if rig is None or r == rig:
            out += [SecretEntry(r, n, e.get("set_at", ""), len(e.get("value", ""))) for n, e in sorted(names.items())]
    return out


def remove_secret(town, rig: str, name: str) -> None:
    _check_rig(town, rig)
    store = _load(town.root)
    if name not in store.get(rig, {}):
        have = ", ".join(sorted(store.get(rig, {}))) or "none"
        raise NotFound(f"rig {rig} has no secret {name!r} (its secrets: {have})")
    del store[rig][name]
    if not store[rig]:
        del store[rig]
    _save(town.root, store)


def get_secret(root: Path, rig: str, name: str) -> str | None:
    entry = _load(root).get(rig, {}).get(name)
    return entry.get("value") if entry else None


FINGERPRINTS = "secret-fingerprints.json"
_fp_cache: dict[str, tuple[int, dict]] = {}


def fingerprints_path(state_dir: Path) -> Path:
    """Keyed hashes of the values, beside the ledger: visible in sandboxes, so a sandboxed
    ``bd create`` is checked too (the values themselves are not there)."""
    return Path(state_dir) / FINGERPRINTS


def _digest(key: bytes, data: bytes) -> str:
    import hashlib

    return hashlib.blake2b(data, key=key, digest_size=16).hexdigest()


def _write_fingerprints(root: Path, store: dict) -> None:
    path = fingerprints_path(layout.state_dir(root))
    try:
        old = msgspec.json.decode(path.read_bytes())
        key = bytes.fromhex(old["key"])
    except (OSError, ValueError, KeyError, msgspec.DecodeError):
        key = os.urandom(32)
    items = []
    for rig, names in sorted(store.items()):
        for name, e in sorted(names.items()):
            raw = e["value"].encode()
            if len(raw) >= MIN_CHECKED_LEN:
                items.append({"rig": rig, "name": name, "len": len(raw), "hash": _digest(key, raw)})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(msgspec.json.encode({"key": key.hex(), "items": items}))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def find_leak(state_dir: Path, *texts: str) -> tuple[str, str] | None:
    """(rig, name) of a known secret whose value occurs in one of ``texts`` (None: clean).

    Works from the fingerprints: every window of each secret's length is
    hashed with the town's key and compared (a few ms for a bead's text).
    """
    path = fingerprints_path(state_dir)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    hit = _fp_cache.get(str(path))
    if hit is None or hit[0] != mtime:
        try:
            data = msgspec.json.decode(path.read_bytes())
        except (OSError, msgspec.DecodeError):
            return None
        by_len: dict[int, dict[str, tuple[str, str]]] = {}
        for it in data.get("items", []):
            by_len.setdefault(int(it["len"]), {})[it["hash"]] = (it["rig"], it["name"])
        hit = (mtime, {"key": bytes.fromhex(data["key"]), "by_len": by_len})
        _fp_cache[str(path)] = hit
    key, by_len = hit[1]["key"], hit[1]["by_len"]
    if not by_len:
        return None
    for text in texts:
        if not text:
            continue
        raw = text.encode("utf-8", "surrogatepass")
        for n, hashes in by_len.items():
            for i in range(len(raw) - n + 1):
                found = hashes.get(_digest(key, raw[i : i + n]))
                if found:
                    return found
    return None


_cache: dict[str, tuple[float, list[tuple[str, str, str]]]] = {}


def known_values(root: Path) -> list[tuple[str, str, str]]:
    """(rig, name, value) of every secret worth searching for; cached on the file's mtime."""
    path = _path(root)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:  # no store (or, inside a sandbox, hidden: agents cannot check, gastown outside does)
        return []
    hit = _cache.get(str(path))
    if hit and hit[0] == mtime:
        return hit[1]
    vals = [(r, n, e["value"]) for r, names in _load(root).items() for n, e in names.items()
            if len(e.get("value", "")) >= MIN_CHECKED_LEN]  # fmt: skip
    _cache[str(path)] = (mtime, vals)
    return vals


def credential_main(argv: list[str] | None = None) -> int:
    """git credential helper: ``python -m gastown_server.sandbox.secrets --town T --rig R get``.

    Answers ``get`` with the rig's ``git-username``/``git-password``; ignores
    ``store``/``erase``.  Runs outside every sandbox (the broker starts git).
    """
    import argparse

    p = argparse.ArgumentParser(prog="gastown-credential-helper", description=credential_main.__doc__)
    p.add_argument("--town", required=True)
    p.add_argument("--rig", required=True)
    p.add_argument("--url", default="", help="answer only for this URL's protocol and host")
    p.add_argument("op")
    args = p.parse_args(argv)
    if args.op != "get":
        sys.stdin.read()
        return 0
    asked = dict(line.split("=", 1) for line in sys.stdin.read().splitlines() if "=" in line)
    if args.url:
        from urllib.parse import urlsplit

        want = urlsplit(args.url)
        host = want.hostname or ""
        host += f":{want.port}" if want.port else ""
        if (asked.get("protocol", ""), asked.get("host", "").lower()) != (want.scheme, host.lower()):
            # Not the rig's origin (a rewritten URL): no credential; git then fails to authenticate.
            print(f"gastown credential helper: refused: {asked.get('protocol', '?')}://{asked.get('host', '?')} "
                  f"is not rig {args.rig}'s origin", file=sys.stderr)  # fmt: skip
            return 0
    root = Path(args.town)
    try:
        password = next((v for n in GIT_PASSWORDS if (v := get_secret(root, args.rig, n))), None)
        user = get_secret(root, args.rig, GIT_USERNAME) or "x-access-token"
    except (OSError, msgspec.DecodeError) as exc:
        print(f"gastown credential helper: cannot read the secret store: {exc}", file=sys.stderr)
        return 1
    if password is None:
        print(f"gastown credential helper: rig {args.rig} has no secret git-password "
              f"(gt secret set {args.rig} git-password)", file=sys.stderr)  # fmt: skip
        return 1
    sys.stdout.write(f"username={user}\npassword={password}\n")
    return 0


if __name__ == "__main__":
    sys.exit(credential_main())
