"""textkit: small text helpers (the gastown demo's sample rig)."""

from .greet import greet
from .words import initials, shout

__all__ = ["greet", "initials", "shout"]
