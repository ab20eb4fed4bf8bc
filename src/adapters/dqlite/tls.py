"""Mutual TLS between dqlite nodes, and from the app to them.

libdqlite 1.11 speaks plain TCP only. As go-dqlite's `app` package does, the node listens on a
private abstract unix socket instead of its address, and a relay puts TLS in front of it there;
the node dials its peers through a connect function that hands it one end of a socket pair,
the other end relayed to the peer over TLS. Every certificate must be signed by the cluster's
CA, both ways: a process without one can neither read, write, nor join.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import ssl
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

from adapters.dqlite.dialing import DialFunc, Streams, split_address
from adapters.dqlite.keepalive import keep_alive

logger = logging.getLogger(__name__)

CONNECT_SECONDS = 5.0
CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class TlsFiles:
    """This process's certificate and key, and the cluster's CA, as PEM files."""

    cert: Path
    key: Path
    ca: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=self.ca)
        context.load_cert_chain(self.cert, self.key)
        context.verify_mode = ssl.CERT_REQUIRED  # clients show a certificate of the CA too
        return context

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca)
        context.load_cert_chain(self.cert, self.key)
        return context


def tls_dialer(files: TlsFiles) -> DialFunc:
    """The dqlite client's `dial_func`: each connection to a node over mutual TLS."""
    context = files.client_context()

    async def dial(address: str) -> Streams:
        host, port = split_address(address)
        return await asyncio.open_connection(host, port, ssl=context, server_hostname=host)

    return dial


class TlsRelay:
    """Relays between TLS connections and the node's plain sockets, on a thread and an event
    loop of its own, so that the node's raft traffic never waits on the API's requests."""

    def __init__(self, files: TlsFiles, node_id: int) -> None:
        self._server_context = files.server_context()
        self._dial = tls_dialer(files)
        # Abstract: no file to clean up, and a name no other process is likely to pick.
        self.private_address = f"@dqlite-{node_id}-{os.getpid()}-{secrets.token_hex(4)}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="dqlite-tls")
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._thread.start()

    def serve(self, public_address: str) -> None:
        """Accept TLS on `public_address` and relay each connection to the node."""
        host, port = split_address(public_address)
        self._server = server = self._run(
            asyncio.start_server(self._accepted, host, port, ssl=self._server_context)
        )
        for listener in server.sockets:  # the connections it accepts inherit keepalive
            keep_alive(listener)

    def connect(self, address: str) -> int:
        """A socket for the node, relayed over TLS to the peer at `address` (called on
        libdqlite's threads; blocks until the TLS handshake is done)."""
        ours, node_end = socket.socketpair()
        try:
            self._run(self._relay_to_peer(ours, address))
        except BaseException:
            ours.close()
            node_end.close()
            raise
        return node_end.detach()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _run[T](self, work: Awaitable[T]) -> T:
        future = asyncio.run_coroutine_threadsafe(_awaited(work), self._loop)
        return future.result(CONNECT_SECONDS)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            node = await asyncio.open_unix_connection("\0" + self.private_address[1:])
        except OSError:
            writer.close()
            return
        self._splice((reader, writer), node)

    async def _relay_to_peer(self, ours: socket.socket, address: str) -> None:
        peer = await asyncio.wait_for(self._dial(address), CONNECT_SECONDS)
        self._splice(await asyncio.open_connection(sock=ours), peer)

    def _splice(self, one: Streams, other: Streams) -> None:
        for source, sink in ((one[0], other[1]), (other[0], one[1])):
            task = asyncio.ensure_future(_copy(source, sink))
            self._relays.add(task)
            task.add_done_callback(self._relays.discard)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._relays):
            task.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)


async def _awaited[T](work: Awaitable[T]) -> T:
    return await work


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(CHUNK_BYTES):
            sink.write(data)
            await sink.drain()
    except (OSError, ssl.SSLError):
        pass  # either side went away: close the other
    finally:
        sink.close()
