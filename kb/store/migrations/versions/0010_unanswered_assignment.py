"""unanswered_assignments: who works on an unanswered-question group
(kb.quality.assignments, review.queue)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 06:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'unanswered_assignments',
        sa.Column('group_id', sa.String(length=32), nullable=False),
        sa.Column('assignee', sa.String(length=64), nullable=False),
        sa.Column('assigned_by', sa.String(length=64), nullable=False),
        sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('group_id'),
    )
    op.create_index(
        'ix_unanswered_assignments_assignee', 'unanswered_assignments', ['assignee']
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_unanswered_assignments_assignee', table_name='unanswered_assignments')
    op.drop_table('unanswered_assignments')
