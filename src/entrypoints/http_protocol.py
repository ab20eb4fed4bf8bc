"""uvicorn's HTTP protocol with what uvicorn lacks: a deadline for request headers, and a
lingering close for a request refused before it was read whole.

Without the deadline, a connection that sends nothing, or its headers a byte at a time, stays
open for as long as the client likes: enough of them exhaust the server's file descriptors.

Without the lingering close, a refusal sent while the client is still sending (a 413 for a
large body, a 408, uvicorn's 400 for a malformed request) is often never read: closing a socket
with unread input makes the kernel send a reset, and the client's kernel drops the answer it
had not read yet. So such a connection sends its answer, shuts down its sending side, and
reads and discards what the client still sends, until the client closes or a bound is reached.
"""

import asyncio
from http import HTTPStatus
from typing import Any, cast

from starlette.responses import Response
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from entrypoints.problems import problem

# How long, and how much, a refused client may still send before the connection is closed all
# the same. A client that reads its answer stops within a round trip of it; one still sending
# after 5 s (nginx lingers up to 30) or 64 MB (64 bodies at the default limit) is not reading,
# and each lingering connection costs no more than that.
LINGER_SECONDS = 5.0
LINGER_BYTES = 64 * 2**20


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """Closes a connection whose request headers are not complete `header_timeout` seconds
    after it opened, or after its request's first byte, with a 408 when some had arrived; a
    connection closed before its request was read whole lingers (see the module's docstring)."""

    header_timeout = 10.0
    _deadline: asyncio.TimerHandle | None = None
    _request_begun = False  # headers are arriving
    _request_unread = False  # a request has begun and is not yet read whole
    _socket: asyncio.Transport
    _lingering: asyncio.TimerHandle | None = None
    _discarded = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._socket = transport
        super().connection_made(cast(asyncio.Transport, _LingeringTransport(transport, self)))
        self._start_deadline()

    def data_received(self, data: bytes) -> None:
        if self._lingering is None:
            super().data_received(data)
            return
        self._discarded += len(data)
        if self._discarded > LINGER_BYTES:
            self._socket.close()

    def eof_received(self) -> None:
        if self._lingering is not None:
            self._socket.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = self._request_unread = True
        self._start_deadline()  # each request on a kept-alive connection gets its own

    def on_headers_complete(self) -> None:
        self._cancel_deadline()
        self._request_begun = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._request_unread = False
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        self._request_unread = True  # the parser stopped where the request went wrong
        super().send_400_response(msg)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        if self._lingering is not None:
            self._lingering.cancel()
        super().connection_lost(exc)

    def close_or_linger(self) -> None:
        """Close the connection, lingering first if the client may still be sending."""
        if not self._request_unread or self._lingering is not None:
            self._socket.close()
            return
        if self._socket.is_closing() or not self._socket.can_write_eof():
            self._socket.close()
            return
        self._cancel_deadline()
        self._lingering = self.loop.call_later(LINGER_SECONDS, self._socket.close)
        self._socket.write_eof()  # after what is buffered: the answer
        self._socket.resume_reading()
        self._abandon_request()

    def _abandon_request(self) -> None:
        """Tell the app its request is gone, as uvicorn does once a connection is lost: an app
        still reading the body of a request refused by a 400 would wait for it in vain."""
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()

    @property
    def lingering(self) -> bool:
        return self._lingering is not None

    def _start_deadline(self) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._request_begun:
            detail = f"the request's headers did not arrive within {self.header_timeout:g} s"
            self.transport.write(_raw(problem(HTTPStatus.REQUEST_TIMEOUT, detail)))
        self.transport.close()


class _LingeringTransport:
    """The socket's transport as uvicorn sees it: closing it lingers where it should, and a
    lingering connection counts as closing, so that nothing more is written to it.

    A response's head goes out with its first body write, in one send: uvicorn writes them
    apart, and on loopback each send cost about as much as FastAPI's routing (py-spy: half the
    samples of a GET were in send). The body is never held back: what the app does after its
    answer (logging, metrics, closing dependencies) must not delay it (holding every write to
    the loop's next turn cost a quarter of the memory GET's rate)."""

    def __init__(self, transport: asyncio.Transport, protocol: HeaderDeadlineProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._head = b""  # a response's head, until its body is written
        self._head_of: object = None  # the request cycle whose head was held last

    def close(self) -> None:
        self._flush()
        self._protocol.close_or_linger()

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def write(self, data: bytes) -> None:
        # A request pipelined before the refused one may still be answered, after the refusal
        # and its connection: close; asyncio raises on a write after write_eof().
        if self._protocol.lingering:
            return
        cycle = self._protocol.cycle
        if cycle is not None and cycle is not self._head_of and _head_not_body(cycle):
            self._head, self._head_of = data, cycle
            self._protocol.loop.call_soon(self._flush)  # a body that comes later (streamed)
            return
        head, self._head = self._head, b""
        self._transport.write(head + data if head else data)

    def _flush(self) -> None:
        head, self._head = self._head, b""
        if head and not self._protocol.lingering and not self._transport.is_closing():
            self._transport.write(head)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _head_not_body(cycle: Any) -> bool:
    """Whether uvicorn's write for `cycle` now is its response's head: it writes the head
    when the response starts, and the first body write comes before it completes."""
    return bool(cycle.response_started) and not cycle.response_complete


def _raw(response: Response) -> bytes:
    """`response` as HTTP/1.1 bytes, closing the connection."""
    status = HTTPStatus(response.status_code)
    head = [f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode()]
    head += [name + b": " + value + b"\r\n" for name, value in response.raw_headers]
    return b"".join([*head, b"connection: close\r\n\r\n", response.body])


def with_header_timeout(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class for uvicorn's `http=`, with this deadline."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": seconds})
