"""A node short of disk space: its app refuses writes before they begin, and reads go on."""

import shutil
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.dqlite.node import DqliteNode
from adapters.dqlite.unit_of_work import SqlAlchemyUnitOfWork
from service.errors import StoreFull


def test_a_node_s_disk_is_short_while_less_than_its_reserve_is_free(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    assert (
        DqliteNode(1, "127.0.0.1:9001", tmp_path, disk_reserve_bytes=free // 2).disk_shortage()
        is None
    )
    shortage = DqliteNode(1, "127.0.0.1:9001", tmp_path, disk_reserve_bytes=free + 2**30)
    assert f"under the {(free + 2**30) // 2**20} MB kept" in (shortage.disk_shortage() or "")


class ReadOnlyConnection:
    """Stands for a read-only connection: all the unit of work does with it here is begin its
    snapshot and end it."""

    began = ended = False

    async def execute(self, statement: object, parameters: object = None) -> None:
        self.began = str(statement) == "BEGIN"

    async def rollback(self) -> None:
        self.ended = True

    async def close(self) -> None:
        self.ended = True


async def test_while_the_disk_is_short_writes_are_refused_before_they_begin_and_reads_go_on() -> (
    None
):
    read_connection = ReadOnlyConnection()

    class Engine:
        def __init__(self, connection: ReadOnlyConnection | None) -> None:
            self._connection = connection

        async def connect(self) -> ReadOnlyConnection:
            if self._connection is None:
                raise AssertionError("no write may begin")
            return self._connection

    uow = SqlAlchemyUnitOfWork(
        cast(AsyncEngine, Engine(None)),
        read_engine=cast(AsyncEngine, Engine(read_connection)),
        disk_shortage=lambda: "3 MB free on the node's disk",
    )
    with pytest.raises(StoreFull, match="3 MB free"):
        async with uow:
            pass
    async with uow.read_only():
        pass

    assert read_connection.began
    assert read_connection.ended
