"""runtime domain: agents as tmux sessions (the only code that talks to tmux).

- ``tmux``: one server per town (``socket_name``, ``TownTmux``): start with an
  explicit environment, respawn/stop sparing panes a human added, capture.
- ``snapshot``: the libtmux-free session listing ``gt status`` uses.
- ``transcripts``: per-session pane logs with rotation, ranges, streaming.
- ``nudge``: serialized, idle-aware, confirmed typing into a pane; disk queue.
- ``runtimes``: presets (claude, codex, gemini, opencode, amp, custom, script).
- ``script_agent``: the offline agent program (``python -m ...script_agent``).
- ``seance``: ask a predecessor session a question.

See ``docs/runtimes.md``.  Nothing is imported here: the CLI stays lean.
"""
