"""search store: a covering index of the chunks' filter columns and lengths, so lexical
search joins its postings to a narrow index (index-only scan) instead of the wide rows
whose vectors are stored inline. PostgreSQL only, as 0013.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 09:45:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_search_chunks_filter ON search_chunks (id) INCLUDE "
        "(seq, length, audience, type, lang, tags, effective_from, effective_to)"
    )


def downgrade() -> None:
    """Downgrade schema (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_search_chunks_filter")
