"""`gt mail check [--inject]` and `gt prime --hook`: what the Claude hooks feed the model."""

import json


def test_mail_check_injects_each_new_message_once(gt):
    gt("mail", "send", "mayor", "-s", "First thing", "-m", "please look at wx-1")
    assert gt("mail", "check", "--actor", "mayor").stdout.strip() == "mayor: 1 unread"
    out = gt("mail", "check", "--inject", "--actor", "mayor").stdout
    assert out.startswith("<system-reminder>") and "First thing" in out and "please look at wx-1" in out
    assert gt("mail", "check", "--inject", "--actor", "mayor").stdout == ""  # already injected
    gt("mail", "send", "mayor", "-s", "Second thing", "-m", "and wx-2")
    again = gt("mail", "check", "--inject", "--actor", "mayor").stdout
    assert "Second thing" in again and "First thing" not in again
    # A new session (SessionStart) sees everything still unread.
    fresh = gt("mail", "check", "--inject", "--actor", "mayor", input_text='{"hook_event_name": "SessionStart"}').stdout
    assert "First thing" in fresh and "Second thing" in fresh
    data = json.loads(gt("mail", "check", "--json", "--actor", "mayor").stdout)
    assert data["unread"] == 2 and len(data["ids"]) == 2


def test_prime_hook_prints_prime_and_drains_the_hook_json(gt):
    out = gt("prime", "--hook", "--actor", "mayor", input_text='{"hook_event_name": "SessionStart", "source": "startup"}').stdout
    assert out.startswith("# You are mayor (mayor) in Gas Town")
    assert out == gt("prime", "--actor", "mayor").stdout
