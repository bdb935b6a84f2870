"""``HOST:PORT`` as the server's ``--tcp`` and the clients' ``--tcp`` read it (one parser for both)."""

from __future__ import annotations

from ..errors import InvalidInput


def parse_tcp_address(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6-address]:port`` -> ``(host, port)``; :class:`InvalidInput` otherwise."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise InvalidInput(f"--tcp wants HOST:PORT (IPv6 as [ADDR]:PORT), got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not host:
            raise InvalidInput(f"--tcp wants HOST:PORT (IPv6 as [ADDR]:PORT), got {text!r}")
    elif ":" in host or "[" in host or "]" in host:
        # "::1:8000" is ambiguous: the brackets say where the address ends.
        raise InvalidInput(f"--tcp: write an IPv6 address in brackets, like [::1]:PORT, got {text!r}")
    return host, int(port)
