"""Every error leaves the API as an RFC 9457 problem+json body; this is the one mapping."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.routing import Match

from domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidValue,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from entrypoints.request_ids import current_request_id
from service.errors import OutcomeUnknown, StoreFull, StoreUnavailable

logger = logging.getLogger(__name__)

STATUS_OF_DOMAIN_ERROR: dict[type[DomainError], HTTPStatus] = {
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    InvalidValue: HTTPStatus.UNPROCESSABLE_ENTITY,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    Forbidden: HTTPStatus.FORBIDDEN,
    TooManyAttempts: HTTPStatus.TOO_MANY_REQUESTS,
}


class ProblemError(BaseModel):
    """One thing wrong with a request: where it is, and what."""

    location: list[str | int]  # e.g. ["body", "key"] or ["query", "limit"]
    message: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, for people (`detail`) and programs (`status`)."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    request_id: str | None = None
    field: str | None = None  # the field an InvalidValue names
    errors: list[ProblemError] | None = None  # each of a request's validation errors
    outcome: str | None = None  # "unknown" when a commit's answer was lost


# Every error response names the one Problem component, so a client has one class to catch.
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting `statuses` as problem+json bodies."""
    content = {"application/problem+json": {"schema": PROBLEM_SCHEMA}}
    return {s: {"description": HTTPStatus(s).phrase, "content": content} for s in statuses}


def problem_components() -> dict[str, Any]:
    """Problem and the models it names, as OpenAPI component schemas."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"Problem": schema, **schema.pop("$defs", {})}


# What any operation may answer: a path that is not UTF-8, a body too slow, too large or
# invalid, a server failure, the database unavailable or out of disk space.
EVERY_OPERATION = problem_responses(400, 408, 413, 422, 500, 503, 507)
# What an operation that needs a signed-in principal may answer besides.
PROTECTED_OPERATION = problem_responses(401, 403)
FULL_DISK_RETRY_AFTER_SECONDS = 30


def problem(status: HTTPStatus, detail: str, **extensions: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": status.phrase, "status": status.value, "detail": detail}
    if request_id := current_request_id.get():
        body["request_id"] = request_id
    return JSONResponse(
        jsonable_encoder({**body, **extensions}),
        status_code=status.value,
        media_type="application/problem+json",
    )


def _status_of(error: DomainError) -> HTTPStatus:
    for kind in type(error).__mro__:
        if kind in STATUS_OF_DOMAIN_ERROR:
            return STATUS_OF_DOMAIN_ERROR[kind]
    return HTTPStatus.BAD_REQUEST


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    extensions = {"field": error.field} if isinstance(error, InvalidValue) else {}
    response = problem(_status_of(error), error.detail, **extensions)
    if isinstance(error, Unauthenticated):
        # RFC 6750: a request that presented a token is told it was the token.
        presented = request.headers.get("authorization", "").lower().startswith("bearer ")
        response.headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token"' if presented else "Bearer"
        )
    if isinstance(error, TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"location": list(e["loc"]), "message": e["msg"], "type": e["type"]} for e in error.errors()
    ]
    details = "; ".join(f"{'.'.join(map(str, e['location']))}: {e['message']}" for e in errors)
    return problem(HTTPStatus.UNPROCESSABLE_ENTITY, details, errors=errors)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    response = problem(HTTPStatus(error.status_code), str(error.detail))
    response.headers.update(error.headers or {})
    if error.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        # Starlette names only the first route that matched the path; list every one's.
        response.headers["Allow"] = ", ".join(sorted(_allowed_methods(request)))
    return response


async def _store_unavailable(request: Request, error: Exception) -> JSONResponse:
    # The driver's words name nodes and addresses: they go to the log, not to the client.
    logger.warning("store unavailable for %s %s: %s", request.method, request.url.path, error)
    response = problem(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "the database could not take the request now; nothing was changed, try again shortly",
    )
    response.headers["Retry-After"] = "1"
    return response


async def _store_full(request: Request, error: Exception) -> JSONResponse:
    logger.warning(
        "no space to write on the database's disk, %s %s refused: %s",
        request.method,
        request.url.path,
        error,
    )
    response = problem(
        HTTPStatus.INSUFFICIENT_STORAGE,
        "the database has no disk space left to store the change; nothing was changed, "
        "try again once an operator has freed space",
    )
    response.headers["Retry-After"] = str(FULL_DISK_RETRY_AFTER_SECONDS)
    return response


async def _outcome_unknown(request: Request, error: Exception) -> JSONResponse:
    logger.warning("outcome unknown for %s %s: %s", request.method, request.url.path, error)
    detail = (
        "the outcome is unknown: the change was sent to the database but its answer was lost, "
        "so it may or may not have been applied; read the resource before retrying"
    )
    return problem(HTTPStatus.SERVICE_UNAVAILABLE, detail, outcome="unknown")


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(HTTPStatus.INTERNAL_SERVER_ERROR, "the server failed; nothing was reported")


def _allowed_methods(request: Request) -> set[str]:
    """The methods some route takes at this path, asked of each route as the router would."""
    return {
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.routes
        )
    }


def document_problems(app: FastAPI) -> None:
    """Add the Problem component to the app's OpenAPI document, which its responses name."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = FastAPI.openapi(app)
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.update(problem_components())
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(StoreFull, _store_full)
    app.add_exception_handler(OutcomeUnknown, _outcome_unknown)
    app.add_exception_handler(Exception, _unexpected)
