"""Requests refused before routing, with a problem body, for what no route should ever see."""

from http import HTTPStatus
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from entrypoints.problems import problem


class RefuseUndecodablePaths:
    """A path whose percent-escapes are not UTF-8 is a 400, not a key with U+FFFD in it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                unquote_to_bytes(scope.get("raw_path") or b"").decode("utf-8")
            except UnicodeDecodeError:
                detail = "the path is not UTF-8 once its %-escapes are decoded"
                await problem(HTTPStatus.BAD_REQUEST, detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)
