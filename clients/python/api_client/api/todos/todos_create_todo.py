from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.todo_in import TodoIn
from ...models.todo_out import TodoOut
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: TodoIn,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/todos",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TodoOut | None:
    if response.status_code == 201:
        response_201 = TodoOut.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 408:
        response_408 = Problem.from_dict(response.json())

        return response_408

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 500:
        response_500 = Problem.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if response.status_code == 507:
        response_507 = Problem.from_dict(response.json())

        return response_507

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | TodoOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: TodoIn,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | TodoOut]:
    """Create Todo

     Create a todo of yours; 409 if you already have one of that key.

    Args:
        idempotency_key (str | Unset): Makes the request safe to send again: the same key with the
            same request returns the first answer (with `Idempotent-Replayed: true`) and changes
            nothing; with another request it is a 422, and while the first is still being processed a
            409. Keys are yours alone, and kept a day unless the service says otherwise. One header, 1
            to 128 visible ASCII characters.
        body (TodoIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TodoOut]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: TodoIn,
    idempotency_key: str | Unset = UNSET,
) -> Problem | TodoOut | None:
    """Create Todo

     Create a todo of yours; 409 if you already have one of that key.

    Args:
        idempotency_key (str | Unset): Makes the request safe to send again: the same key with the
            same request returns the first answer (with `Idempotent-Replayed: true`) and changes
            nothing; with another request it is a 422, and while the first is still being processed a
            409. Keys are yours alone, and kept a day unless the service says otherwise. One header, 1
            to 128 visible ASCII characters.
        body (TodoIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TodoOut
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: TodoIn,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | TodoOut]:
    """Create Todo

     Create a todo of yours; 409 if you already have one of that key.

    Args:
        idempotency_key (str | Unset): Makes the request safe to send again: the same key with the
            same request returns the first answer (with `Idempotent-Replayed: true`) and changes
            nothing; with another request it is a 422, and while the first is still being processed a
            409. Keys are yours alone, and kept a day unless the service says otherwise. One header, 1
            to 128 visible ASCII characters.
        body (TodoIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TodoOut]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: TodoIn,
    idempotency_key: str | Unset = UNSET,
) -> Problem | TodoOut | None:
    """Create Todo

     Create a todo of yours; 409 if you already have one of that key.

    Args:
        idempotency_key (str | Unset): Makes the request safe to send again: the same key with the
            same request returns the first answer (with `Idempotent-Replayed: true`) and changes
            nothing; with another request it is a 422, and while the first is still being processed a
            409. Keys are yours alone, and kept a day unless the service says otherwise. One header, 1
            to 128 visible ASCII characters.
        body (TodoIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TodoOut
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
