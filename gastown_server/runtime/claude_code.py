"""Claude Code as the town runs it: its own config dir per session, settings with hooks, no first-run stops.

Before each start of a ``claude`` session the town (:func:`prepare`):

* gives the session its own config directory
  (``<town>/.gastown/agent-config/claude/<session>``, ``CLAUDE_CONFIG_DIR``),
  so the user's ``~/.claude`` and ``~/.claude.json`` are never written; a
  subscription login (``~/.claude/.credentials.json``, from ``claude login``)
  is linked in read-only use so it keeps working;
* writes that dir's ``settings.json`` (the town owns it: rewritten on every
  start, so it is always in sync with this code): the role's hooks
  (:func:`settings_for`) and ``skipDangerousModePermissionPrompt``;
* merges into that dir's ``.claude.json`` exactly the keys that stop the
  first-run screens, for the directories the town owns: onboarding done,
  the bypass-permissions warning accepted, the placeholder API key approved
  (its last 20 characters, as Claude Code records it), and folder trust for
  the session's working directory;
* returns the environment the session needs on top of the town's:
  ``CLAUDE_CONFIG_DIR``, ``IS_SANDBOX=1`` when running as root (Claude Code
  refuses ``--dangerously-skip-permissions`` as root otherwise), no
  auto-updater or non-essential traffic, and the model proxy's URL and
  placeholder key when the town runs one (``modelstub.service``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..modelstub.server import PLACEHOLDER_KEY
from . import guards

#: The hooks every town Claude session gets (Gas Town's templates).
HOOKS = {
    "SessionStart": "gt prime --hook && gt mail check --inject",
    "PreCompact": "gt prime --hook",
    "UserPromptSubmit": "gt mail check --inject",
    "Stop": "gt costs record",
}


def settings_for(role: str) -> dict:
    """The settings.json the town writes for a session of ``role``."""
    hooks = {event: [{"hooks": [{"type": "command", "command": cmd}]}] for event, cmd in HOOKS.items()}
    # Not `gt tap guard` (the same check): this hook runs before every Bash call, so it is the lean entry.
    hooks["PreToolUse"] = [{"matcher": "Bash", "hooks": [{"type": "command", "command": guards.hook_command()}]}]
    return {
        "skipDangerousModePermissionPrompt": True,
        "hooks": hooks,
        "env": {"GT_ROLE_KIND": role},
    }


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + f".gt{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def accept_first_run(config_dir: Path, trusted: list[str], api_keys: list[str]) -> None:
    """Merge the keys that stop first-run screens into ``.claude.json`` (other keys left as they are)."""
    path = config_dir / ".claude.json"
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data["hasCompletedOnboarding"] = True
    data["bypassPermissionsModeAccepted"] = True
    responses = data.get("customApiKeyResponses") if isinstance(data.get("customApiKeyResponses"), dict) else {}
    approved = [k for k in responses.get("approved") or [] if isinstance(k, str)]
    for key in api_keys:
        if key[-20:] not in approved:
            approved.append(key[-20:])
    data["customApiKeyResponses"] = {"approved": approved, "rejected": list(responses.get("rejected") or [])}
    projects = data.get("projects") if isinstance(data.get("projects"), dict) else {}
    for d in trusted:
        entry = projects.get(d) if isinstance(projects.get(d), dict) else {}
        entry["hasTrustDialogAccepted"] = True
        entry.setdefault("hasCompletedProjectOnboarding", True)
        projects[d] = entry
    data["projects"] = projects
    _write_json(path, data)


def _link_login(config_dir: Path) -> None:
    """A ``claude login`` subscription stays usable: its credentials file is linked in."""
    user = Path(os.path.expanduser("~")) / ".claude" / ".credentials.json"
    link = config_dir / ".credentials.json"
    if user.is_file() and not link.exists() and not link.is_symlink():
        try:
            link.symlink_to(user)
        except OSError:
            pass


def prepare(town_root: Path, ident, preset, *, cwd: Path, session_id: str) -> dict[str, str]:
    from ..modelstub import service
    from .runtimes import session_config_dir

    config_dir = session_config_dir(town_root, preset, ident.session)
    assert config_dir is not None
    config_dir.mkdir(parents=True, exist_ok=True)
    _write_json(config_dir / "settings.json", settings_for(ident.role))
    model_env = service.session_model_env(town_root, preset)
    keys = [PLACEHOLDER_KEY] + [v for k, v in model_env.items() if k == "ANTHROPIC_API_KEY" and v != PLACEHOLDER_KEY]
    accept_first_run(config_dir, [str(Path(cwd).resolve()), str(cwd)], keys)
    _link_login(config_dir)
    env = {
        preset.config_dir_env or "CLAUDE_CONFIG_DIR": str(config_dir),
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
    }
    if os.geteuid() == 0:
        env["IS_SANDBOX"] = "1"
    env.update(model_env)
    return env
