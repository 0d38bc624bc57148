"""Usage writes off the request path: query-log rows and API keys' last-used times.

An answer must never be lost to its own log write. Front ends hand their ``QueryLog``
rows (built by ``kb.store.querylog.query_log_record``) and key touches to a ``UsageWriter``:
a bounded in-memory queue drained by one background thread per writer, which

* writes up to ``batch_size`` items per transaction (one bulk INSERT for the rows);
* retries with backoff while the database is busy (``OperationalError``, such as
  SQLite's "database is locked" during a large import), the rows staying queued;
* flushes what is queued on ``close`` (API shutdown, CLI exit) and on ``flush``
  (feedback must find the row of the suggestion it is about);
* never blocks the caller: when the queue is full the row is dropped, counted
  (``dropped``, the ``on_drop`` callback feeds ``/metrics``) and logged, question masked.

One writer per process and database, owned by the runtime object that owns the
database (the API's state, the app's cached services, a CLI command): no global.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kb.store.db import Database
from kb.store.keys import touch
from kb.store.tables import QueryLog

logger = logging.getLogger("kb.store.logwriter")

CAPACITY = 10_000
BATCH_SIZE = 500
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 2.0


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _QueryRow:
    """One ``QueryLog`` row to insert (the question masked already)."""

    columns: dict[str, Any]


@dataclass
class _KeyTouch:
    """An API key was used at ``at``."""

    key_id: int
    at: datetime = field(default_factory=_now)


_Item = _QueryRow | _KeyTouch


class UsageWriter:
    """A bounded queue of usage writes and the thread that drains it into the database."""

    def __init__(
        self,
        db: Database,
        *,
        capacity: int = CAPACITY,
        batch_size: int = BATCH_SIZE,
        on_drop: Callable[[int], None] | None = None,
    ) -> None:
        """Write to ``db``; hold at most ``capacity`` items; call ``on_drop(n)`` on drops."""
        self.db = db
        self.capacity = capacity
        self.batch_size = batch_size
        self.on_drop = on_drop
        self.written = 0
        self.dropped = 0
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._submitted = 0  # items accepted so far (their sequence numbers)
        self._finished = 0  # items written or dropped, in order
        self._closing = False
        self._give_up_at: float | None = None
        self._counts = threading.Lock()  # guards ``dropped`` (the caller's and the thread's)
        self._thread: threading.Thread | None = None

    # --- the request side: never blocks, never raises on a busy database ------------------

    def log_query(self, record: dict[str, Any]) -> bool:
        """Queue one ``QueryLog`` row (``query_log_record``'s columns); False if dropped."""
        return self._submit(_QueryRow({"ts": _now(), **record}))

    def touch_key(self, key_id: int) -> bool:
        """Queue "this API key was used now"; False if dropped."""
        return self._submit(_KeyTouch(key_id))

    def pending(self) -> int:
        """Items accepted and not yet written or dropped."""
        with self._cond:
            return self._submitted - self._finished

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every item queued before this call is written (or dropped).

        True when done, False when ``timeout`` seconds passed first.
        """
        with self._cond:
            target = self._submitted
            return self._cond.wait_for(lambda: self._finished >= target, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued (retrying for up to ``timeout`` seconds), then stop the thread.

        What is still unwritten after ``timeout`` is dropped, counted and logged.
        """
        with self._cond:
            self._closing = True
            self._give_up_at = time.monotonic() + timeout
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout + 5)

    def _submit(self, item: _Item) -> bool:
        with self._cond:
            if self._closing or len(self._queue) >= self.capacity:
                self._report_dropped([item], "queue full" if not self._closing else "closed")
                return False
            self._queue.append(item)
            self._submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._drain, name="kb-usage-writer", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
            return True

    # --- the background side -----------------------------------------------------------

    def _drain(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closing)
                if not self._queue:
                    return
                batch = [
                    self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))
                ]
            try:
                self._write_with_retry(batch)
            except Exception:  # never let the thread die: later rows would pile up unwritten
                logger.exception("usage log: writing a batch failed")
            with self._cond:
                self._finished += len(batch)
                self._cond.notify_all()

    def _write_with_retry(self, batch: list[_Item]) -> None:
        """Write ``batch`` in one transaction, retrying while the database is busy."""
        backoff = FIRST_BACKOFF_S
        while True:
            try:
                self._write(batch)
                self.written += len(batch)
                return
            except OperationalError as exc:  # busy or locked: the rows stay in hand
                if self._past_deadline():
                    self._report_dropped(batch, f"database unavailable at shutdown ({exc.orig})")
                    return
                logger.warning(
                    "usage log: database busy (%s); retrying in %.2fs", exc.orig, backoff
                )
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            except Exception:  # a row the database refuses: write the others one by one
                logger.exception("usage log: a batch of %d failed; writing singly", len(batch))
                self._write_singly(batch)
                return

    def _write_singly(self, batch: list[_Item]) -> None:
        for item in batch:
            try:
                self._write([item])
                self.written += 1
            except Exception as exc:
                self._report_dropped([item], f"{type(exc).__name__}: {exc}")

    def _write(self, batch: list[_Item]) -> None:
        rows = [item.columns for item in batch if isinstance(item, _QueryRow)]
        touched: dict[int, datetime] = {}
        for item in batch:
            if isinstance(item, _KeyTouch):
                touched[item.key_id] = max(item.at, touched.get(item.key_id, item.at))
        with self.db.session() as session:
            if rows:
                session.execute(insert(QueryLog), rows)
            self._apply_touches(session, touched)

    @staticmethod
    def _apply_touches(session: Session, touched: dict[int, datetime]) -> None:
        for key_id, at in touched.items():
            touch(session, key_id, at)

    def _past_deadline(self) -> bool:
        with self._cond:
            return self._give_up_at is not None and time.monotonic() >= self._give_up_at

    def _report_dropped(self, items: list[_Item], why: str) -> None:
        with self._counts:
            self.dropped += len(items)
        for item in items[:5]:
            if isinstance(item, _QueryRow):
                logger.error(
                    "usage log: dropped query-log row %s (%s): %s",
                    item.columns.get("request_id"),
                    why,
                    str(item.columns.get("question", ""))[:100],  # masked by query_log_record
                )
            else:
                logger.warning("usage log: dropped last-used time of key %s (%s)", item.key_id, why)
        if len(items) > 5:
            logger.error("usage log: dropped %d more item(s) (%s)", len(items) - 5, why)
        if self.on_drop is not None:
            self.on_drop(len(items))
