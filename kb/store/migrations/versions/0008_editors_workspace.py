"""editors' workspace: editor_autosaves (the unsaved editor form of each user,
review.autosave) and unanswered_marks (unanswered questions resolved or dismissed, kb.quality.unanswered)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 03:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'editor_autosaves',
        sa.Column('user_name', sa.String(length=64), nullable=False),
        sa.Column('form', sa.JSON(), nullable=False),
        sa.Column('base', sa.JSON(none_as_null=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('user_name'),
    )
    op.create_table(
        'unanswered_marks',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('question_key', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('article_id', sa.String(length=128), nullable=True),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_unanswered_marks_question_key', 'unanswered_marks', ['question_key'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_unanswered_marks_question_key', table_name='unanswered_marks')
    op.drop_table('unanswered_marks')
    op.drop_table('editor_autosaves')
