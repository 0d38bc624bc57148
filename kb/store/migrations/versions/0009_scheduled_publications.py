"""scheduled publications: approved versions published at a chosen time by kb publish-due
(review.schedule)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 04:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'scheduled_publications',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('article_id', sa.String(length=128), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('publish_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('scheduled_by', sa.String(length=64), nullable=False),
        sa.Column('importance', sa.String(length=16), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_scheduled_publications_article_id', 'scheduled_publications', ['article_id']
    )
    op.create_index(
        'ix_scheduled_publications_publish_at', 'scheduled_publications', ['publish_at']
    )
    op.create_index('ix_scheduled_publications_status', 'scheduled_publications', ['status'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_scheduled_publications_status', table_name='scheduled_publications')
    op.drop_index('ix_scheduled_publications_publish_at', table_name='scheduled_publications')
    op.drop_index('ix_scheduled_publications_article_id', table_name='scheduled_publications')
    op.drop_table('scheduled_publications')
