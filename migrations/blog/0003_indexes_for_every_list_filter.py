"""indexes for every list filter of users and posts

Users are listed by owner and by `active`, alone or together; posts by author and by
`published`, alone or together; each in id order, which every index gives (its last column
is the row id). Without them, a list filtered by `active` or `published` walked every row.

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
    op.create_index('ix_users_is_active', 'users', ['is_active'], unique=False)
    op.create_index('ix_users_owner_is_active', 'users', ['owner', 'is_active'], unique=False)
    op.create_index('ix_posts_published', 'posts', ['published'], unique=False)
    op.create_index(
        'ix_posts_author_id_published', 'posts', ['author_id', 'published'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_posts_author_id_published', table_name='posts')
    op.drop_index('ix_posts_published', table_name='posts')
    op.drop_index('ix_users_owner_is_active', table_name='users')
    op.drop_index('ix_users_is_active', table_name='users')
