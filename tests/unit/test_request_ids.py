"""Every request has an id: the client's, when well formed, else one made for it."""

import httpx
import pytest


@pytest.mark.parametrize("given", [b"", b"has space", b"x" * 65, "naïve".encode()])
async def test_a_request_without_a_well_formed_id_gets_one_made_for_it(
    client: httpx.AsyncClient, given: bytes
) -> None:
    headers = {b"X-Request-ID": given} if given else {}

    response = await client.get("/probe/a", headers=headers)

    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-request-id"].encode() != given
