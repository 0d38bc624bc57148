"""search store: pgvector HNSW indexes (``vector_ip_ops``) on the chunk and sentence
vectors, so dense search at 100,000 chunks does not scan every vector. An HNSW index needs
a fixed dimension: the vector columns get the stored model's dimension (``search_state.dim``)
when there is one; on an empty store ``kb.search.postgres`` types the columns and creates the
indexes at its first write (and again when a full rebuild changes the model's dimension).
PostgreSQL only, as 0013.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 10:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
from sqlalchemy import text


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# (index, table): the same names as kb.search.postgres.ANN_INDEXES (a migration keeps its own copy)
INDEXES = (
    ("ix_search_chunks_embedding_hnsw", "search_chunks"),
    ("ix_search_sentences_embedding_hnsw", "search_sentences"),
)


def _retype(column_type: str) -> None:
    """Give both vector columns ``column_type``, stored inline as 0013 does."""
    for _, table in INDEXES:
        op.execute(
            f"ALTER TABLE {table} ALTER COLUMN embedding TYPE {column_type}, "
            "ALTER COLUMN embedding SET STORAGE PLAIN"
        )


def upgrade() -> None:
    """Upgrade schema (PostgreSQL only): fix the dimension and index, if one is stored."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    dim = bind.execute(text("SELECT dim FROM search_state WHERE id = 1")).scalar()
    if not dim:
        return  # empty store: kb.search.postgres does it at the first write
    _retype(f"vector({int(dim)})")
    for name, table in INDEXES:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING hnsw (embedding vector_ip_ops)"
        )


def downgrade() -> None:
    """Downgrade schema (PostgreSQL only): drop the indexes, vectors of any dimension again."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    _retype("vector")
