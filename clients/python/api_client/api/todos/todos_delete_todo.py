from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    key: str,
    *,
    owner: None | str | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    params: dict[str, Any] = {}

    json_owner: None | str | Unset
    if isinstance(owner, Unset):
        json_owner = UNSET
    else:
        json_owner = owner
    params["owner"] = json_owner

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/todos/{key}".format(
            key=quote(str(key), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Problem | None:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    key: str,
    *,
    client: AuthenticatedClient,
    owner: None | str | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | Problem]:
    """Delete Todo

     Delete your todo of this key; an admin may not delete anyone else's.

    Args:
        key (str):
        owner (None | str | Unset): Whose todo: yours if not given. Only an admin may read someone
            else's.
        idempotency_key (str | Unset): Makes the request safe to send again: the same key with the
            same request returns the first answer (with `Idempotent-Replayed: true`) and changes
            nothing; with another request it is a 422, and while the first is still being processed a
            409. Keys are yours alone, and kept a day unless the service says otherwise. One header, 1
            to 128 visible ASCII characters.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        key=key,
        owner=owner,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    key: str,
    *,
    client: AuthenticatedClient,
    owner: None | str | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Any | Problem | None:
    """Delete Todo

     Delete your todo of this key; an admin may not delete anyone else's.

    Args:
        key (str):
        owner (None | str | Unset): Whose todo: yours if not given. Only an admin may read someone
            else's.
        idempotency_key (str | Unset): Makes the request safe to send again: the same key with the
            same request returns the first answer (with `Idempotent-Replayed: true`) and changes
            nothing; with another request it is a 422, and while the first is still being processed a
            409. Keys are yours alone, and kept a day unless the service says otherwise. One header, 1
            to 128 visible ASCII characters.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return sync_detailed(
        key=key,
        client=client,
        owner=owner,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    key: str,
    *,
    client: AuthenticatedClient,
    owner: None | str | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | Problem]:
    """Delete Todo

     Delete your todo of this key; an admin may not delete anyone else's.

    Args:
        key (str):
        owner (None | str | Unset): Whose todo: yours if not given. Only an admin may read someone
            else's.
        idempotency_key (str | Unset): Makes the request safe to send again: the same key with the
            same request returns the first answer (with `Idempotent-Replayed: true`) and changes
            nothing; with another request it is a 422, and while the first is still being processed a
            409. Keys are yours alone, and kept a day unless the service says otherwise. One header, 1
            to 128 visible ASCII characters.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        key=key,
        owner=owner,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    key: str,
    *,
    client: AuthenticatedClient,
    owner: None | str | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Any | Problem | None:
    """Delete Todo

     Delete your todo of this key; an admin may not delete anyone else's.

    Args:
        key (str):
        owner (None | str | Unset): Whose todo: yours if not given. Only an admin may read someone
            else's.
        idempotency_key (str | Unset): Makes the request safe to send again: the same key with the
            same request returns the first answer (with `Idempotent-Replayed: true`) and changes
            nothing; with another request it is a 422, and while the first is still being processed a
            409. Keys are yours alone, and kept a day unless the service says otherwise. One header, 1
            to 128 visible ASCII characters.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return (
        await asyncio_detailed(
            key=key,
            client=client,
            owner=owner,
            idempotency_key=idempotency_key,
        )
    ).parsed
