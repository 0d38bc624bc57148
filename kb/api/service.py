"""What one API worker holds: settings, database, index reader, model, limits, metrics.

The model and the index load in a background thread when the app starts, so
``/healthz`` answers at once and ``/readyz`` turns 200 only when both are in
memory; until then the other endpoints answer 503. If there is no index yet the
loader keeps trying, so a worker started before the first build becomes ready
without a restart. Afterwards the search store (``kb.search.store``) swaps in each newly published
index version; a request keeps the snapshot it started with.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from kb.api.auth import KeyUsage
from kb.api.metrics import ApiMetrics
from kb.api.publishing import OnDemandGoldenChecker, OnDemandIndexSync
from kb.api.ratelimit import AuthFailureLimiter
from kb.api.ratelimit_db import buckets_for
from kb.config import Config
from kb.errors import NotReady
from kb.model import Audience
from kb.runtime import Runtime
from kb.search.resources import SearchResources
from kb.search.store import SearchIndex, SearchView
from kb.store.db import Database
from kb.store.feedback import record_feedback, served_conditions, visible_published
from kb.store.keys import KeyInfo
from kb.store.logwriter import UsageWriter
from kb.store.tables import Article, ArticleVersion, Feedback

logger = logging.getLogger("kb.api")

RETRY_LOAD_S = 2.0
WATCH_INTERVAL_S = 0.5
USAGE_FLUSH_S = 20.0  # longest wait for queued query-log rows (feedback, shutdown)


def compute_slots(config: Config) -> int:
    """How many suggestions a worker computes at once: cores / embedding threads, >= 1."""
    return max(1, (os.cpu_count() or 1) // max(1, config.embed_threads))


@dataclass
class Readiness:
    """Whether the model and the index are loaded, and the last loading error."""

    model: bool = False
    index: bool = False
    error: str = ""
    stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def ready(self) -> bool:
        """True when both the model and the index are loaded."""
        return self.model and self.index


class ApiState:
    """Everything one worker shares between requests (``app.state.kb``)."""

    def __init__(self, config: Config, db: Database | None = None) -> None:
        """Create the parts; nothing heavy is loaded until ``start_loading``."""
        self.config = config
        # publishes only due schedules (kb.api.due_publisher): its index updater and golden
        # checker are built on first use; the reader follows the index's CURRENT pointer.
        # All three load their models, tokenizers and index through the runtime's resources.
        resources = SearchResources()
        self.runtime = Runtime(
            config,
            db=db or Database(config.effective_database_url),
            index_updater=OnDemandIndexSync(config, resources),
            golden_checker=OnDemandGoldenChecker(config, resources),
            resources=resources,
        )
        self.db = self.runtime.db
        self.reader: SearchIndex = self.runtime.search_index
        self.metrics = ApiMetrics()
        # in the database on PostgreSQL (the limits hold across replicas), else per worker
        self.limiter = buckets_for(self.db, config.api_rate_limit_per_minute, "key")
        failures = config.api_auth_failures_per_minute
        self.auth_failures = AuthFailureLimiter(
            failures, buckets=buckets_for(self.db, failures, "auth")
        )
        self.key_usage = KeyUsage()
        # query-log rows and key touches are written off the request path (kb.store.logwriter)
        self.usage = UsageWriter(self.db, on_drop=self.metrics.usage_dropped.inc)
        self.readiness = Readiness()
        self.engine: Any = None  # the answering engine (kb.api.answering.Answerer)
        # CPU-bound suggestions beyond the cores slow every one down (each embedding uses
        # embed_threads threads): run at most this many at once; others wait their turn.
        self.compute_slots = threading.BoundedSemaphore(compute_slots(config))
        self._thread: threading.Thread | None = None

    # --- loading ---------------------------------------------------------------------------

    def start_loading(self) -> None:
        """Load the model and the index in a background thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._load_loop, name="kb-load", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the loader, write the queued usage rows, close the database connections."""
        self.readiness.stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.usage.close(timeout=USAGE_FLUSH_S)
        self.db.dispose()

    def _load_loop(self) -> None:
        while not self.readiness.stopped.is_set():
            try:
                self.load()
                break
            except Exception as exc:  # keep trying: the index may not be built yet
                self.readiness.error = f"{type(exc).__name__}: {exc}"
                logger.warning("not ready yet: %s", self.readiness.error)
            self.readiness.stopped.wait(RETRY_LOAD_S)
        self._watch()

    def _watch(self) -> None:
        """Load each newly published index version here, not in a request's thread."""
        while not self.readiness.stopped.wait(WATCH_INTERVAL_S):
            try:
                if self.reader.refresh():
                    self.engine.warm_up()  # prepared in refresh already (kb.search.preparing)
                    logger.info("switched to index version %s", self.reader.snapshot().version)
            except Exception:
                logger.exception("loading a new index version failed; keeping the old one")

    def load(self) -> None:
        """Load the model, then the index, synchronously."""
        from kb.api.answering import Answerer

        if self.engine is None:
            engine = Answerer(self.config, self.reader, self.runtime.resources)
            engine.warm_up()
            self.engine = engine
        self.readiness.model = True
        self.reader.snapshot()
        self.readiness.index = True
        self.readiness.error = ""
        logger.info("ready: index version %s", self.reader.snapshot().version)

    def snapshot(self) -> SearchView:
        """The live index snapshot; ``NotReady`` while the model or index is not loaded."""
        if not self.readiness.ready or self.engine is None:
            raise NotReady("the service is starting: model or index not loaded yet")
        return self.reader.snapshot()

    # --- query log and feedback ------------------------------------------------------------

    def log_query(self, record: dict[str, Any]) -> None:
        """Queue one ``QueryLog`` row (the question masked already); never blocks or fails.

        The background writer inserts it; a busy database delays the row, not the answer.
        """
        self.usage.log_query(record)

    def record_feedback(
        self,
        key: KeyInfo,
        request_id: str,
        helpful: bool,
        comment: str | None,
        correct_article_id: str | None,
    ) -> Feedback:
        """Store this key's feedback on a suggestion it received; NotFound otherwise.

        One row per key and request: a second feedback replaces the first (latest wins,
        ``kb.store.feedback.save_feedback``).
        """
        self.usage.flush(timeout=USAGE_FLUSH_S)  # the suggestion's row may still be queued
        with self.db.session() as session:
            return record_feedback(
                session,
                key.requester,
                request_id,
                helpful=helpful,
                audience=key.audience,
                comment=comment or "",
                correct_article_id=correct_article_id,
            )

    # --- articles --------------------------------------------------------------------------

    def article(self, audience: Audience, article_id: str) -> dict[str, Any]:
        """The published, effective version of an article the audience may see.

        An article that does not exist, is not published, not effective today or not
        visible to the audience is NotFound alike, so its existence is not revealed.
        """
        with self.db.session() as session:
            row = self._published(session, audience, article_id, date.today())
            return {
                "id": row.article_id,
                "version": row.version,
                "type": row.article.type,
                "title": row.title,
                "body": row.body,
                "question": row.question,
                "similar_questions": list(row.similar_questions or []),
                "lang": row.lang,
                "tags": list(row.tags or []),
                "audience": row.audience,
                "effective_from": row.effective_from,
                "effective_to": row.effective_to,
                "updated_at": row.updated_at.isoformat(),
            }

    def published_articles(self, audience: Audience) -> list[dict[str, str]]:
        """``{id, title, type}`` of every published article ``audience`` may see and that is
        effective today, by id."""
        with self.db.session() as session:
            rows = session.execute(
                select(ArticleVersion.article_id, ArticleVersion.title, Article.type)
                .join(Article, Article.id == ArticleVersion.article_id)
                .where(*served_conditions(audience, date.today()))
                .order_by(ArticleVersion.article_id)
            ).all()
        return [
            {"id": r[0], "title": r[1], "type": str(getattr(r[2], "value", r[2]))} for r in rows
        ]

    @staticmethod
    def _published(session: Any, audience: Audience, article_id: str, on: date) -> ArticleVersion:
        """The published version ``audience`` may see, effective ``on`` (``kb.store.feedback``)."""
        return visible_published(session, audience, article_id, on)
