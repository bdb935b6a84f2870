"""Where formulas come from: built-in, then the town's, then the rig's.

Later layers override earlier ones by name (the file name without
``.formula.toml``).  Built-ins live inside the package
(``gastown_server/formulas/builtin/``, shipped as package data so that a
wheel install finds them; the repository's top-level ``formulas/`` links
there).  ``GT_FORMULA_PATH`` (colon-separated directories) adds layers
after the rig's, for experiments and tests; ``bd cook --search-path DIR``
adds directories after those.

``extends = ["base"]`` looks for ``base.formula.toml`` next to the
extending file first, then along this path.  A town's overlay
(``<town>/formulas/overlays/<name>.toml``, see ``overlays.py``) is applied
to the formula of that name when it is loaded by name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from .errors import FormulaError

SUFFIX = ".formula.toml"


class Entry(NamedTuple):
    name: str
    layer: str  # builtin | town | rig | path
    path: Path


def builtin_dir() -> Path:
    return Path(__file__).resolve().parent / "builtin"


def search_dirs(town: Path | None = None, rig: str | None = None, extra: tuple | list = ()) -> list[tuple[str, Path]]:
    """Layers in increasing precedence."""
    layers: list[tuple[str, Path]] = [("builtin", builtin_dir())]
    if town is None:
        from ..paths import find_town_root

        town = find_town_root()
    rig = rig if rig is not None else os.environ.get("GT_RIG") or None
    if town is not None:
        layers.append(("town", Path(town) / "formulas"))
        if rig:
            layers.append(("rig", Path(town) / rig / "formulas"))
    for env_dir in filter(None, os.environ.get("GT_FORMULA_PATH", "").split(os.pathsep)):
        layers.append(("path", Path(env_dir).expanduser()))
    for directory in extra:
        layers.append(("path", Path(directory).expanduser()))
    return layers


def catalog(town: Path | None = None, rig: str | None = None, extra: tuple | list = ()) -> dict[str, Entry]:
    """Every visible formula by name; a later layer's file shadows an earlier one."""
    found: dict[str, Entry] = {}
    for layer, directory in search_dirs(town, rig, extra):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*" + SUFFIX)):
            name = path.name[: -len(SUFFIX)]
            found[name] = Entry(name, layer, path)
    return dict(sorted(found.items()))


def resolve(name_or_path: str, town: Path | None = None, rig: str | None = None, extra: tuple | list = ()) -> Entry:
    """A formula by name (search path) or by file path."""
    if name_or_path.endswith(".toml") or os.sep in name_or_path:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise FormulaError(name_or_path, "", "no such formula file")
        name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
        return Entry(name, "file", path)
    entries = catalog(town, rig, extra)
    if name_or_path not in entries:
        raise FormulaError(
            name_or_path, "", "no such formula in the search path (see 'bd formula list')"
        )
    return entries[name_or_path]


def load_entry(entry: Entry, town: Path | None = None, rig: str | None = None, extra: tuple | list = ()):
    """(formula, merged data) of one entry with its ``extends`` chain, no overlay."""
    from .loader import load_file

    entries = None

    def by_name(name: str, near: Path) -> Path | None:
        nonlocal entries
        sibling = near.parent / f"{name}{SUFFIX}"
        if sibling.is_file():
            return sibling
        if entries is None:
            entries = catalog(town, rig, extra)
        e = entries.get(name)
        return e.path if e else None

    return load_file(entry.path, by_name)


def load(name_or_path: str, town: Path | None = None, rig: str | None = None, extra: tuple | list = ()):
    """Load a formula (with its ``extends`` chain and the town's overlay) from the search path."""
    entry = resolve(name_or_path, town, rig, extra)
    formula, raw = load_entry(entry, town, rig, extra)
    if entry.layer != "file":
        from . import overlays
        from .loader import decode

        overlay = overlays.find(town, entry.name)
        if overlay is not None:
            formula = decode(overlays.apply(raw, overlay), str(overlay))  # errors name the overlay
            formula.source = str(entry.path)
            formula.overlay = str(overlay)
    formula.layer = entry.layer
    return formula
