"""Agent runtimes as configuration: how to start, resume and find each CLI's transcripts.

A :class:`RuntimePreset` is data.  ``command`` is the argv prefix (the token
``{python}`` stands for the running interpreter); ``prompt_style`` says how
the startup prompt is given:

* ``arg``   - appended as the last argument (``claude "<prompt>"``);
* ``flag``  - after ``prompt_flag`` (``gemini --prompt-interactive "<prompt>"``);
* ``nudge`` - the CLI has no such option: the caller types the prompt into
  the pane once it is up (:func:`startup_nudge` returns it);
* ``none``  - the prompt is not used.

``resume`` is the argv template for a non-interactive question to a past
session (seance), with ``{bin}`` (``command[0]``), ``{session_id}`` and
``{question}`` replaced as whole tokens (never re-parsed by a shell).
``session_id_flag`` lets gastown choose the session id up front (Claude
Code's ``--session-id <uuid>``), so seance knows it without scraping.
``transcripts`` is where the CLI keeps its own logs (``~``, ``{cwd_slug}``,
``{session_id}`` expanded by :func:`transcript_location`).

The flags below are the CLIs' documented ones as of 2026; where a CLI is
uncertain the choice is recorded in ``docs/runtimes.md`` and can be
overridden per town (``gt config agent set``) through :func:`from_config`.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import msgspec

from ..errors import InvalidInput, NotFound, Unavailable

PROMPT_STYLES = ("arg", "flag", "nudge", "none")


class RuntimePreset(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    name: str
    command: list[str] = []
    prompt_style: str = "arg"
    prompt_flag: str = ""
    session_id_flag: str = ""
    resume: list[str] = []
    transcripts: str = ""
    env: dict[str, str] = {}
    description: str = ""
    #: Regex matching the cursor line when nothing is typed on it (passed to
    #: ``nudge(empty_input=...)``); "" = unknown, no check.
    empty_input: str = ""
    #: The format of the CLI's own session files (``claude``: one JSONL per
    #: session; ``codex``: rollout JSONL files under its home): what costs and
    #: seance read (``runtime/native.py``).  "" = none gastown can read.
    log_format: str = ""
    #: Paths the runtime needs inside an agent sandbox besides the town's
    #: (``~`` = the agent's sandbox HOME for rw, the user's home for ro):
    #: e.g. a CLI's install directory (ro) or its config directory (rw).
    sandbox_ro: list[str] = []
    sandbox_rw: list[str] = []
    #: Regex matching a visible row while the agent is generating (a nudge waits); "" = no check.
    busy: str = ""
    #: Regexes of first-run / permission dialogs that block an unattended session (``gt status``).
    dialogs: list[str] = []
    #: Per-session set-up the town does before start (``claude``: runtime/claude_code.py); "" = none.
    setup: str = ""
    #: Variables for the town's model proxy (``{model_url}``, ``{placeholder_key}``), set when one runs.
    model_env: dict[str, str] = {}
    #: The variable naming the CLI's own config directory, which the town gives each session
    #: (a sandbox must let the session write it): ``CLAUDE_CONFIG_DIR``, ``CODEX_HOME``.
    config_dir_env: str = ""


PRESETS: dict[str, RuntimePreset] = {
    p.name: p
    for p in (
        RuntimePreset(
            name="claude",
            command=["claude", "--dangerously-skip-permissions"],
            prompt_style="arg",
            session_id_flag="--session-id",
            resume=["{bin}", "--resume", "{session_id}", "-p", "{question}"],
            transcripts="{config_dir}/projects/{cwd_slug}/{session_id}.jsonl",
            log_format="claude",
            description="Claude Code",
            # Verified on Claude Code 2.1.332's screen (tmux capture-pane): the idle input
            # row is "❯" + NBSP; while it generates the status row says "esc to interrupt".
            empty_input=r"^\s*❯\s*$",
            busy=r"esc to interrupt",
            # Seen on 2.1.332: folder trust ("Accessing workspace: ... Yes, I trust this folder"), the
            # custom API key question, the bypass-permissions warning; the rest are older wordings.
            dialogs=[
                r"Detected a custom API key", r"Yes, I trust this folder", r"one you trust\?",
                r"Do you trust the files in this folder", r"Bypass Permissions mode", r"Select login method",
                r"Choose the text style", r"Yes, I accept", r"Do you want to (?:proceed|make this edit|create)",
            ],
            setup="claude",
            model_env={"ANTHROPIC_BASE_URL": "{model_url}", "ANTHROPIC_API_KEY": "{placeholder_key}"},
            config_dir_env="CLAUDE_CONFIG_DIR",
        ),
        RuntimePreset(
            name="codex",
            # --no-daemon: the TUI would otherwise start a shared app-server daemon that outlives
            # the session (and holds its thread's writer lock, so a seance could not resume it).
            command=["codex", "--no-daemon"],
            prompt_style="arg",
            # exec refuses a directory that is not a git repository without the flag
            resume=["{bin}", "exec", "--skip-git-repo-check", "resume", "{session_id}", "{question}"],
            transcripts="~/.codex/sessions",
            log_format="codex",
            description="OpenAI Codex CLI",
            # Codex 0.171's idle input row (tmux capture-pane): "› " and its placeholder.
            empty_input=r"^\s*›\s*(?:Ask Codex to do anything)?\s*$",
            # While it generates, Codex 0.171 keeps that empty input row (Enter would queue the text
            # into the running turn) and adds a status row "• Working (5s • esc to interrupt)".
            busy=r"Working \(.*esc to interrupt",
        ),
        RuntimePreset(
            name="gemini",
            command=["gemini"],
            prompt_style="flag",
            prompt_flag="--prompt-interactive",
            resume=["{bin}", "--resume", "{session_id}", "--prompt", "{question}"],
            transcripts="~/.gemini/tmp",
            description="Gemini CLI",
        ),
        RuntimePreset(
            name="opencode",
            command=["opencode"],
            prompt_style="flag",
            prompt_flag="--prompt",
            resume=["{bin}", "run", "--session", "{session_id}", "{question}"],
            transcripts="~/.local/share/opencode/storage",
            description="OpenCode",
        ),
        RuntimePreset(
            name="amp",
            command=["amp"],
            prompt_style="nudge",
            resume=["{bin}", "threads", "continue", "{session_id}", "-x", "{question}"],
            description="Amp (threads live on ampcode.com; no local transcripts)",
        ),
        RuntimePreset(
            name="custom",
            command=[],
            prompt_style="arg",
            description="Any command (set it with gt config agent set <name> --command ...)",
        ),
        RuntimePreset(
            name="script",
            command=["{python}", "-m", "gastown_server.runtime.script_agent"],
            prompt_style="flag",
            prompt_flag="--prompt",
            empty_input=r"^\s*$",
            description="Built-in offline agent: follows GUPP mechanically (tests, demo, mechanical work)",
        ),
    )
}


def get_preset(name: str) -> RuntimePreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise NotFound(f"unknown runtime {name!r} (known: {', '.join(PRESETS)})") from None


def from_config(name: str, settings: dict | None = None) -> RuntimePreset:
    """A preset from a town's agent settings: ``{"preset": "claude", "command": [...], ...}``.

    Without ``preset`` the base is the preset called ``name`` if there is one,
    else ``custom``.  Fields given override the base; unknown fields are an error.
    """
    settings = dict(settings or {})
    base_name = settings.pop("preset", None) or (name if name in PRESETS else "custom")
    base = get_preset(base_name)
    merged = {**msgspec.to_builtins(base), **settings, "name": name}
    try:
        preset = msgspec.convert(merged, RuntimePreset)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"bad settings for agent runtime {name!r}: {exc}") from None
    if preset.prompt_style not in PROMPT_STYLES:
        raise InvalidInput(f"bad prompt_style {preset.prompt_style!r} for runtime {name!r} (one of {', '.join(PROMPT_STYLES)})")
    if preset.prompt_style == "flag" and not preset.prompt_flag:
        raise InvalidInput(f"runtime {name!r} uses prompt_style 'flag' but has no prompt_flag")
    return preset


def _expand(token: str) -> str:
    return sys.executable if token == "{python}" else token


def base_command(preset: RuntimePreset) -> list[str]:
    argv = [_expand(t) for t in preset.command]
    if not argv or not argv[0]:
        raise InvalidInput(f"runtime {preset.name!r} has no command configured")
    if os.sep not in argv[0] and shutil.which(argv[0]) is None:
        from . import agent_clis

        argv[0] = agent_clis.find(argv[0]) or argv[0]  # the bootstrap's pinned install
    return argv


def start_command(preset: RuntimePreset, *, cwd: Path, prompt: str, session_id: str | None = None) -> list[str]:
    """The argv that starts the runtime (tmux sets ``cwd``; it is validated here)."""
    if not Path(cwd).is_dir():
        raise InvalidInput(f"agent directory {cwd} does not exist")
    argv = base_command(preset)
    if session_id and preset.session_id_flag:
        argv += [preset.session_id_flag, session_id]
    if prompt:
        if preset.prompt_style == "arg":
            argv.append(prompt)
        elif preset.prompt_style == "flag":
            argv += [preset.prompt_flag, prompt]
    return argv


def startup_nudge(preset: RuntimePreset, prompt: str) -> str | None:
    """The prompt to type into the pane after start (``nudge`` style), else None."""
    return prompt if prompt and preset.prompt_style == "nudge" else None


def resume_command(preset: RuntimePreset, *, session_id: str, question: str) -> list[str] | None:
    """Argv asking ``question`` of past session ``session_id`` non-interactively; None if unsupported."""
    if not preset.resume:
        return None
    if not session_id or session_id.startswith("-") or any(c.isspace() for c in session_id):
        raise InvalidInput(f"bad session id {session_id!r}")
    if not question.strip():
        raise InvalidInput("the question is empty")
    binary = base_command(preset)[0]
    values = {"{bin}": binary, "{session_id}": session_id, "{question}": question}
    return [values.get(t, _expand(t)) for t in preset.resume]


def check_available(preset: RuntimePreset, *, path: str | None = None) -> str:
    """The resolved executable of the runtime, or :class:`Unavailable` with a clear line."""
    binary = base_command(preset)[0]
    if os.sep in binary:
        if os.access(binary, os.X_OK) and Path(binary).is_file():
            return binary
        raise Unavailable(f"runtime {preset.name!r} not found: {binary} is not an executable file")
    from . import agent_clis

    found = agent_clis.find(binary, path=path)
    if not found:
        raise Unavailable(
            f"runtime {preset.name!r} not found on PATH: no {binary!r} executable "
            f"(install it, or pick another runtime with `gt config agent default <name>`)"
        )
    return found


def cwd_slug(cwd: Path) -> str:
    """Claude Code's project directory name for ``cwd``: every non-alphanumeric char -> '-'."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(Path(cwd).resolve()))


