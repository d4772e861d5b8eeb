"""The HTTP protocol uvicorn serves the API with: httptools, with Nagle's algorithm off.

With more than one worker, uvicorn binds the listening socket itself with protocol number 0, and
asyncio then leaves TCP_NODELAY unset on the accepted connections. Each response then waits for
the client's delayed ACK (about 40 ms on Linux) before its last segment leaves. Setting the option
on every connection removes that wait whatever the worker count.
"""

from __future__ import annotations

import socket
from asyncio import BaseTransport, Transport
from typing import cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HTTP_PROTOCOL = "walletbridge.entrypoints.api.server:NoDelayHttpToolsProtocol"


def set_nodelay(transport: BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: BaseTransport) -> None:
        set_nodelay(transport)
        # uvloop's transports do not derive from asyncio.Transport but behave as one.
        super().connection_made(cast(Transport, transport))
