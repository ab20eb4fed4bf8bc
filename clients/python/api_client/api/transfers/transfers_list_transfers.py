from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.transfer_page import TransferPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    account: int | None | Unset = UNSET,
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

    json_account: int | None | Unset
    if isinstance(account, Unset):
        json_account = UNSET
    else:
        json_account = account
    params["account"] = json_account

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/transfers",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TransferPage | None:
    if response.status_code == 200:
        response_200 = TransferPage.from_dict(response.json())

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | TransferPage]:
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
    account: int | None | Unset = UNSET,
) -> Response[Problem | TransferPage]:
    """List Transfers

     Transfers from or to one of the caller's accounts, oldest first; 422 without `account`,
    404 for someone else's. An admin may name any account, or none to list all.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        account (int | None | Unset): One of your accounts. Required, except for an admin listing
            all.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TransferPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        account=account,
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
    account: int | None | Unset = UNSET,
) -> Problem | TransferPage | None:
    """List Transfers

     Transfers from or to one of the caller's accounts, oldest first; 422 without `account`,
    404 for someone else's. An admin may name any account, or none to list all.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        account (int | None | Unset): One of your accounts. Required, except for an admin listing
            all.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TransferPage
    """

    return sync_detailed(
        client=client,
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        account=account,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: None | str | Unset = UNSET,
    total: bool | Unset = False,
    account: int | None | Unset = UNSET,
) -> Response[Problem | TransferPage]:
    """List Transfers

     Transfers from or to one of the caller's accounts, oldest first; 422 without `account`,
    404 for someone else's. An admin may name any account, or none to list all.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        account (int | None | Unset): One of your accounts. Required, except for an admin listing
            all.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TransferPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        after=after,
        total=total,
        account=account,
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
    account: int | None | Unset = UNSET,
) -> Problem | TransferPage | None:
    """List Transfers

     Transfers from or to one of the caller's accounts, oldest first; 422 without `account`,
    404 for someone else's. An admin may name any account, or none to list all.

    Args:
        limit (int | Unset): Items per page, at most. Default: 100.
        offset (int | Unset): Items to skip. Not with `after`, nor with a substring filter; deeper
            than this, follow `next`. Default: 0.
        after (None | str | Unset): The `next` of the page before: the page starts after it.
        total (bool | Unset): Count the items that match, up to 10,000 walked. Default: False.
        account (int | None | Unset): One of your accounts. Required, except for an admin listing
            all.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TransferPage
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            offset=offset,
            after=after,
            total=total,
            account=account,
        )
    ).parsed
