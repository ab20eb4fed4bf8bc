"""todos belong to an owner; a key is unique per owner

Each todo gets an owner, the subject of the principal who created it, and the primary key
becomes (owner, key): two owners may each have a todo of the same key. The primary key also
serves each owner's list in key order, so no other index is needed.

Rows from before owners get the owner "" (empty), which no principal can have (Principal
refuses an empty subject): they belong to nobody, no one but an admin sees them, and no one
can change them, until an operator gives them an owner with
`UPDATE todos SET owner = '<subject>' WHERE owner = ''`.

SQLite cannot change a primary key in place, so the table is recreated and its rows copied.
The downgrade drops the owners; it fails, changing nothing, if two owners have a todo of the
same key, rather than choose whose todo to lose.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added nullable (an ALTER TABLE of SQLite's own) and filled in, so that the copy below
    # carries each row's owner and the column needs no default.
    op.add_column('todos', sa.Column('owner', sa.String(length=255), nullable=True))
    op.execute("UPDATE todos SET owner = ''")  # nobody's, as the docstring says
    with op.batch_alter_table(
        'todos',
        recreate='always',
        partial_reordering=[('owner', 'key', 'value', 'done')],
        # The owner column as the new table has it: not null, part of the primary key. Were it
        # only named in create_primary_key, SQLAlchemy would warn that key alone is flagged.
        reflect_args=[
            sa.Column('owner', sa.String(length=255), primary_key=True, nullable=False)
        ],
    ) as batch_op:
        batch_op.create_primary_key('pk_todos', ['owner', 'key'])


def downgrade() -> None:
    with op.batch_alter_table('todos', recreate='always') as batch_op:
        batch_op.drop_column('owner')
