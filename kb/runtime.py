"""The runtime of one process: settings, database, the loaded search parts (embedding
backends, BM25 tokenizers, index readers, FAQ question indexes), how publication reaches the
index, and the golden checker that guards publication.

Each front end creates exactly one ``Runtime`` when it starts (the CLI per invocation, the API per
server process, the Streamlit app per knowledge base it serves) and passes it to what needs it;
nothing registers itself at import time and nothing is cached in a module: what one process
loads once lives in ``runtime.resources`` (``kb.search.resources.SearchResources``), and the
searcher, the index updater and the golden checker the front end builds take it from there.
The index updater is given by the front end because it lives in ``ingest`` (the core never
imports ``ingest``); without one, publications wait in the outbox until ``kb worker`` or
``kb index update`` applies them.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from kb.config import Config
from kb.embedders import EmbedderSpec
from kb.quality.golden_check import CheckerFactory
from kb.quality.unanswered import QuestionVectors
from kb.search.resources import SearchResources
from kb.search.retrieval import Searcher
from kb.search.store import SearchIndex, open_search_index
from kb.store import outbox
from kb.store.db import Database


class Runtime:
    """Settings, database, search resources and index updater shared by everything one
    process does."""

    def __init__(
        self,
        config: Config,
        *,
        db: Database | None = None,
        index_updater: outbox.IndexUpdater | None = None,
        golden_checker: CheckerFactory | None = None,
        resources: SearchResources | None = None,
    ) -> None:
        """A runtime for ``config``; ``db`` if the caller opened it already (it is then not
        migrated here), ``index_updater`` to apply publications to the index right away,
        ``golden_checker`` for review's golden check and publishing gate (None: no check, as
        when no index is live), ``resources`` the search parts the index updater was built
        with (default: a new, empty set; nothing is loaded before it is used)."""
        self.config = config
        self.resources = resources if resources is not None else SearchResources()
        self.index_updater = index_updater
        self.golden_checker = golden_checker
        if db is not None:
            self.__dict__["db"] = db

    @cached_property
    def db(self) -> Database:
        """The knowledge base's database, created or upgraded on first use."""
        database = Database(self.config.effective_database_url)
        database.migrate()
        return database

    @cached_property
    def search_index(self) -> SearchIndex:
        """The configured search store (``search_store``), opened once: the local reader of
        ``resources.readers`` or the store in this runtime's database."""
        database = self.db if self.index_in_database else None
        return open_search_index(self.config, database, self.resources)

    @cached_property
    def searcher(self) -> Searcher:
        """The process's searcher over ``search_index``, its models from ``resources``."""
        return Searcher(self.config, reader=self.search_index, resources=self.resources)

    @cached_property
    def question_vectors(self) -> QuestionVectors:
        """The configured embedder's backend, remembering query vectors between calls (the
        unanswered queue groups with it; nothing is loaded before the first embedding)."""
        spec = EmbedderSpec.from_config(self.config)
        return QuestionVectors(self.resources.backends.get(spec))

    def apply_index_changes(self) -> int:
        """Apply the publications waiting in the outbox to this process's index; return how many
        outbox events were processed (0 when this runtime has no index updater).

        The one call front ends make after committing a publish, archive, rollback or import: a
        failure raises and leaves the events pending (the publication itself is committed).
        """
        if self.index_updater is None:
            return 0
        return outbox.dispatch(self.db, self.index_updater)

    @property
    def index_in_database(self) -> bool:
        """Does the search index live in the database (``search_store: postgres``)? Then
        publications update it inside their own transaction (``apply_index_changes_in``)."""
        return self.config.search_store != "local"

    def apply_index_changes_in(self, session: Session) -> int:
        """Apply the pending publications inside ``session``'s transaction, before it commits:
        the index update commits with the publication, or neither does (a failure raises and
        rolls both back). For a search store in the database; 0 without an index updater."""
        if self.index_updater is None:
            return 0
        return outbox.apply_in_transaction(session, self.index_updater)

    def close(self) -> None:
        """Close the database connections (if the database was opened)."""
        database = self.__dict__.pop("db", None)
        if database is not None:
            database.dispose()
