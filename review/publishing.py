"""The transaction of a publishing action, and how the search index follows it.

Every front end (the CLI's publish, archive, import --publish and publish-due, ``kb worker``,
the API's due publisher, the app's review queue, lifecycle and scheduling) changes what is
published inside ``transaction(runtime)`` and, once it committed, calls
``index_after_commit(runtime)``. One documented way, whatever the search store:

* ``search_store: postgres`` (``Runtime.index_in_database``): the outbox events the action
  wrote are applied to the search tables *inside* the transaction, just before it commits
  (``Runtime.apply_index_changes_in``). The version is searchable on every replica as soon
  as the publication commits; if the index update fails, ``IndexNotUpdated`` is raised and
  the publication is rolled back with it (nothing half done). ``index_after_commit`` then
  has nothing to do.
* ``search_store: local``: the transaction commits the outbox events; ``index_after_commit``
  dispatches them to this process's index files (``Runtime.apply_index_changes``). A failure
  there only delays the index: the events stay pending for ``kb worker`` / ``kb index
  update``, and the reason is returned for the front end to show.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from kb.errors import KbError, NotReady
from kb.runtime import Runtime


class IndexNotUpdated(NotReady):
    """The search index in the database could not follow a publication; it was rolled back."""


@contextmanager
def transaction(runtime: Runtime, *, index: bool = True) -> Iterator[Session]:
    """One transaction for a publishing action through ``runtime``'s database.

    With the search index in the database and ``index`` true, the pending outbox events are
    applied to it before the commit (``index_in_transaction``); ``index`` false leaves them
    queued (``kb import --no-index``). Raises ``IndexNotUpdated`` if that update fails; the
    whole transaction is then rolled back.
    """
    with runtime.db.session() as session:
        yield session
        if index:
            index_in_transaction(runtime, session)


def index_in_transaction(runtime: Runtime, session: Session) -> int:
    """Apply the pending outbox events inside ``session``'s transaction when the search index
    is in the database (else 0: the local store follows after the commit). Returns how many
    events were applied; raises ``IndexNotUpdated`` (the caller's transaction must roll back)
    if the index update fails."""
    if not runtime.index_in_database:
        return 0
    try:
        return runtime.apply_index_changes_in(session)
    except KbError as exc:
        raise IndexNotUpdated(_refusal(exc.message)) from exc
    except Exception as exc:  # the embedder or the database: the publication must not commit
        raise IndexNotUpdated(_refusal(str(exc) or type(exc).__name__)) from exc


def index_after_commit(runtime: Runtime) -> str | None:
    """After a publishing transaction committed: bring the local index in line (the outbox
    dispatched to ``runtime``'s index updater). None when done, or when the index already
    followed inside the transaction; else why the change waits in the outbox (the
    publication itself is committed; ``kb worker`` or ``kb index update`` applies it)."""
    if runtime.index_in_database:
        return None
    try:
        runtime.apply_index_changes()
    except Exception as exc:  # the publication is committed; the outbox keeps the events
        return str(exc) or type(exc).__name__
    return None


def _refusal(reason: str) -> str:
    first_line = (reason.strip().splitlines() or [""])[0]  # not the driver's CONTEXT lines
    return f"the search index could not be updated ({first_line}); nothing was published"
