"""The read barrier: a write that a linearizable read commits before it reads. dqlite commits a
write only through a quorum of voters, so once it has, the node that took it led the cluster
at that moment, with every write committed before it; reading it afterwards cannot miss one
(libdqlite has no quorum read of its own: go-dqlite issue 207)."""

from typing import cast

from sqlalchemy import Integer, Table
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Mapped, mapped_column

from adapters.orm import Base, Connection

ROW_ID = 1


class ReadBarrierRow(Base):
    """One row per database, whose counter each barrier adds one to (a write that changes no
    page would not be replicated, and would prove nothing)."""

    __tablename__ = "read_barrier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    passed: Mapped[int] = mapped_column(Integer)


barrier_table = cast(Table, ReadBarrierRow.__table__)


class SqlAlchemyReadBarrier:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def pass_through(self) -> None:
        """Count one more barrier, in one statement (the row is made by the first)."""
        statement = insert(barrier_table).values(id=ROW_ID, passed=1)
        counted = statement.on_conflict_do_update(
            index_elements=[barrier_table.c.id], set_={"passed": barrier_table.c.passed + 1}
        )
        await self._connection.execute(counted)
