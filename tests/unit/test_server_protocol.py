"""The API's HTTP protocol turns Nagle's algorithm off on every accepted TCP connection, which
uvicorn leaves on when it binds the socket itself (more than one worker)."""

from __future__ import annotations

import socket
from typing import Any

from walletbridge.entrypoints.api.server import set_nodelay


class FakeTransport:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.sock if name == "socket" else default


def test_an_accepted_connection_gets_tcp_nodelay() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with socket.create_connection(listener.getsockname()) as _client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
                set_nodelay(FakeTransport(accepted))  # type: ignore[arg-type]
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_unix_socket_is_left_alone() -> None:
    left, right = socket.socketpair()
    with left, right:
        set_nodelay(FakeTransport(left))  # type: ignore[arg-type]
