"""Table definitions. Rows are mapped to domain entities explicitly, in each repository."""

from sqlalchemy import Boolean, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class TodoRow(Base):
    __tablename__ = "todos"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    done: Mapped[bool] = mapped_column(Boolean)
