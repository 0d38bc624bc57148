"""answer replay: query_log.trace, what produced each suggestion (kb.quality.replay)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 01:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


# Not batch mode: re-creating query_log would break feedback's foreign key on SQLite
# (ADD COLUMN and DROP COLUMN work in place there, as in 0003).
def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('query_log', sa.Column('trace', sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column('query_log', 'trace')
