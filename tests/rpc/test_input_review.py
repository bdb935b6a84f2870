"""Review findings on RPC input: addresses, paths and frames a user or a peer can get wrong.

Each test drives a real ``gastown-server`` process or a real ``gt`` process.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from rpc_helpers import clean_env

from gastown_server.rpc.client import server_command

GT = [sys.executable, "-m", "gastown_server.cli.gt"]


def one_error_line(proc: subprocess.CompletedProcess, prog: str) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), proc.stderr
    return lines[0]


@pytest.mark.parametrize("address", ["foo", "h:", ":80", "h:99999", "::1:80", "[]:80", "h:-1"])
def test_gt_rpc_bad_tcp_address_is_one_line(address, town):
    proc = subprocess.run([*GT, "rpc", "--tcp", address, "bead/list"], capture_output=True, text=True,
                          env=clean_env(GT_TOWN=str(town)), cwd=town, timeout=60)
    assert "HOST:PORT" in one_error_line(proc, "gt") or "brackets" in proc.stderr


@pytest.mark.parametrize("address", ["h:", "::1:80", "[]:80"])
def test_server_bad_tcp_address_is_one_line(address, tmp_path):
    proc = subprocess.run(server_command("--tcp", address), capture_output=True, text=True,
                          env=clean_env(GT_SERVER_TOKEN="x"), cwd=tmp_path, timeout=30)
    line = one_error_line(proc, "gastown-server")
    assert "HOST:PORT" in line or "brackets" in line


def test_gt_rpc_reaches_a_bracketed_ipv6_server(town):
    proc = subprocess.Popen(server_command("--tcp", "[::1]:0", "--town", str(town)),
                            stderr=subprocess.PIPE, text=True, env=clean_env(GT_SERVER_TOKEN="s3cret"))
    try:
        line = proc.stderr.readline()
        assert "listening on tcp ::1:" in line, line
        port = int(line.rsplit(":", 1)[1])
        (town / "token").write_text("s3cret")
        ok = subprocess.run([*GT, "rpc", "--tcp", f"[::1]:{port}", "--token-file", str(town / "token"), "bead/list"],
                            capture_output=True, text=True, env=clean_env(GT_TOWN=str(town)), cwd=town, timeout=60)
        assert ok.returncode == 0, ok.stderr
        assert '"beads": []' in ok.stdout
    finally:
        proc.terminate()
        proc.wait(10)
        assert "Traceback" not in proc.stderr.read()


@pytest.mark.parametrize("bad_town", ["/tmp/\x00x", "\x00"])
def test_initialize_with_a_nul_town_path_is_invalid_input(bad_town, town):
    from gastown_server.rpc.client import Client
    from gastown_server.rpc.errors import RpcError

    with Client.spawn(env=clean_env(), stderr=subprocess.PIPE) as c:
        with pytest.raises(RpcError) as err:
            c.initialize(town=bad_town)
        assert err.value.code == -33002, err.value.message
        assert "bad town path" in err.value.message and "\n" not in err.value.message
        c.initialize(town=str(town))  # the session goes on: a good town still opens
        assert c.call("bead/list") == {"beads": []}
        c.close()
        stderr = c.process.stderr.read().decode()
    assert "Traceback" not in stderr, stderr


def test_a_unix_socket_path_too_long_says_so(town, tmp_path):
    long_dir = tmp_path / ("d" * 60) / ("e" * 60)
    proc = subprocess.run(server_command("--socket", str(long_dir / "rpc.sock"), "--town", str(town)),
                          capture_output=True, text=True, env=clean_env(), timeout=30)
    line = one_error_line(proc, "gastown-server")
    assert "too long for a unix socket" in line and "--socket" in line and "None" not in line, line
    assert not long_dir.exists()  # refused before making directories for it


def test_formula_show_over_rpc_takes_names_not_paths(town, tmp_path):
    from gastown_server.rpc.client import Client
    from gastown_server.rpc.errors import RpcError

    outside = tmp_path / "outside.formula.toml"
    outside.write_text('formula = "outside"\nversion = 1\n[[steps]]\nid = "a"\ntitle = "A"\n')
    with Client.spawn(town=town, env=clean_env()) as c:
        c.initialize()
        for params in ({"name": "../../etc/passwd"}, {"name": "/etc/passwd"}, {"name": str(outside)},
                       {"name": "outside.formula.toml"}, {"name": "code-review", "rig": "../../etc"},
                       {"name": "code-review", "rig": "/etc"}):
            with pytest.raises(RpcError) as err:
                c.call("formula/show", params)
            assert err.value.code == -33002 and "not a path" in err.value.message, (params, err.value.message)
        with pytest.raises(RpcError) as err:
            c.call("formula/list", {"rig": "../.."})
        assert err.value.code == -33002 and "not a path" in err.value.message
        assert c.call("formula/show", {"name": "code-review"})["name"] == "code-review"  # names still work


def test_socket_server_helper_gives_up_on_a_silent_server(town):
    import time

    from rpc_helpers import ServerStartTimeout, SocketServer

    hang = [sys.executable, "-c", "import time; time.sleep(120)"]
    started = time.monotonic()
    with pytest.raises(ServerStartTimeout) as err:
        SocketServer(town, command=hang, start_timeout=1.0)
    assert time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left behind
        os.kill(err.value.pid, 0)


class BadPeer:
    """A unix-socket peer that answers every connection with fixed bytes: a broken server for the clients' parsers."""

    def __init__(self, path, reply: bytes) -> None:
        import socket
        import threading

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen()
        self.reply = reply
        self.conns: list = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            conn.recv(65536)  # the first request
            conn.sendall(self.reply)  # and keep the connection open: the client must not wait for more

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


