"""Serialising writers: every review action takes the write lock before it reads.

A review action reads state (the article, its versions, the audit chain head)
and then writes based on what it read. Two actions doing that at once must
not both act on the same stale state (two published versions, a forked audit
chain), so each action locks first:

* SQLite: ``BEGIN IMMEDIATE`` on the session's connection, unless that
  connection is already in a write transaction. Concurrent writers then wait
  (the busy timeout set by ``kb.store.db``) instead of failing with "database is
  locked" when a deferred transaction tries to upgrade a stale read snapshot.
  With Python's sqlite3 driver, plain SELECTs run outside any transaction, so
  issuing BEGIN IMMEDIATE before the first write is always possible.
* Other databases (PostgreSQL): row locks, ``SELECT ... FOR UPDATE`` of the
  article row (``lock_article``) and of the audit chain head (``review.audit``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kb.store.articles import get_article
from kb.store.tables import Article


def is_sqlite(session: Session) -> bool:
    """True when the session is bound to SQLite."""
    return session.get_bind().dialect.name == "sqlite"


def holds_write_lock(session: Session) -> bool:
    """True when the session's transaction holds (or may hold) a database write lock.

    On SQLite that is any open DBAPI transaction; elsewhere, a transaction that
    locked the audit chain head (other row locks do not block audit appends).
    """
    if is_sqlite(session):
        if not session.in_transaction():
            return False
        raw = session.connection().connection.dbapi_connection
        return raw is not None and bool(raw.in_transaction)
    return session.info.get("kb_audit_head_tx") is session.get_transaction()


def lock_for_write(session: Session) -> None:
    """Take the database write lock for the rest of the session's transaction.

    Idempotent. On SQLite this starts ``BEGIN IMMEDIATE`` if the connection is
    not already writing; elsewhere it does nothing (row locks are taken where
    rows are read).
    """
    if not is_sqlite(session):
        return
    raw = session.connection().connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def lock_article(session: Session, article_id: str) -> Article:
    """Lock for writing and load the article, fresh from the database.

    ``FOR UPDATE`` where supported; the identity map is refreshed because kb's
    sessions keep objects across commits (``expire_on_commit=False``).
    """
    lock_for_write(session)
    article = session.get(
        Article, article_id, with_for_update=not is_sqlite(session), populate_existing=True
    )
    return article if article is not None else get_article(session, article_id)
