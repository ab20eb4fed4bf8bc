from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.user_page import UserPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    active: bool | None | Unset = UNSET,
    name_contains: None | str | Unset = UNSET,
    email_contains: None | str | Unset = UNSET,
    include_posts: bool | Unset = False,
    posts_limit: int | Unset = 10,
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

    json_active: bool | None | Unset
    if isinstance(active, Unset):
        json_active = UNSET
    else:
        json_active = active
    params["active"] = json_active

    json_name_contains: None | str | Unset
    if isinstance(name_contains, Unset):
        json_name_contains = UNSET
    else:
        json_name_contains = name_contains
    params["name_contains"] = json_name_contains

    json_email_contains: None | str | Unset
    if isinstance(email_contains, Unset):
        json_email_contains = UNSET
    else:
        json_email_contains = email_contains
    params["email_contains"] = json_email_contains

    params["include_posts"] = include_posts

    params["posts_limit"] = posts_limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/users",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | UserPage | None:
    if response.status_code == 200:
        response_200 = UserPage.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | UserPage]:
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
    active: bool | None | Unset = UNSET,
    name_contains: None | str | Unset = UNSET,
    email_contains: None | str | Unset = UNSET,
    include_posts: bool | Unset = False,
    posts_limit: int | Unset = 10,
) -> Response[Problem | UserPage]:
    """List Users

     The caller's users (an admin's: everyone's) ordered by id, a page at a time; with
    their posts if asked.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        active (bool | None | Unset):
        name_contains (None | str | Unset):
        email_contains (None | str | Unset):
        include_posts (bool | Unset):  Default: False.
        posts_limit (int | Unset):  Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UserPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        active=active,
        name_contains=name_contains,
        email_contains=email_contains,
        include_posts=include_posts,
        posts_limit=posts_limit,
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
    active: bool | None | Unset = UNSET,
    name_contains: None | str | Unset = UNSET,
    email_contains: None | str | Unset = UNSET,
    include_posts: bool | Unset = False,
    posts_limit: int | Unset = 10,
) -> Problem | UserPage | None:
    """List Users

     The caller's users (an admin's: everyone's) ordered by id, a page at a time; with
    their posts if asked.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        active (bool | None | Unset):
        name_contains (None | str | Unset):
        email_contains (None | str | Unset):
        include_posts (bool | Unset):  Default: False.
        posts_limit (int | Unset):  Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UserPage
    """

    return sync_detailed(
        client=client,
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        active=active,
        name_contains=name_contains,
        email_contains=email_contains,
        include_posts=include_posts,
        posts_limit=posts_limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    active: bool | None | Unset = UNSET,
    name_contains: None | str | Unset = UNSET,
    email_contains: None | str | Unset = UNSET,
    include_posts: bool | Unset = False,
    posts_limit: int | Unset = 10,
) -> Response[Problem | UserPage]:
    """List Users

     The caller's users (an admin's: everyone's) ordered by id, a page at a time; with
    their posts if asked.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        active (bool | None | Unset):
        name_contains (None | str | Unset):
        email_contains (None | str | Unset):
        include_posts (bool | Unset):  Default: False.
        posts_limit (int | Unset):  Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UserPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        active=active,
        name_contains=name_contains,
        email_contains=email_contains,
        include_posts=include_posts,
        posts_limit=posts_limit,
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
    active: bool | None | Unset = UNSET,
    name_contains: None | str | Unset = UNSET,
    email_contains: None | str | Unset = UNSET,
    include_posts: bool | Unset = False,
    posts_limit: int | Unset = 10,
) -> Problem | UserPage | None:
    """List Users

     The caller's users (an admin's: everyone's) ordered by id, a page at a time; with
    their posts if asked.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        active (bool | None | Unset):
        name_contains (None | str | Unset):
        email_contains (None | str | Unset):
        include_posts (bool | Unset):  Default: False.
        posts_limit (int | Unset):  Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UserPage
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            offset=offset,
            after=after,
            total=total,
            active=active,
            name_contains=name_contains,
            email_contains=email_contains,
            include_posts=include_posts,
            posts_limit=posts_limit,
        )
    ).parsed
