"""How a response leaves the server: its head with its body in one send, and nothing held
back once the body is written (what the app does after answering must not delay the answer)."""

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from entrypoints.http_protocol import HeaderDeadlineProtocol, _LingeringTransport

ANSWERING = SimpleNamespace(response_started=True, response_complete=False)  # uvicorn's cycle


class RecordedSocket:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def is_closing(self) -> bool:
        return False


def transport_for(socket: RecordedSocket, cycle: Any) -> _LingeringTransport:
    protocol = SimpleNamespace(lingering=False, cycle=cycle, loop=asyncio.get_running_loop())
    return _LingeringTransport(cast(Any, socket), cast(HeaderDeadlineProtocol, protocol))


async def test_a_head_and_its_body_go_out_in_one_send_as_soon_as_the_body_is_written() -> None:
    socket = RecordedSocket()
    transport = transport_for(socket, ANSWERING)

    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"body")

    assert socket.sent == [b"HTTP/1.1 200 OK\r\n\r\nbody"]  # before the loop turns again


async def test_a_head_whose_body_comes_later_goes_out_on_the_next_turn_of_the_loop() -> None:
    socket = RecordedSocket()
    transport = transport_for(socket, ANSWERING)

    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    await asyncio.sleep(0)
    transport.write(b"first chunk")

    assert socket.sent == [b"HTTP/1.1 200 OK\r\n\r\n", b"first chunk"]


async def test_what_is_written_outside_a_response_is_sent_at_once() -> None:
    socket = RecordedSocket()
    transport = transport_for(socket, None)  # e.g. uvicorn's 400 for a malformed request

    transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    assert socket.sent == [b"HTTP/1.1 400 Bad Request\r\n\r\n"]
