from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.post_page import PostPage
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    user_id: int,
    *,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    published: bool | None | Unset = UNSET,
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

    json_published: bool | None | Unset
    if isinstance(published, Unset):
        json_published = UNSET
    else:
        json_published = published
    params["published"] = json_published

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/users/{user_id}/posts".format(
            user_id=quote(str(user_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PostPage | Problem | None:
    if response.status_code == 200:
        response_200 = PostPage.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[PostPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    user_id: int,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    published: bool | None | Unset = UNSET,
) -> Response[PostPage | Problem]:
    """List Posts Of User

     Any user's posts, oldest first, for any signed-in caller.

    Args:
        user_id (int):
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        published (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PostPage | Problem]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        published=published,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    user_id: int,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    published: bool | None | Unset = UNSET,
) -> PostPage | Problem | None:
    """List Posts Of User

     Any user's posts, oldest first, for any signed-in caller.

    Args:
        user_id (int):
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        published (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PostPage | Problem
    """

    return sync_detailed(
        user_id=user_id,
        client=client,
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        published=published,
    ).parsed


async def asyncio_detailed(
    user_id: int,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    published: bool | None | Unset = UNSET,
) -> Response[PostPage | Problem]:
    """List Posts Of User

     Any user's posts, oldest first, for any signed-in caller.

    Args:
        user_id (int):
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        published (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PostPage | Problem]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        published=published,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user_id: int,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    published: bool | None | Unset = UNSET,
) -> PostPage | Problem | None:
    """List Posts Of User

     Any user's posts, oldest first, for any signed-in caller.

    Args:
        user_id (int):
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        published (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PostPage | Problem
    """

    return (
        await asyncio_detailed(
            user_id=user_id,
            client=client,
            limit=limit,
            offset=offset,
            after=after,
            total=total,
            published=published,
        )
    ).parsed
