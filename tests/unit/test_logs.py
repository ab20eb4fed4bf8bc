"""Logs: JSON lines off a terminal, readable on one, each with its request's id."""

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from dependency_injector import providers

from entrypoints.app import create_app
from entrypoints.container import Container
from entrypoints.logs import configure_logging
from entrypoints.settings import Settings
from tests.unit import probe_routes


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.mark.usefixtures("restore_logging")
async def test_off_a_terminal_each_request_is_one_json_line_with_route_status_and_id() -> None:
    stream = io.StringIO()
    configure_logging(stream)
    container = Container()
    container.settings.override(providers.Object(Settings(storage="memory", access_log=True)))
    app = create_app(container)
    app.include_router(probe_routes.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/probe/secret-name?token=hidden", headers={"X-Request-ID": "r-1"})

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    app_lines = [line for line in lines if line["logger"] != "httpx"]  # the test's client
    request = next(line for line in app_lines if line["logger"] == "entrypoints.requests")
    assert request["request_id"] == "r-1"
    assert (request["method"], request["route"], request["status"]) == ("GET", "/probe/{name}", 200)
    assert request["latency_ms"] >= 0
    assert "secret-name" not in json.dumps(app_lines)
    assert "hidden" not in json.dumps(app_lines)


@pytest.mark.usefixtures("restore_logging")
def test_on_a_terminal_a_log_line_is_readable_text_with_the_request_id_placeholder() -> None:
    stream = Terminal()
    configure_logging(stream)

    logging.getLogger("somewhere").warning("the disk is %s", "full")

    line = stream.getvalue().strip()
    assert line.endswith("WARNING somewhere [-]: the disk is full")
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
