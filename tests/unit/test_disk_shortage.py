"""A node short of disk space: its app refuses writes before they begin, and reads go on."""

import shutil
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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


class ReadOnlySession:
    """Stands for a read-only session: all the unit of work does with it here is begin its
    snapshot and end it."""

    began = ended = False

    async def execute(self, statement: object) -> None:
        self.began = str(statement) == "BEGIN"

    async def rollback(self) -> None:
        self.ended = True

    async def close(self) -> None:
        self.ended = True


async def test_while_the_disk_is_short_writes_are_refused_before_they_begin_and_reads_go_on() -> (
    None
):
    def no_session() -> AsyncSession:
        raise AssertionError("no write may begin")

    read_session = ReadOnlySession()
    uow = SqlAlchemyUnitOfWork(
        cast(async_sessionmaker[AsyncSession], no_session),
        read_session_factory=cast(async_sessionmaker[AsyncSession], lambda: read_session),
        disk_shortage=lambda: "3 MB free on the node's disk",
    )
    with pytest.raises(StoreFull, match="3 MB free"):
        async with uow:
            pass
    async with uow.read_only():
        pass

    assert read_session.began
    assert read_session.ended
