"""each outbox event keeps the trace of the request that stored it

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 07:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('outbox_events', sa.Column('trace_context', sa.String(length=1000), nullable=True))


def downgrade() -> None:
    op.drop_column('outbox_events', 'trace_context')
