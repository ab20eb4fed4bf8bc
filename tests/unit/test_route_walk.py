"""Every route of the OpenAPI document, walked: none is open unless listed here, and none shows
or changes one person's resources to another. Routes added later are walked the same way, with
bodies made from their own schemas; nothing here names a resource."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI

from entrypoints.app import create_app
from entrypoints.container import Container
from tests.signing_in import PASSWORD, signed_up
from tests.unit.conftest import memory_settings

# The operations anyone may call: probes, documentation, signing in, and the keys.
OPEN = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),  # open unless APP_METRICS_ROLE is set
    ("POST", "/auth/register"),
    ("POST", "/auth/token"),
    ("POST", "/auth/logout"),
    ("GET", "/.well-known/jwks.json"),
}
# Operations' marks: a 2xx to someone other than the owner is meant (posts, shared aggregates).
READABLE_BY_ANYONE_SIGNED_IN = "x-readable-by"
CHANGEABLE_BY_ANYONE_SIGNED_IN = "x-changeable-by"
OWNER_MARK = "walk-alice"  # in every string alice's bodies carry, to find leaks in lists


@dataclass
class Walk:
    """What alice made: the path parameters that name her resources."""

    bindings: dict[str, str] = field(default_factory=dict)
    made: list[str] = field(default_factory=list)  # the Location of each


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"{([^}:]+)(?::[^}]*)?}", self.path)

    def url(self, bindings: dict[str, str]) -> str:
        return re.sub(r"{([^}:]+)(?::[^}]*)?}", lambda m: bindings[m.group(1)], self.path)


@pytest.fixture
def app() -> FastAPI:
    """The app as it is served: the project's routes only."""
    container = Container()
    container.settings.override(providers.Object(memory_settings()))
    return create_app(container)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def operations(document: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path, spec)
        for path, methods in document["paths"].items()
        for method, spec in methods.items()
    ]


def example(schema: dict[str, Any], document: dict[str, Any], name: str = "") -> Any:
    """A small valid value of `schema`, its strings marked as alice's."""
    if "$ref" in schema:
        return example(_resolve(schema["$ref"], document), document, name)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            choices = [s for s in schema[key] if s.get("type") != "null"]
            return example(choices[0], document, name)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "string")
    if kind == "object":
        properties = schema.get("properties", {})
        return {key: example(properties[key], document, key) for key in schema.get("required", [])}
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if schema.get("format") == "date":
        return "2026-03-31"
    if schema.get("format") == "date-time":
        return "2026-03-31T12:00:00+02:00"
    if schema.get("format") == "password" or name == "password":
        return PASSWORD
    if schema.get("format") == "email" or "email" in name:
        return f"{OWNER_MARK}@example.org"
    text = f"{OWNER_MARK}-{name or 'text'}"
    return text[: schema.get("maxLength", len(text))]


def _resolve(reference: str, document: dict[str, Any]) -> dict[str, Any]:
    found: Any = document
    for part in reference.removeprefix("#/").split("/"):
        found = found[part]
    return dict(found)


async def call(
    client: httpx.AsyncClient,
    operation: Operation,
    document: dict[str, Any],
    bindings: dict[str, str],
    headers: dict[str, str],
) -> httpx.Response:
    """The operation, with its path named by `bindings` and a valid body and headers."""
    headers = dict(headers)
    for parameter in operation.spec.get("parameters", []):
        if parameter["in"] == "header" and parameter.get("required"):
            headers[parameter["name"]] = "walk-key-1"
    content = operation.spec.get("requestBody", {}).get("content", {})
    arguments: dict[str, Any] = {}
    if "application/json" in content:
        arguments["json"] = example(content["application/json"]["schema"], document)
    elif "application/x-www-form-urlencoded" in content:
        schema = content["application/x-www-form-urlencoded"]["schema"]
        arguments["data"] = example(schema, document)
    url = operation.url(bindings)
    return await client.request(operation.method, url, headers=headers, **arguments)


