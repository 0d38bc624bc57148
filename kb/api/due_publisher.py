"""Scheduled publications carried out by a running ``kb serve``: ``DuePublisher``.

Every ``publish_due_interval_seconds`` a background thread of each API process runs
``review.schedule.publish_due`` (each schedule as the publisher who scheduled it, the
same rules and golden gate as ``kb publish-due``) in ``review.publishing.transaction``: with
``search_store: postgres`` the index rows change inside that transaction (the runtime's index
updater, ``ingest.sync.IndexSync``), so every replica serves the version once it commits, and a
failed index update rolls the round back (the schedules stay pending, retried next round); with
the local store the outbox is applied right after the commit and the worker's index watcher then
serves the new version. Every replica may run it: ``publish_due`` claims a schedule
before publishing it, so each is published exactly once. A failure is logged (article
id, version and reason; no personal data) and the loop goes on.
"""

from __future__ import annotations

import logging
import threading

from kb.runtime import Runtime

logger = logging.getLogger("kb.api")


class DuePublisher:
    """A daemon thread that publishes due schedules every ``interval`` seconds."""

    def __init__(self, runtime: Runtime, interval: float | None = None) -> None:
        """Publish through ``runtime`` (its database, golden checker and index updater);
        ``interval`` defaults to ``publish_due_interval_seconds``."""
        self.runtime = runtime
        default = runtime.config.publish_due_interval_seconds
        self.interval = default if interval is None else interval
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loop (idempotent; an interval of 0 starts nothing)."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="kb-publish-due", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and wait for a round under way to finish."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # the database may be busy or down: try again next round
                logger.exception("publishing the scheduled publications that are due failed")

    def run_once(self) -> int:
        """One round: publish what is due, update the index; how many were published."""
        from review import publishing, schedule

        with publishing.transaction(self.runtime) as session:
            outcomes = schedule.publish_due(session, golden_checker=self.runtime.golden_checker)
        for o in outcomes:
            if o.status == schedule.DONE:
                logger.info(
                    "scheduled publication: %s version %s published", o.article_id, o.version
                )
            else:
                logger.warning(
                    "scheduled publication: %s version %s failed: %s",
                    o.article_id,
                    o.version,
                    o.message,
                )
        published = sum(o.status == schedule.DONE for o in outcomes)
        if published:
            self._update_index()
        return published

    def _update_index(self) -> None:
        """Apply the outbox to a local index; on failure the events wait for the next update
        (with the index in the database it followed inside the publishing transaction)."""
        from review import publishing

        reason = publishing.index_after_commit(self.runtime)
        if reason is not None:
            logger.error("the index was not updated yet (%s); the publication is queued", reason)
