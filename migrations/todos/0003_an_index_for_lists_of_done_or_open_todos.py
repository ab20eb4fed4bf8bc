"""an index for lists of done (or open) todos, an owner's or everyone's, in the lists' order

The primary key (owner, key) already serves a list of one owner's todos. A list filtered by
`done` walked every todo without this index; with it, a page of one is an index seek.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 20:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_todos_done_owner_key', 'todos', ['done', 'owner', 'key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_todos_done_owner_key', table_name='todos')
