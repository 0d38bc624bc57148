"""rate buckets: the API's rate limits counted in the database, shared by every replica
(kb.api.ratelimit_db)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 06:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'rate_buckets',
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('updated', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_index('ix_rate_buckets_updated', 'rate_buckets', ['updated'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_rate_buckets_updated', table_name='rate_buckets')
    op.drop_table('rate_buckets')
