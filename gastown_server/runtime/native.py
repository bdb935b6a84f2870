"""The runtimes' own session files: where a town session's are, preparing them, listing them.

Claude Code writes ``<config dir>/projects/<cwd slug>/<session id>.jsonl``
(config dir: ``$CLAUDE_CONFIG_DIR``, else ``$HOME/.claude``) and gastown
chooses the session id (``--session-id``), so the file is known at start.

Codex chooses its own session ids and writes rollout files under
``$CODEX_HOME/sessions/YYYY/MM/DD/``.  So the town gives every Codex
session a home of its own, ``<town>/.gastown/agent-config/codex/<tmux
session>/<session id>/``, with a
``config.toml`` it writes (the loopback model provider, no approvals, the
working directory trusted): every rollout there is that session's, and
seance resumes it with ``CODEX_HOME`` pointing there.  A preset whose
``env`` sets ``CODEX_HOME`` keeps it (and its costs are not read: a shared
home mixes sessions).

:func:`list_sessions` reads the files themselves (seance lists them even
for sessions the town did not start, e.g. a human's ``claude`` in the
Mayor's directory).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec

from .runtimes import RuntimePreset, cwd_slug

#: Where the town keeps per-session Codex homes, under its state directory.
CODEX_HOMES = "agent-config/codex"
#: The model Codex asks the loopback provider for (any name works with the stub).
CODEX_MODEL = "gpt-5-codex"


class NativeSession(msgspec.Struct, omit_defaults=True):
    """One session file of a runtime."""

    #: The runtime's own id (what ``--resume`` / ``exec resume`` take).
    native_id: str
    path: str
    started: str = ""
    updated: str = ""
    cwd: str = ""
    #: The first thing the user (gastown's prompt, a nudge) said, shortened.
    first_prompt: str = ""
    #: The last thing the user said, shortened.
    last_prompt: str = ""
    user_messages: int = 0
    #: Lines that are not JSON objects (the rest was read).
    bad_lines: int = 0


def codex_home(state_dir: Path, session: str, session_id: str) -> Path:
    return Path(state_dir) / CODEX_HOMES / session / session_id


def claude_config_dir(env: dict[str, str]) -> Path | None:
    """Claude Code's config directory for a session environment (``$CLAUDE_CONFIG_DIR``, else ``~/.claude``)."""
    if env.get("CLAUDE_CONFIG_DIR"):
        return Path(env["CLAUDE_CONFIG_DIR"])
    home = env.get("HOME")
    return Path(home) / ".claude" if home else None


def claude_project_dir(env: dict[str, str], cwd: Path) -> Path | None:
    base = claude_config_dir(env)
    return None if base is None else base / "projects" / cwd_slug(cwd)


def model_base_url(env: dict[str, str], town_root: Path | None = None) -> str:
    """The loopback model a Codex session talks to, or "" (Codex's own provider and login).

    ``GT_MODEL_BASE_URL`` or ``ANTHROPIC_BASE_URL`` in the session's
    environment (a preset's ``env``), else the town's ``gt model-stub`` when
    it runs in stub mode (its forward mode proxies Anthropic's API only).
    """
    url = env.get("GT_MODEL_BASE_URL") or env.get("ANTHROPIC_BASE_URL") or ""
    if not url and town_root is not None:
        from ..modelstub import service

        st = service.status(town_root)
        if st.running and st.mode == "stub":
            url = st.url
    return url.rstrip("/")


def codex_config(*, base_url: str, cwd: Path, model: str = CODEX_MODEL) -> str:
    """``config.toml`` for a town Codex session: the loopback provider when there is one, cwd trusted."""
    q = json.dumps  # TOML basic strings are JSON strings for what we write
    lines = ["# Written by gastown for one session; rewritten at each start.", 'approval_policy = "never"',
             'sandbox_mode = "danger-full-access"']  # fmt: skip
    if base_url:
        lines += [f"model = {q(model)}", 'model_provider = "gastown"', "", "[model_providers.gastown]",
                  'name = "gastown loopback model"', f"base_url = {q(base_url + '/v1')}", 'wire_api = "responses"']  # fmt: skip
    # No shared background app-server: it outlives the session (the preset also passes --no-daemon).
    lines += ["", "[features]", "daemon_auto_start = false"]
    lines += ["", f"[projects.{q(str(cwd))}]", 'trust_level = "trusted"', ""]
    return "\n".join(lines)


