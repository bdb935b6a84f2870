"""Prices per model, in US dollars per million tokens: built-in defaults plus a town override.

A key is a model name or a prefix ending in ``*`` (``claude-sonnet-4*``);
the exact name wins, then the longest matching prefix.  A model no key
matches is *unpriced*: its tokens are counted, its cost is 0, and reports
name it so the table can be extended.

Override (and extend) in ``<town>/settings/costs.json``::

    {"prices": {"claude-opus-4*": {"input": 5, "output": 25, "cache_read": 0.5, "cache_write": 6.25},
                "my-local-model": {"input": 0, "output": 0}}}

``cache_read``/``cache_write`` default to the input price when left out.
The defaults are the vendors' published list prices as we know them
(docs/costs.md); a town paying other rates says so in the file.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from ..errors import InvalidInput
from .usage import Usage

OVERRIDE_FILE = Path("settings") / "costs.json"


class Price(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None

    def cost(self, u: Usage) -> float:
        cr = self.input if self.cache_read is None else self.cache_read
        cw = self.input if self.cache_write is None else self.cache_write
        return (
            u.input_tokens * self.input + u.output_tokens * self.output + u.cache_read_tokens * cr + u.cache_write_tokens * cw
        ) / 1e6


class CostSettings(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    prices: dict[str, Price] = {}


def _p(i: float, o: float, cr: float, cw: float | None = None) -> Price:
    return Price(input=i, output=o, cache_read=cr, cache_write=i if cw is None else cw)


#: USD per million tokens.  Anthropic: cache writes (5-minute) at 1.25x input,
#: reads at 0.1x.  OpenAI: cached input at 0.1x (0.25x for the 4.1/o-series).
DEFAULT_PRICES: dict[str, Price] = {
    # A family's newest known price for its models not listed here (newer ones).
    "claude-opus*": _p(5.0, 25.0, 0.50, 6.25),
    "claude-sonnet*": _p(3.0, 15.0, 0.30, 3.75),
    "claude-haiku*": _p(1.0, 5.0, 0.10, 1.25),
    "claude-opus-4*": _p(5.0, 25.0, 0.50, 6.25),  # Opus 4.5 and later
    "claude-opus-4-0*": _p(15.0, 75.0, 1.50, 18.75),
    "claude-opus-4-1*": _p(15.0, 75.0, 1.50, 18.75),
    "claude-opus-4-2025*": _p(15.0, 75.0, 1.50, 18.75),
    "claude-3-opus*": _p(15.0, 75.0, 1.50, 18.75),
    "claude-sonnet-4*": _p(3.0, 15.0, 0.30, 3.75),
    "claude-3-7-sonnet*": _p(3.0, 15.0, 0.30, 3.75),
    "claude-3-5-sonnet*": _p(3.0, 15.0, 0.30, 3.75),
    "claude-haiku-4*": _p(1.0, 5.0, 0.10, 1.25),
    "claude-3-5-haiku*": _p(0.80, 4.0, 0.08, 1.0),
    "claude-3-haiku*": _p(0.25, 1.25, 0.03, 0.30),
    "gpt-5*": _p(1.25, 10.0, 0.125),
    "gpt-5-mini*": _p(0.25, 2.0, 0.025),
    "gpt-5-nano*": _p(0.05, 0.40, 0.005),
    "gpt-4.1*": _p(2.0, 8.0, 0.50),
    "gpt-4.1-mini*": _p(0.40, 1.60, 0.10),
    "gpt-4o*": _p(2.50, 10.0, 1.25),
    "o3*": _p(2.0, 8.0, 0.50),
    "o4-mini*": _p(1.10, 4.40, 0.275),
    "codex-mini*": _p(1.50, 6.0, 0.375),
}


class PriceTable:
    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = dict(prices)
        self._exact = {k: v for k, v in prices.items() if not k.endswith("*")}
        self._prefixes = sorted(((k[:-1], v) for k, v in prices.items() if k.endswith("*")), key=lambda kv: -len(kv[0]))

    def lookup(self, model: str) -> Price | None:
        if model in self._exact:
            return self._exact[model]
        for prefix, price in self._prefixes:
            if model.startswith(prefix):
                return price
        return None

    def cost(self, model: str, usage: Usage) -> float | None:
        """Dollars for ``usage`` of ``model``; None when the model is unpriced."""
        price = self.lookup(model)
        return None if price is None else price.cost(usage)


def load(town_root: Path | None) -> PriceTable:
    """The defaults, overridden key by key by ``<town>/settings/costs.json`` if it exists."""
    prices = dict(DEFAULT_PRICES)
    if town_root is not None:
        path = Path(town_root) / OVERRIDE_FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = b""
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
        if data.strip():
            try:
                settings = msgspec.json.decode(data, type=CostSettings)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise InvalidInput(f"bad price table {path}: {exc}") from None
            for key, price in settings.prices.items():
                if min(price.input, price.output, price.cache_read or 0, price.cache_write or 0) < 0:
                    raise InvalidInput(f"bad price table {path}: negative price for {key!r}")
            prices.update(settings.prices)
    return PriceTable(prices)
