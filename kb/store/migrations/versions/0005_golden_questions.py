"""golden questions: questions with the article(s) that must answer them (kb.quality.golden)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 01:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('golden_questions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('expected', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('feedback_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('golden_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_golden_questions_active'), ['active'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('golden_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_golden_questions_active'))

    op.drop_table('golden_questions')
