"""change feed with acknowledgements, practice rounds (review.feed, review.practice)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 03:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'feed_entries',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('article_id', sa.String(length=128), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('old_version', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('article_type', sa.String(length=16), nullable=False),
        sa.Column('audience', sa.String(length=16), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('importance', sa.String(length=16), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=True),
        sa.Column('effective_to', sa.Date(), nullable=True),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('article_id', 'version', 'kind', name='uq_feed_entry'),
    )
    op.create_index('ix_feed_entries_article_id', 'feed_entries', ['article_id'])
    op.create_index('ix_feed_entries_created_at', 'feed_entries', ['created_at'])
    op.create_table(
        'feed_acks',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('user_name', sa.String(length=64), nullable=False),
        sa.Column('acked_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['feed_entries.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('entry_id', 'user_name', name='uq_feed_ack'),
    )
    op.create_index('ix_feed_acks_user_name', 'feed_acks', ['user_name'])
    op.create_table(
        'practice_rounds',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_name', sa.String(length=64), nullable=False),
        sa.Column('started_by', sa.String(length=64), nullable=False),
        sa.Column('audience', sa.String(length=16), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('types', sa.JSON(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('score', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_practice_rounds_user_name', 'practice_rounds', ['user_name'])
    op.create_table(
        'practice_items',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('article_id', sa.String(length=128), nullable=False),
        sa.Column('article_version', sa.Integer(), nullable=False),
        sa.Column('topic', sa.String(length=128), nullable=False),
        sa.Column('reply', sa.Text(), nullable=True),
        sa.Column('verdict', sa.String(length=16), nullable=True),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('facts', sa.JSON(), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['round_id'], ['practice_rounds.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('practice_items')
    op.drop_index('ix_practice_rounds_user_name', table_name='practice_rounds')
    op.drop_table('practice_rounds')
    op.drop_index('ix_feed_acks_user_name', table_name='feed_acks')
    op.drop_table('feed_acks')
    op.drop_index('ix_feed_entries_created_at', table_name='feed_entries')
    op.drop_index('ix_feed_entries_article_id', table_name='feed_entries')
    op.drop_table('feed_entries')
