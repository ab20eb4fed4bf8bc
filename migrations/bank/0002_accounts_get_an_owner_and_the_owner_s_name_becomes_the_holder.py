"""accounts get an owner: the subject of the principal who opened them; the name that was
called owner becomes the holder

The text column `owner` (a name the client gave) is renamed `holder`, keeping every value, and
a new `owner` column holds the principal's subject. Accounts opened before this revision get
the owner "" (the column's default). No principal can have an empty subject, so those accounts
belong to nobody: only an admin sees them, and nobody sends money from them (money can still
be sent to them), until an operator gives each to someone, e.g.
UPDATE accounts SET owner = '<subject>' WHERE owner = ''.

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


# recreate='never': each change is one ALTER TABLE in place (RENAME COLUMN, ADD COLUMN, DROP
# COLUMN). Copying the table instead would drop it, which dqlite (foreign keys on) refuses
# while transfers refer to its rows.


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None, recreate='never') as batch_op:
        batch_op.alter_column('owner', new_column_name='holder', existing_type=sa.String(length=100), existing_nullable=False)
        batch_op.add_column(sa.Column('owner', sa.String(length=255), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('owner')
        batch_op.alter_column('holder', new_column_name='owner', existing_type=sa.String(length=100), existing_nullable=False)
