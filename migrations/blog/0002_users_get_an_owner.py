"""users get an owner: the subject of the principal who registered them

Users registered before this revision get the owner "" (the column's default). No principal can
have an empty subject, so those users belong to nobody: only an admin sees them, and nobody
writes posts as them, until an operator gives each to someone, e.g.
UPDATE users SET owner = '<subject>' WHERE owner = ''.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 17:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# recreate='never': each change is one ALTER TABLE in place. Copying the table instead would
# drop it, which dqlite (foreign keys on) refuses while posts refer to its rows.


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=255), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_users_owner'), ['owner'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None, recreate='never') as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_owner'))
        batch_op.drop_column('owner')
