"""editor autosave: editor_autosaves, the unsaved editor form of each user (review.autosave)

Revision ID: 0008
Revises: 0006 (the lead re-chains it after 0007, the change feed, at merge)
Create Date: 2026-11-30 03:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0006'
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


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('editor_autosaves')
