"""Costs: token usage from the runtimes' own session files, priced (``gt costs``; docs/costs.md).

- ``usage``: incremental readers of Claude Code session JSONL and Codex rollouts;
- ``pricing``: the price table (defaults + ``<town>/settings/costs.json``);
- ``sessions``: per-session cost records under ``<town>/.gastown/costs/``;
- ``report``: summaries by agent, rig, convoy or day.
"""
