"""The PostgreSQL test fixture itself: a real server, a fresh database per test in which
the search store's extensions (pgvector, pg_trgm) can be created, nothing left behind."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.pg import PgServer


def test_a_fresh_database_takes_pgvector_and_pg_trgm(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE EXTENSION vector"))
            connection.execute(text("CREATE EXTENSION pg_trgm"))
            connection.execute(text("CREATE TABLE t (id int, v vector(3))"))
            connection.execute(text("INSERT INTO t VALUES (1, '[1,0,0]'), (2, '[0,1,0]')"))
            nearest = connection.execute(
                text("SELECT id FROM t ORDER BY v <=> '[0.9,0.1,0]' LIMIT 1")
            ).scalar()
            version = connection.execute(
                text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            ).scalar()
        assert nearest == 1
        assert version.startswith("0.8")
    finally:
        engine.dispose()


def test_each_test_gets_its_own_database_and_it_is_dropped(pg_server: PgServer) -> None:
    first, second = pg_server.empty_database(), pg_server.empty_database()
    assert first != second
    engine = create_engine(pg_server.url("postgres"))
    try:
        pg_server.drop(first)
        with engine.connect() as connection:
            names = set(connection.execute(text("SELECT datname FROM pg_database")).scalars())
        assert first.split("?")[0].rsplit("/", 1)[1] not in names
        assert second.split("?")[0].rsplit("/", 1)[1] in names
    finally:
        pg_server.drop(second)
        engine.dispose()
