"""The VS Code client's own checks, run through pytest so one command runs everything.

Each step is the real tool: `npm ci` (when node_modules is missing or stale),
esbuild, strict `tsc`, `vsce package`, Node's test runner on the client layer
(against the real `gastown-server` on real towns) and the end-to-end test in a
real VS Code workbench (code-server + Chromium, installed by
`clients/vscode/scripts/setup-e2e.sh`, which is idempotent and fast once
cached).  A failing step prints the tool's output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "clients" / "vscode"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # The server, bd and gt the tests start must be this checkout's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["GASTOWN_PYTHON"] = sys.executable
    env.setdefault("npm_config_fund", "false")
    env.setdefault("npm_config_audit", "false")
    env.setdefault("npm_config_update_notifier", "false")
    return env


def _run(*cmd: str, timeout: int = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        list(cmd), cwd=EXT, env=env or _env(), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-12000:]}\n{proc.stderr[-12000:]}"
    )
    return proc


def _npm() -> str:
    npm = shutil.which("npm")
    assert npm, "npm not found: install Node.js 20 (apt-get install nodejs npm)"
    return npm


@pytest.fixture(scope="module")
def built() -> Path:
    """node_modules from the lockfile, the bundles in dist/, and the .vsix."""
    npm = _npm()
    stamp = EXT / "node_modules" / ".package-lock.json"
    lock = EXT / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        _run(npm, "ci", "--no-fund", "--no-audit")
    # vsce runs the prepublish step: esbuild bundles dist/extension.js and dist/client.js.
    _run(npm, "run", "package")
    vsix = EXT / "gastown-vscode.vsix"
    assert vsix.exists() and vsix.stat().st_size > 10_000
    return vsix


def test_typecheck_strict(built: Path):
    _run(_npm(), "run", "typecheck")


def test_vsix_contents(built: Path):
    import zipfile

    names = set(zipfile.ZipFile(built).namelist())
    assert "extension/package.json" in names
    assert "extension/dist/extension.js" in names
    assert not any("node_modules" in n or n.endswith(".ts") for n in names), sorted(names)


def test_client_layer_unit_tests(built: Path):
    out = _run("node", "--test", "--test-concurrency=1", "test/unit/", timeout=300)
    assert "# fail 0" in out.stdout, out.stdout[-4000:]


@pytest.mark.slow
def test_end_to_end_in_vscode(built: Path):
    setup = _run("bash", "scripts/setup-e2e.sh", timeout=900)
    code_server = setup.stdout.strip().splitlines()[-1]
    env = _env()
    env["GASTOWN_CODE_SERVER"] = code_server
    out = _run("node", "--test", "--test-concurrency=1", "test/e2e/", timeout=600, env=env)
    assert "# fail 0" in out.stdout, out.stdout[-4000:]
    shots = list((ROOT / "test-output" / "vscode").glob("*.png"))
    assert shots, "the e2e test keeps a screenshot in test-output/vscode/"
