"""Requests refused before routing, with a problem body, for what no route should ever see."""

import asyncio
import unicodedata
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.problems import problem


class RefuseUndecodablePaths:
    """A path whose percent-escapes are not UTF-8 is a 400, not a key with U+FFFD in it; so is
    one with a control character in it: Starlette's routes end in `$`, which matches before a
    final newline, so `/things/ab%0A` would otherwise address the thing `ab`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (detail := _refused_path(scope)):
            await problem(HTTPStatus.BAD_REQUEST, detail)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _refused_path(scope: Scope) -> str | None:
    try:
        path = unquote_to_bytes(scope.get("raw_path") or b"").decode("utf-8")
    except UnicodeDecodeError:
        return "the path is not UTF-8 once its %-escapes are decoded"
    if any(unicodedata.category(character) == "Cc" for character in path):
        return "the path contains a control character once its %-escapes are decoded"
    return None


class _Refused(BaseException):
    """Raised out of `receive`: a BaseException, so that FastAPI's body parsing does not turn
    it into its own 400 on the way to LimitRequestBodies."""

    def __init__(self, status: HTTPStatus, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class LimitRequestBodies:
    """A body larger than `max_bytes` is a 413 before it is read (by its Content-Length) or as
    soon as it grows past the limit; a body that stops arriving for `idle_seconds` is a 408.
    Either way the connection is closed rather than left to the client."""

    def __init__(self, app: ASGIApp, max_bytes: int, idle_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.idle_seconds = idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, self._too_large())
            return
        started = body_done = False
        received = 0

        async def receive_within_limits() -> Message:
            nonlocal body_done, received
            if body_done:  # e.g. waiting for a disconnect: no deadline
                return await receive()
            try:
                async with asyncio.timeout(self.idle_seconds):
                    message = await receive()
            except TimeoutError:
                detail = f"the request body stopped arriving for {self.idle_seconds:g} s"
                raise _Refused(HTTPStatus.REQUEST_TIMEOUT, detail) from None
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise self._too_large()
            body_done = message["type"] != "http.request" or not message.get("more_body")
            return message

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_within_limits, send_noting_start)
        except _Refused as refusal:
            if started:
                raise
            await self._refuse(scope, receive, send, refusal)

    def _too_large(self) -> _Refused:
        detail = f"the request body is larger than {self.max_bytes} bytes"
        return _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, detail)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, refusal: _Refused) -> None:
        response = problem(refusal.status, refusal.detail)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
