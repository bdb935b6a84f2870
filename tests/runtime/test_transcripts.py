import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gastown_server.errors import InvalidInput
from gastown_server.runtime import transcripts
from gastown_server.runtime.nudge import clean_message, nudge

from rt_helpers import got_lines, start_agent, wait_for


def test_paths_ranges_and_tail(tmp_path):
    path = transcripts.transcript_path(tmp_path, "hq-mayor")
    assert path == tmp_path / ".gastown" / "transcripts" / "hq-mayor.log"
    assert transcripts.read_range(path, 0) == b"" and transcripts.size(path) == 0
    path.parent.mkdir(parents=True)
    (path.parent / "hq-mayor.log.2").write_bytes(b"oldest 1\noldest 2\n")
    (path.parent / "hq-mayor.log.1").write_bytes(b"older \x1b[1mbold\x1b[0m\r\n")
    path.write_bytes(b"live 1\nlive 2\n")
    assert [p.name for p in transcripts.rotated_files(path)] == ["hq-mayor.log.2", "hq-mayor.log.1", "hq-mayor.log"]
    assert transcripts.read_range(path, 5, 8) == b"1\nl"
    assert transcripts.read_range(path, 100) == b""
    with pytest.raises(InvalidInput):
        transcripts.read_range(path, 5, 2)
    assert transcripts.tail(path, 3) == "older bold\nlive 1\nlive 2\n"
    # a tail followed by the stream from the file's end reads as the pane does, line for line
    with open(path, "ab") as fh:
        fh.write(b"partial")
    assert transcripts.tail(path, 2) == "live 2\npartial"
    assert transcripts.tail(path, 2) + " line\n" == "live 2\npartial line\n"
    assert transcripts.full_text(path).startswith("oldest 1\noldest 2\nolder bold\n")


def test_session_parts(tmp_path):
    path = tmp_path / "t.log"
    transcripts.mark(path, "a")
    with open(path, "a") as fh:
        fh.write("alpha work\n")
    transcripts.mark(path, "b")
    with open(path, "a") as fh:
        fh.write("beta work\n")
    assert transcripts.session_ids(path) == ["a", "b"]
    assert "alpha work" in transcripts.session_part(path, "a") and "beta" not in transcripts.session_part(path, "a")
    assert transcripts.session_part(path, "c") is None


@given(st.text(max_size=300))
def test_clean_message_is_one_printable_line(text):
    try:
        out = clean_message(text)
    except InvalidInput:
        assert not text.strip() or all(not c.isprintable() or c.isspace() for c in text)
        return
    assert out == out.strip() and out
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in out)


@pytest.mark.slow
def test_arbitrary_text_arrives_exactly(tmux, tmp_path, base_env):
    """Quotes, backslashes, semicolons, tmux key names and non-ASCII (BMP) arrive as typed.

    (Characters outside the BMP may not be rendered by tmux, so their echo
    cannot be confirmed: such a nudge is reported failed and erased, never
    left half-typed.)
    """
    log = start_agent(tmux, tmp_path, "hq-mayor", base_env)
    sent = []

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.text(alphabet=st.characters(whitelist_categories=("L", "N", "P", "S", "Zs"), max_codepoint=0xFFFF) | st.sampled_from(list(";\\'\"$` ~#{}")), min_size=1, max_size=120))
    def check(text):
        try:
            clean = clean_message(text)
        except InvalidInput:
            return
        res = nudge(tmux, "hq-mayor", clean, state_dir=tmp_path / "st", idle_s=0.1, echo_s=2, confirm_s=0.5)
        assert res.status == "delivered", (res, clean)
        sent.append(clean)
        assert wait_for(lambda: len(got_lines(log)) == len(sent))
        assert got_lines(log)[-1] == clean

    check()
    for word in ["Enter", "C-c", "Escape", "end;", "\\;", "-t", "--"]:
        assert nudge(tmux, "hq-mayor", word, state_dir=tmp_path / "st", idle_s=0.1).status == "delivered"
        sent.append(word)
    assert wait_for(lambda: got_lines(log) == sent)
