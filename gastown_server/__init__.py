"""Gas Town in Python: an orchestrator for many coding agents.

Nothing is imported here on purpose: `gt` and `bd` start in milliseconds,
so every adapter imports only the domain modules it needs.
"""

__version__ = "0.1.0"