BAD_FRAMES = [
    b"Content-Length: abc\r\n\r\n{}",
    b"Content-Length: -5\r\n\r\n{}",
    b"Content-Length: 1_0\r\n\r\n{}",
    b"X-Other: 1\r\n\r\n{}",
    b"Content-Length: 3\r\n\r\n{x}",
    b"Content-Length: 3\r\n\r\n[1]",
]


@pytest.mark.parametrize("reply", BAD_FRAMES)
def test_client_reports_a_bad_frame_as_a_protocol_error(reply, tmp_path):
    from gastown_server.rpc.client import Client, ProtocolError

    peer = BadPeer(tmp_path / "bad.sock", reply)
    try:
        with Client.connect_socket(tmp_path / "bad.sock") as c:
            with pytest.raises(ProtocolError, match="gastown-server sent"):
                c.call("bead/list", timeout=10)
    finally:
        peer.close()


@pytest.mark.parametrize("reply", BAD_FRAMES)
def test_async_client_reports_a_bad_frame_as_a_protocol_error(reply, tmp_path):
    import asyncio

    from gastown_server.rpc.client import AsyncClient, ProtocolError

    peer = BadPeer(tmp_path / "bad.sock", reply)

    async def run() -> None:
        c = await AsyncClient.connect_socket(tmp_path / "bad.sock")
        try:
            with pytest.raises(ProtocolError, match="gastown-server sent"):
                await c.call("bead/list", timeout=10)
            with pytest.raises(ProtocolError):  # the stream is lost: later calls fail at once
                await asyncio.wait_for(c.call("bead/list"), 2)
        finally:
            await c.close()

    try:
        asyncio.run(run())
    finally:
        peer.close()


def test_gt_rpc_reports_a_bad_frame_in_one_line(tmp_path):
    peer = BadPeer(tmp_path / "bad.sock", BAD_FRAMES[0])
    try:
        proc = subprocess.run([*GT, "rpc", "--socket", str(tmp_path / "bad.sock"), "bead/list"], capture_output=True,
                              text=True, env=clean_env(), cwd=tmp_path, timeout=60)
    finally:
        peer.close()
    assert "bad Content-Length" in one_error_line(proc, "gt")
