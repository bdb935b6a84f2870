"""The loopback model: a deterministic stand-in for a hosted LLM, and the key-adding proxy.

``gt model-stub`` serves it on 127.0.0.1 (docs/runtimes.md, "The loopback model").

* :mod:`.policy` -- API-neutral: a :class:`~.policy.Conversation` in, a
  :class:`~.policy.Reply` (text and/or shell-tool calls, usage) out.  It
  plays a Gas Town agent the way the ``script`` runtime does (``gt prime``,
  walk the hooked molecule step by step with ``bd mol current``/``bd close``,
  patrol loops), answers questions (nudges, seance) from the conversation.
* :mod:`.anthropic` -- the Anthropic Messages API front end (what Claude Code
  speaks): request -> Conversation, Reply -> JSON or SSE.
* :mod:`.server` -- the HTTP server (stub mode, or forward mode: add the
  user's key and pass requests to the real upstream), request log.

Other API front ends (OpenAI Responses for Codex) reuse the policy: parse the
request into a Conversation, render the Reply.
"""