def transcript_location(
    preset: RuntimePreset, *, cwd: Path, session_id: str = "", config_dir: Path | str | None = None
) -> Path | None:
    """Where the runtime keeps its own transcript(s) for ``cwd``/``session_id`` (None: nowhere local).

    ``config_dir``: the session's own config directory (``{config_dir}``; the
    town gives each Claude Code session one, see :func:`session_config_dir`).
    """
    if not preset.transcripts:
        return None
    text = preset.transcripts.replace("{cwd_slug}", cwd_slug(cwd))
    if "{config_dir}" in text:
        if config_dir is None:
            return None
        text = text.replace("{config_dir}", str(config_dir))
    if "{session_id}" in text:
        if not session_id:
            text = text.split("{session_id}")[0].rstrip("/")
        else:
            text = text.replace("{session_id}", session_id)
    return Path(os.path.expanduser(text))


def session_config_dir(town_root: Path, preset: RuntimePreset, session: str) -> Path | None:
    """The CLI config directory the town gives ``session`` (``<town>/.gastown/agent-config/<runtime>/<session>``).

    Stable across the agent's sessions, so its own session files (seance,
    costs) stay in one place; None for runtimes that do not take one.
    """
    if not preset.config_dir_env:
        return None
    base = preset.setup or preset.name
    return Path(town_root) / ".gastown" / "agent-config" / base / session


def session_setup(preset: RuntimePreset, town_root: Path, ident, *, cwd: Path, session_id: str) -> dict[str, str]:
    """Per-session set-up the preset asks for (``setup``); returns variables for the session's environment."""
    if preset.setup == "claude":
        from . import claude_code

        return claude_code.prepare(Path(town_root), ident, preset, cwd=Path(cwd), session_id=session_id)
    if preset.setup:
        raise InvalidInput(f"runtime {preset.name!r} asks for an unknown setup {preset.setup!r}")
    return {}