def prepare_session(town, preset: RuntimePreset, *, session_id: str, cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """What the session's environment needs added for the runtime's files (and the files made)."""
    if preset.log_format != "codex" or env.get("CODEX_HOME"):
        return {}
    home = codex_home(town.state_dir, env.get("GT_SESSION", "session"), session_id)
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / "config.toml.tmp"
    tmp.write_text(codex_config(base_url=model_base_url(env, town.root), cwd=Path(cwd).resolve()))
    os.replace(tmp, home / "config.toml")
    return {"CODEX_HOME": str(home)}


def log_location(preset: RuntimePreset, *, session_id: str, cwd: Path, env: dict[str, str]) -> str:
    """The session's own file (Claude Code) or rollout directory (Codex, own home only); "" if none."""
    if preset.log_format == "claude":
        project = claude_project_dir(env, Path(cwd))
        return str(project / f"{session_id}.jsonl") if project else ""
    if preset.log_format == "codex":
        home = env.get("CODEX_HOME", "")
        return str(Path(home) / "sessions") if home and Path(home).name == session_id else ""
    return ""


def codex_rollouts(logs: str | Path) -> list[Path]:
    """Rollout files under a Codex ``sessions`` directory, oldest first (names start with the time)."""
    root = Path(logs)
    if not root.is_dir():
        return []
    return sorted(root.glob("*/*/*/rollout-*.jsonl"), key=lambda p: p.name)


def session_files(fmt: str, logs: str) -> list[Path]:
    if not logs:
        return []
    if fmt == "codex":
        return codex_rollouts(logs)
    return [Path(logs)]


def resume_target(preset: RuntimePreset, session_id: str, logs: str) -> tuple[str, dict[str, str]]:
    """(the id to resume, variables the resuming process needs) for a town session.

    Claude Code: the town's id is its own, resumed in the config dir its file is in.  Codex: the id of the session's
    first rollout, resumed in the session's own ``CODEX_HOME``.
    """
    from ..errors import NotFound

    if preset.log_format == "claude" and logs:
        # Resume from the config dir the session really wrote to (a sandbox gives it its own HOME).
        return session_id, {"CLAUDE_CONFIG_DIR": str(Path(logs).parents[2])}
    if preset.log_format != "codex" or not logs:
        return session_id, {}
    for path in codex_rollouts(logs):
        ns = read_session("codex", path)
        if ns is not None:
            return ns.native_id, {"CODEX_HOME": str(Path(logs).parent)}
    raise NotFound(f"codex session {session_id} left no rollout under {logs} (it never reached the model?)")


def _short(text: str, n: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for c in content:
            if isinstance(c, dict) and c.get("type") in ("text", "input_text") and isinstance(c.get("text"), str):
                parts.append(c["text"])
        return " ".join(parts)
    return ""


def read_session(fmt: str, path: Path) -> NativeSession | None:
    """What seance shows of one session file (None if it is not one)."""
    try:
        st = path.stat()
        raw = path.read_bytes()
    except OSError:
        return None
    ns = NativeSession(native_id=path.stem if fmt == "claude" else "", path=str(path))
    ns.updated = _iso(st.st_mtime)
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            rec = msgspec.json.decode(line)
        except msgspec.DecodeError:
            ns.bad_lines += 1
            continue
        if not isinstance(rec, dict):
            ns.bad_lines += 1
            continue
        ts = rec.get("timestamp")
        if isinstance(ts, str) and not ns.started:
            ns.started = ts
        text = ""
        if fmt == "claude":
            if isinstance(rec.get("cwd"), str) and not ns.cwd:
                ns.cwd = rec["cwd"]
            msg = rec.get("message")
            if rec.get("type") == "user" and isinstance(msg, dict) and not rec.get("isMeta"):
                text = _text_of(msg.get("content"))
        else:
            p = rec.get("payload")
            if not isinstance(p, dict):
                continue
            if rec.get("type") == "session_meta":
                ns.native_id = str(p.get("id") or ns.native_id)
                ns.cwd = str(p.get("cwd") or ns.cwd)
            elif rec.get("type") == "response_item" and p.get("type") == "message" and p.get("role") == "user":
                text = _text_of(p.get("content"))
        if text.strip() and not text.lstrip().startswith("<"):  # skip injected context blocks
            ns.user_messages += 1
            ns.first_prompt = ns.first_prompt or _short(text)
            ns.last_prompt = _short(text)
    if not ns.native_id:
        return None
    return ns


def list_sessions(preset: RuntimePreset, *, cwd: Path, env: dict[str, str], logs: list[str] = ()) -> list[NativeSession]:
    """The runtime's sessions for ``cwd`` (Claude: its project directory) plus the given ``logs``, newest first."""
    fmt = preset.log_format
    paths: dict[str, Path] = {}
    if fmt == "claude":
        project = claude_project_dir(env, Path(cwd))
        if project is not None and project.is_dir():
            for p in project.glob("*.jsonl"):
                paths[str(p)] = p
    for entry in logs:
        for p in session_files(fmt, entry):
            if p.is_file():
                paths[str(p)] = p
    out = [ns for ns in (read_session(fmt, p) for p in paths.values()) if ns is not None]
    out.sort(key=lambda ns: ns.updated, reverse=True)
    return out


def _iso(epoch: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


__all__ = [
    "NativeSession", "claude_config_dir", "claude_project_dir", "codex_config", "codex_home", "codex_rollouts", "cwd_slug", "list_sessions", "log_location",
    "model_base_url", "prepare_session", "read_session", "resume_target", "session_files",
]  # fmt: skip
