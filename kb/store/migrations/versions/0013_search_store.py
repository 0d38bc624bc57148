"""search store in PostgreSQL (search_store: postgres): chunks with pgvector vectors and
filter columns, sentence vectors, BM25 terms, the version counter (kb.search.postgres).
Created on PostgreSQL only; nothing on SQLite (the local store keeps its files).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 06:20:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The vector columns have no fixed dimension: the embedding model is a setting, and a
# search is exact (a sequential scan is fast at 10,000 chunks; an HNSW index needs a
# fixed dimension and is a later step).
UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS vector",
    """CREATE TABLE search_chunks (
        id text PRIMARY KEY,
        seq bigserial NOT NULL,
        article_id text NOT NULL,
        article_version integer,
        audience text NOT NULL,
        type text,
        lang text NOT NULL,
        lang_base text NOT NULL,
        tags text[] NOT NULL,
        effective_from text,
        effective_to text,
        embedding vector NOT NULL,
        length integer NOT NULL
    )""",
    # vectors inline: a search scans them all, and out-of-line (TOAST) vectors made it ~5x slower
    "ALTER TABLE search_chunks ALTER COLUMN embedding SET STORAGE PLAIN",
    """CREATE TABLE search_texts (
        id text PRIMARY KEY REFERENCES search_chunks (id) ON DELETE CASCADE,
        content text NOT NULL,
        meta jsonb NOT NULL,
        terms text NOT NULL,
        lexical tsvector GENERATED ALWAYS AS (to_tsvector('simple', terms)) STORED
    )""",
    "CREATE INDEX ix_search_chunks_article_id ON search_chunks (article_id)",
    "CREATE INDEX ix_search_chunks_seq ON search_chunks (seq)",
    "CREATE INDEX ix_search_texts_lexical ON search_texts USING gin (lexical)",
    """CREATE TABLE search_sentences (
        chunk_id text NOT NULL REFERENCES search_chunks (id) ON DELETE CASCADE,
        position integer NOT NULL,
        embedding vector NOT NULL,
        PRIMARY KEY (chunk_id, position)
    )""",
    "ALTER TABLE search_sentences ALTER COLUMN embedding SET STORAGE PLAIN",
    """CREATE TABLE search_terms (
        term text NOT NULL,
        chunk_id text NOT NULL REFERENCES search_chunks (id) ON DELETE CASCADE,
        tf integer NOT NULL,
        PRIMARY KEY (term, chunk_id)
    )""",
    "CREATE INDEX ix_search_terms_chunk_id ON search_terms (chunk_id)",
    """CREATE TABLE search_state (
        id integer PRIMARY KEY CHECK (id = 1),
        version bigint NOT NULL,
        model_id text NOT NULL,
        dim integer NOT NULL,
        chunk_count integer NOT NULL,
        total_length double precision NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
]


def upgrade() -> None:
    """Upgrade schema (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Downgrade schema (the extension stays: other databases objects may use it)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    tables = ("search_state", "search_terms", "search_sentences", "search_texts", "search_chunks")
    for table in tables:
        op.execute(f"DROP TABLE IF EXISTS {table}")
