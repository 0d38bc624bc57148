"""translations: an article version may name the article it translates
(article_versions.translation_of; kb.translations)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 06:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema: every existing version translates nothing ('')."""
    with op.batch_alter_table('article_versions') as batch:
        batch.add_column(
            sa.Column('translation_of', sa.String(length=128), nullable=False, server_default='')
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('article_versions') as batch:
        batch.drop_column('translation_of')
