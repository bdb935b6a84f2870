"""Seance on real Claude Code sessions: `gt seance` lists an agent's sessions from the ledger and from
Claude Code's own files (a session a human ran in the agent's directory too), and a question to a
finished session resumes it with the real `claude --resume <id> -p`; the loopback model answers from
the resumed transcript, and that answer reaches `gt seance` and the RPC method (streamed as
$/progress reports). A damaged session file still lists, with the rest of it read."""

import json
import os
import subprocess
from pathlib import Path

from costs_helpers import claude_print_agent, find_cli, gt, run_session, stub_log

from gastown_server.rpc.client import Client
from gastown_server.town.core import Town

QUESTION = "what did you see about unread mail"


def test_seance_lists_claude_sessions_and_a_question_gets_the_stubs_answer(town_root, cli_path, stub):
    agent = claude_print_agent(town_root, stub)
    with Town(town_root) as town:
        rec = run_session(town, "mayor", agent)
    # A session the town did not start: someone ran claude by hand in the Mayor's directory, with
    # the Mayor's own Claude config dir (the session's HOME may be the town's, under a sandbox).
    config_dir = str(Path(rec.logs).parents[2])
    env = {**os.environ, "ANTHROPIC_BASE_URL": stub.url, "ANTHROPIC_API_KEY": "sk-gastown-test-key",
           "CLAUDE_CONFIG_DIR": config_dir}  # fmt: skip
    by_hand = subprocess.run([find_cli("claude"), "-p", "hello from a human"], cwd=rec.cwd, env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert by_hand.returncode == 0, by_hand.stderr

    listed = json.loads(gt(town_root, "seance", "mayor", "--json").stdout)
    ours = next(r for r in listed if r["session_id"] == rec.session_id)
    assert ours["source"] == "town" and ours["messages"] >= 1 and ours["summary"].startswith("You are mayor")
    human = [r for r in listed if r["source"] == "runtime"]
    assert len(human) == 1 and human[0]["summary"] == "hello from a human" and human[0]["logs"].endswith(".jsonl")
    text = gt(town_root, "seance", "mayor").stdout
    assert rec.session_id in text and "(runtime's own file)" in text

    before = len(stub_log(stub))
    talk = gt(town_root, "seance", "--talk", rec.session_id, "-p", QUESTION)
    assert talk.returncode == 0, talk.stderr
    answered = [e for e in stub_log(stub)[before:] if e.get("user") == QUESTION]
    assert answered and answered[-1]["kind"] == "answer"
    assert talk.stdout == answered[-1]["text"] + "\n"
    assert "From this session" in talk.stdout  # built from the resumed transcript (gt prime's output)

    # The human's session answers too, named through its agent.
    other = gt(town_root, "seance", "mayor", "--talk", human[0]["session_id"][:8], "-p", "what did I say", "--json")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["source"] == "resume"

    # Over RPC: the answer arrives as $/progress reports, then the result holds all of it.
    c = Client.spawn(town=town_root, env={**os.environ, "GT_TOWN": str(town_root)})
    try:
        c.initialize()
        ans = c.call("seance/talk", {"session_id": rec.session_id, "question": QUESTION, "progress_token": "s1"},
                     timeout=120)  # fmt: skip
        notes = [n["params"]["value"] for n in c.notifications(0.5, method="$/progress")]
    finally:
        c.close()
    # (The first seance's question and answer are part of the session now, so the answer differs.)
    latest = [e for e in stub_log(stub) if e.get("user") == QUESTION][-1]
    assert ans["source"] == "resume" and ans["answer"] == latest["text"] != answered[-1]["text"]
    assert [n["kind"] for n in notes][0] == "begin" and notes[-1]["kind"] == "end"
    assert "".join(n["message"] for n in notes if n["kind"] == "report").strip() == ans["answer"]

    # A damaged line in the session file: it still lists and the rest is read.
    with open(rec.logs, "ab") as f:
        f.write(b"\x00garbage that is not json\n")
    again = gt(town_root, "seance", "mayor", "--json")
    assert again.returncode == 0
    assert again.stderr.strip().splitlines() == [
        f"gt: warning: {rec.logs}: 1 unreadable line(s) skipped; the rest was read"]
    damaged = next(r for r in json.loads(again.stdout) if r["session_id"] == rec.session_id)
    assert damaged["messages"] >= 1 and damaged["bad_lines"] == 1
    # ...and the damaged session can still be asked (Claude Code skips the line too).
    asked = gt(town_root, "seance", "--talk", rec.session_id, "-p", "which mail is unread", "--json")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["answer"] == [e for e in stub_log(stub) if e.get("user") == "which mail is unread"][-1]["text"]
