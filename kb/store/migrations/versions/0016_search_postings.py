"""search store: lexical postings keyed by the chunk's ``seq`` with the chunk's length beside
each posting (``search_postings``, primary key ``(term, seq)`` covering ``tf`` and
``length``), so lexical search reads a term's postings by an index-only scan and sums BM25
per ``seq`` without joining every posting to the chunks; only the scored chunks are then
joined to their filter columns. Replaces ``search_terms`` (rows copied both ways).
``search_chunks.seq`` becomes unique (the postings' foreign key; it is a bigserial).
PostgreSQL only, as 0013.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 12:05:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

UPGRADE = [
    "DROP INDEX IF EXISTS ix_search_chunks_seq",
    "ALTER TABLE search_chunks ADD CONSTRAINT uq_search_chunks_seq UNIQUE (seq)",
    """CREATE TABLE search_postings (
        term text NOT NULL,
        seq bigint NOT NULL,
        tf integer NOT NULL,
        length integer NOT NULL
    )""",
    "INSERT INTO search_postings (term, seq, tf, length) "
    "SELECT t.term, c.seq, t.tf, c.length FROM search_terms t "
    "JOIN search_chunks c ON c.id = t.chunk_id ORDER BY t.term, c.seq",
    "ALTER TABLE search_postings ADD CONSTRAINT search_postings_pkey "
    "PRIMARY KEY (term, seq) INCLUDE (tf, length)",
    "ALTER TABLE search_postings ADD CONSTRAINT search_postings_seq_fkey "
    "FOREIGN KEY (seq) REFERENCES search_chunks (seq) ON DELETE CASCADE",
    "CREATE INDEX ix_search_postings_seq ON search_postings (seq)",
    "DROP TABLE search_terms",
]

DOWNGRADE = [
    """CREATE TABLE search_terms (
        term text NOT NULL,
        chunk_id text NOT NULL REFERENCES search_chunks (id) ON DELETE CASCADE,
        tf integer NOT NULL,
        PRIMARY KEY (term, chunk_id)
    )""",
    "INSERT INTO search_terms (term, chunk_id, tf) "
    "SELECT p.term, c.id, p.tf FROM search_postings p JOIN search_chunks c ON c.seq = p.seq "
    "ORDER BY c.seq",  # chunk by chunk, the order the 0015 writes left
    "CREATE INDEX ix_search_terms_chunk_id ON search_terms (chunk_id)",
    "DROP TABLE search_postings",
    "ALTER TABLE search_chunks DROP CONSTRAINT uq_search_chunks_seq",
    "CREATE INDEX ix_search_chunks_seq ON search_chunks (seq)",
]


def upgrade() -> None:
    """Upgrade schema (PostgreSQL only): the postings copied into the new layout."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Downgrade schema (PostgreSQL only): back to ``search_terms``, rows copied."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DOWNGRADE:
        op.execute(statement)