def bind(location: str, document: dict[str, Any], walk: Walk) -> None:
    """Learn the path parameters a created resource's Location gives values to."""
    path = unquote(location.partition("?")[0])
    for template in document["paths"]:
        pattern = re.sub(r"{([^}:]+)(?::[^}]*)?}", r"(?P<\1>[^/]+)", template)
        if match := re.fullmatch(pattern, path):
            for name, value in match.groupdict().items():
                walk.bindings.setdefault(name, value)


async def make_alices_resources(
    client: httpx.AsyncClient, document: dict[str, Any], alice: dict[str, str]
) -> Walk:
    """Alice calls every creating operation she can, until no new path parameter is named."""
    walk = Walk()
    creators = [
        op
        for op in operations(document)
        if op.method == "POST" and (op.method, op.path) not in OPEN
    ]
    while True:
        ready = [
            op
            for op in creators
            if all(p in walk.bindings for p in op.path_parameters)
            and op.url(walk.bindings) not in walk.made
        ]
        learned = False
        for op in ready:
            response = await call(client, op, document, walk.bindings, alice)
            walk.made.append(op.url(walk.bindings))
            if response.status_code == HTTPStatus.CREATED and "location" in response.headers:
                before = len(walk.bindings)
                bind(response.headers["location"], document, walk)
                learned |= len(walk.bindings) > before
        if not learned:
            return walk


async def test_every_route_not_listed_as_open_answers_401_without_a_token(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    document = app.openapi()
    bindings = {name: "1" for op in operations(document) for name in op.path_parameters}
    walked = operations(document)
    assert len(walked) > len(OPEN), "the document lists no protected operation"

    for op in walked:
        response = await call(http, op, document, bindings, {})
        if (op.method, op.path) in OPEN:
            assert response.status_code != HTTPStatus.UNAUTHORIZED, (op, response.text)
        else:
            assert response.status_code == HTTPStatus.UNAUTHORIZED, (op, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert op.spec.get("security"), f"{op.method} {op.path} needs a token but says not"
    missing = OPEN - {(op.method, op.path) for op in walked}
    assert not missing, f"open operations no longer in the document: {missing}"


async def test_no_route_shows_or_changes_one_persons_resource_to_another(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    document = app.openapi()
    alice = await signed_up(http, f"{OWNER_MARK}@example.org")
    bob = await signed_up(http, "bob@example.org")
    walk = await make_alices_resources(http, document, alice)
    protected = [op for op in operations(document) if (op.method, op.path) not in OPEN]
    naming = [
        op
        for op in protected
        if op.path_parameters and CHANGEABLE_BY_ANYONE_SIGNED_IN not in op.spec
    ]
    assert all(p in walk.bindings for op in naming for p in op.path_parameters), (
        f"alice made nothing that names {[op.path for op in naming]}: {walk}"
    )

    # Bob first, then alice, whose answer shows the resource was there; deletions last.
    for op in sorted(naming, key=lambda op: op.method == "DELETE"):
        others = await call(http, op, document, walk.bindings, bob)
        own = await call(http, op, document, walk.bindings, alice)
        assert own.status_code < 400 or own.status_code == HTTPStatus.CONFLICT, (op, own.text)
        if op.method == "GET" and READABLE_BY_ANYONE_SIGNED_IN in op.spec:
            assert others.status_code == HTTPStatus.OK, (op, others.text)
        else:
            assert others.status_code in (HTTPStatus.NOT_FOUND, HTTPStatus.FORBIDDEN), (
                op,
                others.text,
            )
    for op in protected:
        if op.method == "GET" and not op.path_parameters:
            listed = await call(http, op, document, walk.bindings, bob)
            if READABLE_BY_ANYONE_SIGNED_IN not in op.spec:
                assert OWNER_MARK not in listed.text, (op, listed.text)
