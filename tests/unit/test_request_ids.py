"""Every request has an id: the client's, when well formed, else one made for it."""

import subprocess
import sys

import httpx
import pytest

from entrypoints.request_ids import WELL_FORMED


@pytest.mark.parametrize("given", [b"", b"has space", b"x" * 65, "naïve".encode()])
async def test_a_request_without_a_well_formed_id_gets_one_made_for_it(
    client: httpx.AsyncClient, given: bytes
) -> None:
    headers = {b"X-Request-ID": given} if given else {}

    response = await client.get("/probe/a", headers=headers)

    made = response.headers["x-request-id"]
    assert WELL_FORMED.fullmatch(made)
    assert made.encode() != given


async def test_each_request_gets_an_id_of_its_own(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/probe/a")).headers["x-request-id"] for _ in range(50)}

    assert len(ids) == 50


def test_a_forked_process_makes_ids_no_other_process_makes() -> None:
    # In a process of its own: forking the test runner, which has threads, is unsafe.
    forks = """
import os
from entrypoints.request_ids import _new_ids
reading, writing = os.pipe()
if os.fork() == 0:
    os.write(writing, _new_ids.next().encode())
    os._exit(0)
os.wait()
print(os.read(reading, 100).decode(), _new_ids.next())
"""
    made = subprocess.run([sys.executable, "-c", forks], capture_output=True, check=True, text=True)
    in_child, in_parent = made.stdout.split()

    assert in_child.split("-")[0] != in_parent.split("-")[0]
