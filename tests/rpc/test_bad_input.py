"""Bad input: a clear error (or a clean exit), never a traceback, never a half-applied change."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time

import pytest
from rpc_helpers import SocketServer, clean_env, make_town

from gastown_server.rpc.client import Client, server_command
from gastown_server.rpc.errors import RpcError

GT = [sys.executable, "-m", "gastown_server.cli.gt"]


def error_of(c: Client, method: str, params=None) -> RpcError:
    with pytest.raises(RpcError) as err:
        c.call(method, params)
    assert "Traceback" not in err.value.message and "\n" not in err.value.message
    return err.value


@pytest.mark.parametrize(
    "method, params, code, field",
    [
        ("bead/create", {"title": 5}, -32602, "$.title"),
        ("bead/create", {"title": "x", "bogus": 1}, -32602, "$.bogus"),
        ("bead/create", {}, -32602, "$.title"),
        ("bead/create", {"title": "x", "priority": 9}, -32602, "$.priority"),
        ("bead/list", {"limit": -1}, -32602, "$.limit"),
        ("bead/list", {"limit": 10**30}, -32602, "$.limit"),
        ("bead/update", {"id": "t-x", "status": ["open"]}, -32602, "$.status"),
        ("bead/create", {"title": "x", "deps": [{"id": 3}]}, -32602, "$.deps[0].id"),
        ("feed/subscribe", {"cursor": "latest"}, -32602, "$.cursor"),
        ("transcript/unsubscribe", {"subscription": 0}, -32602, "$.subscription"),
        ("convoy/list", {"status": "sideways"}, -32602, "$.status"),
    ],
)
def test_invalid_params_name_the_field(connect, method, params, code, field):
    err = error_of(connect(), method, params)
    assert err.code == code and err.data["kind"] == "invalid_params" and err.data["field"] == field
    assert field.split(".")[-1].split("[")[0] in err.message


def test_domain_errors_and_nothing_half_applied(connect):
    c = connect()
    assert error_of(c, "bead/show", {"id": "t-nope"}).code == -33001
    assert error_of(c, "bead/create", {"title": "  "}).code == -33002
    assert error_of(c, "bead/create", {"title": "x", "type": "nonsense"}).code == -33002
    a = c.call("bead/create", {"title": "A"})
    # a convoy tracking one real and one unknown bead: refused whole
    assert error_of(c, "convoy/create", {"title": "C", "tracked": [a["id"], "t-ghost"]}).code == -33001
    assert c.call("convoy/list", {"status": "all"})["convoys"] == []
    # an update whose second part fails leaves the first part undone
    err = error_of(c, "bead/update", {"id": a["id"], "title": "changed", "remove_labels": ["absent"]})
    assert err.code == -33001
    assert c.call("bead/show", {"id": a["id"]})["title"] == "A"
    c.call("bead/close", {"id": a["id"]})
    assert error_of(c, "bead/close", {"id": a["id"]}).code == -33003
    assert error_of(c, "mail/send", {"to": "not an address!", "subject": "x"}).code == -33002
    assert error_of(c, "mail/read", {"id": a["id"]}).code == -33002  # not a message
    assert error_of(c, "convoy/tree", {"id": a["id"]}).code == -33002  # not a convoy
    assert error_of(c, "feed/unsubscribe", {"subscription": 42}).code == -33001
    assert error_of(c, "agent/transcript", {"session": "../../etc/passwd"}).code == -33002
    assert error_of(c, "no/such").code == -32601


def test_no_town_then_initialize_opens_one(tmp_path):
    elsewhere = tmp_path / "nowhere"
    elsewhere.mkdir()
    town = make_town(tmp_path / "town")
    other = make_town(tmp_path / "other")
    proc_env = clean_env()
    argv = server_command("--stdio")
    proc = subprocess.Popen(argv, cwd=elsewhere, env=proc_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    c = Client(proc.stdout.fileno(), lambda b: (proc.stdin.write(b), proc.stdin.flush()), process=proc)
    info = c.initialize()
    assert info["town"] is None
    err = error_of(c, "bead/list")
    assert err.code == -33004 and err.data["kind"] == "no_town"
    c.call("initialize", {"town": str(town)})
    assert c.call("bead/list") == {"beads": []}
    assert error_of(c, "initialize", {"town": str(other)}).code == -33003
    assert error_of(c, "initialize", {"town": str(tmp_path / "missing")}).code in (-33003, -33004)
    proc.stdin.close()
    assert proc.wait(10) == 0
    assert "Traceback" not in proc.stderr.read().decode()


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--tcp", "127.0.0.1:0"], "refused without a token"),
        (["--tcp", "127.0.0.1:0", "--token", "s3cret"], "visible to every local user in ps"),
        (["--town", "/nonexistent/town"], "no town at"),
        (["--token-file", "/nonexistent/token"], "cannot read --token-file"),
    ],
)
def test_refused_starts_are_one_line(argv, needle, tmp_path):
    proc = subprocess.run(server_command(*argv), capture_output=True, text=True, env=clean_env(), cwd=tmp_path,
                          timeout=30)
    assert "s3cret" not in proc.stderr
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gastown-server: error: ") and needle in lines[0]


def test_refused_starts_are_one_line_with_a_bad_address_or_empty_token(tmp_path):
    for argv, env, needle in [
        (["--tcp", "nonsense"], {"GT_SERVER_TOKEN": "x"}, "HOST:PORT"),
        (["--tcp", "127.0.0.1:0"], {"GT_SERVER_TOKEN": " "}, "GT_SERVER_TOKEN is set but empty"),
    ]:
        proc = subprocess.run(server_command(*argv), capture_output=True, text=True, env=clean_env(**env),
                              cwd=tmp_path, timeout=30)
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], proc.stderr


@pytest.mark.parametrize("how", ["env", "file"])
def test_tcp_requires_the_token_from_every_client(town, tmp_path, how):
    if how == "env":
        argv, env = [], clean_env(GT_SERVER_TOKEN="s3cret")
    else:
        (tmp_path / "token").write_text("s3cret\n")
        argv, env = ["--token-file", str(tmp_path / "token")], clean_env()
    proc = subprocess.Popen(server_command("--tcp", "127.0.0.1:0", "--town", str(town), *argv),
                            stderr=subprocess.PIPE, text=True, env=env)
    # the token is never on the server's command line (ps shows it to every local user)
    assert "s3cret" not in open(f"/proc/{proc.pid}/cmdline", "rb").read().decode(errors="replace")
    try:
        line = proc.stderr.readline()
        port = int(line.rsplit(":", 1)[1])
        with Client.connect_tcp("127.0.0.1", port) as c:
            assert error_of(c, "bead/list").code == -32001
            assert error_of(c, "initialize", {"token": "wrong"}).code == -32001
            assert error_of(c, "bead/list").code == -32001
            c.initialize(token="s3cret")
            assert c.call("bead/list") == {"beads": []}
        with Client.connect_tcp("127.0.0.1", port) as c2:  # authentication is per connection
            assert error_of(c2, "town/status").code == -32001
    finally:
        proc.terminate()
        proc.wait(10)
        assert "Traceback" not in proc.stderr.read()


def test_socket_is_private_and_not_stolen(town):
    srv = SocketServer(town)
    try:
        assert stat.S_IMODE(os.stat(srv.path).st_mode) == 0o600
        second = subprocess.run(server_command("--socket", "--town", str(town)), capture_output=True, text=True,
                                env=clean_env(), timeout=30)
        assert second.returncode == 1 and "already listens" in second.stderr
    finally:
        assert "Traceback" not in srv.stop()
    assert not srv.path.exists()
    # a stale socket file (a crashed server's) is replaced
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(srv.path))
    stale.close()
    srv2 = SocketServer(town)
    try:
        with srv2.client() as c:
            assert c.call("bead/list") == {"beads": []}
    finally:
        srv2.stop()


def test_client_disconnecting_mid_request_leaves_server_and_ledger_whole(socket_server):
    for i in range(20):
        c = socket_server.client()
        c.request("bead/create", {"title": f"gone-{i}", "labels": ["a", "b", "c"]})
        c.request("convoy/list")
        c.close()  # without reading the answers
    time.sleep(0.3)
    assert socket_server.alive()
    with socket_server.client() as c:
        beads = c.call("bead/list", {"limit": None})["beads"]
        for b in beads:  # each create happened whole, or not at all
            assert c.call("bead/show", {"id": b["id"]})["labels"] == ["a", "b", "c"]
        assert c.call("town/status")["server"]["clients"] == 1


def test_gt_rpc_bad_input_is_one_line(town):
    env = clean_env(GT_TOWN=str(town))
    for argv, needle in (
        (["rpc", "bead/show", "{nope"], "not valid JSON"),
        (["rpc", "bead/show", "[1]"], "must be a JSON object"),
        (["rpc", "bead/show", '{"id": 1}'], "$.id"),
        (["rpc", "bead/show", '{"id": "t-zz"}'], "no bead"),
        (["rpc", "nope/nope"], "unknown method"),
    ):
        proc = subprocess.run([*GT, *argv], capture_output=True, text=True, env=env, cwd=town, timeout=60)
        assert proc.returncode == 1, (argv, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gt: error: ") and needle in lines[0], proc.stderr
    ok = subprocess.run([*GT, "rpc", "bead/list", '{"limit": 1}'], capture_output=True, text=True, env=env, cwd=town)
    assert ok.returncode == 0 and '"beads"' in ok.stdout
