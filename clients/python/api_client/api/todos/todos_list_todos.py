from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.todo_page import TodoPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    owner: None | str | Unset = UNSET,
    key_contains: None | str | Unset = UNSET,
    value_contains: None | str | Unset = UNSET,
    done: bool | None | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["offset"] = offset

    json_after: None | str | Unset
    if isinstance(after, Unset):
        json_after = UNSET
    else:
        json_after = after
    params["after"] = json_after

    params["total"] = total

    json_owner: None | str | Unset
    if isinstance(owner, Unset):
        json_owner = UNSET
    else:
        json_owner = owner
    params["owner"] = json_owner

    json_key_contains: None | str | Unset
    if isinstance(key_contains, Unset):
        json_key_contains = UNSET
    else:
        json_key_contains = key_contains
    params["key_contains"] = json_key_contains

    json_value_contains: None | str | Unset
    if isinstance(value_contains, Unset):
        json_value_contains = UNSET
    else:
        json_value_contains = value_contains
    params["value_contains"] = json_value_contains

    json_done: bool | None | Unset
    if isinstance(done, Unset):
        json_done = UNSET
    else:
        json_done = done
    params["done"] = json_done

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/todos",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TodoPage | None:
    if response.status_code == 200:
        response_200 = TodoPage.from_dict(response.json())

        return response_200

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | TodoPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    owner: None | str | Unset = UNSET,
    key_contains: None | str | Unset = UNSET,
    value_contains: None | str | Unset = UNSET,
    done: bool | None | Unset = UNSET,
) -> Response[Problem | TodoPage]:
    """List Todos

     List your todos (an admin: everyone's) ordered by owner and key, a page at a time.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        owner (None | str | Unset): Whose todos an admin lists (everyone's if not given); others
            list their own.
        key_contains (None | str | Unset):
        value_contains (None | str | Unset):
        done (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TodoPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        owner=owner,
        key_contains=key_contains,
        value_contains=value_contains,
        done=done,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    owner: None | str | Unset = UNSET,
    key_contains: None | str | Unset = UNSET,
    value_contains: None | str | Unset = UNSET,
    done: bool | None | Unset = UNSET,
) -> Problem | TodoPage | None:
    """List Todos

     List your todos (an admin: everyone's) ordered by owner and key, a page at a time.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        owner (None | str | Unset): Whose todos an admin lists (everyone's if not given); others
            list their own.
        key_contains (None | str | Unset):
        value_contains (None | str | Unset):
        done (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TodoPage
    """

    return sync_detailed(
        client=client,
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        owner=owner,
        key_contains=key_contains,
        value_contains=value_contains,
        done=done,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    owner: None | str | Unset = UNSET,
    key_contains: None | str | Unset = UNSET,
    value_contains: None | str | Unset = UNSET,
    done: bool | None | Unset = UNSET,
) -> Response[Problem | TodoPage]:
    """List Todos

     List your todos (an admin: everyone's) ordered by owner and key, a page at a time.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        owner (None | str | Unset): Whose todos an admin lists (everyone's if not given); others
            list their own.
        key_contains (None | str | Unset):
        value_contains (None | str | Unset):
        done (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TodoPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        owner=owner,
        key_contains=key_contains,
        value_contains=value_contains,
        done=done,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    owner: None | str | Unset = UNSET,
    key_contains: None | str | Unset = UNSET,
    value_contains: None | str | Unset = UNSET,
    done: bool | None | Unset = UNSET,
) -> Problem | TodoPage | None:
    """List Todos

     List your todos (an admin: everyone's) ordered by owner and key, a page at a time.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        owner (None | str | Unset): Whose todos an admin lists (everyone's if not given); others
            list their own.
        key_contains (None | str | Unset):
        value_contains (None | str | Unset):
        done (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TodoPage
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            offset=offset,
            after=after,
            total=total,
            owner=owner,
            key_contains=key_contains,
            value_contains=value_contains,
            done=done,
        )
    ).parsed
