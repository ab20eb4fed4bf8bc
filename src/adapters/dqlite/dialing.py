"""How the app reaches a node: the wire client's `dial_func`, the plain-TCP one it uses
unless TLS is on (tls.py makes that one), and a count of the round trips made through one."""

import asyncio
import socket
from collections.abc import Awaitable, Callable

type Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
type DialFunc = Callable[[str], Awaitable[Streams]]

STREAM_LIMIT = 2**16  # asyncio's default buffer limit for a StreamReader


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


async def plain_dial(address: str) -> Streams:
    """A TCP connection to the node at `address` that acknowledges each answer at once.

    libdqlite 1.11 sends an answer of more than about 4 KB (a page of 200 short rows) in parts,
    on a socket with Nagle's algorithm on: each part after the first waits until the one
    before is acknowledged, and Linux delays that acknowledgement up to 40 ms while it waits
    for more to send. Measured on one connection: 200 rows took 43 ms, 0.8 ms with quick ACKs.
    """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STREAM_LIMIT, loop=loop)
    protocol = _QuickAcks(reader)
    host, port = split_address(address)
    transport, _ = await loop.create_connection(lambda: protocol, host, port)
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


class _QuickAcks(asyncio.StreamReaderProtocol):
    """Turns TCP_QUICKACK back on as each part arrives: Linux clears it by itself."""

    _socket: socket.socket | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._socket = transport.get_extra_info("socket")
        self._quick_ack()
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._quick_ack()
        super().data_received(data)

    def _quick_ack(self) -> None:
        if self._socket is not None and hasattr(socket, "TCP_QUICKACK"):  # Linux only
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


class RoundTrips:
    """How many requests the connections dialled through `counting` sent to a node.

    The wire client writes each request whole, in one call, and reads its one answer before
    the next (no pipelining): writes are round trips. A new connection's handshake counts too.
    """

    def __init__(self) -> None:
        self.count = 0

    def counting(self, dial: DialFunc) -> DialFunc:
        async def dial_counted(address: str) -> Streams:
            reader, writer = await dial(address)
            write = writer.write

            def counted_write(data: bytes | bytearray | memoryview) -> None:
                self.count += 1
                write(data)

            writer.write = counted_write  # type: ignore[method-assign]
            return reader, writer

        return dial_counted
