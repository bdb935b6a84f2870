"""docs/protocol.md is generated from the Structs; CI fails when it is stale."""

from __future__ import annotations

import subprocess
import sys

from gastown_server.rpc.docs import DOC, render
from gastown_server.rpc.registry import load_all, notifications


def test_protocol_doc_is_current():
    proc = subprocess.run([sys.executable, "-m", "gastown_server.rpc.docs", "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_protocol_doc_documents_every_method_and_notification_with_a_schema():
    text = render()
    for name, m in load_all().items():
        section = text.split(f"### `{name}`\n", 1)[1].split("\n### ", 1)[0]
        assert f"Params `{m.params.__name__}`" in section and "```json" in section, name
    for name in notifications():
        assert f"### `{name}`" in text
    assert DOC.name == "protocol.md"


def test_check_fails_on_a_stale_doc(tmp_path):
    stale = tmp_path / "protocol.md"
    stale.write_text("old\n")
    proc = subprocess.run([sys.executable, "-m", "gastown_server.rpc.docs", "--check", "--output", str(stale)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "out of date" in proc.stderr


def test_generated_schema_does_not_depend_on_docstring_indentation_or_union_order():
    """Python 3.13 dedents docstrings and msgspec 0.18 lists union members in another
    order than 0.23: both once made a fresh machine's --check fail on whitespace alone."""
    from gastown_server.rpc.docs import _normalized

    indented = {"description": "First line.\n\n        Second line\n          indented more.", "type": "object",
                "properties": {"x": {"anyOf": [{"$ref": "#/components/A"}, {"type": "null"}], "default": None}}}
    dedented = {"type": "object", "description": "First line.\n\nSecond line\n  indented more.",
                "properties": {"x": {"default": None, "anyOf": [{"type": "null"}, {"$ref": "#/components/A"}]}}}
    a, b = _normalized(indented), _normalized(dedented)
    assert a == b
    assert list(a) == ["description", "type", "properties"]
    assert a["description"] == "First line.\n\nSecond line\nindented more."
    import json
    assert json.dumps(a) == json.dumps(b)
