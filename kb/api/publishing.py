"""What the API process needs to publish (due schedules only): ingest's index updater and the
golden checker, both built on first use so a server that never publishes never loads them."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from kb.config import Config
from kb.quality.golden_check import GoldenChecker
from kb.search.resources import SearchResources
from kb.store.outbox import IndexChange

if TYPE_CHECKING:
    from ingest.sync import IndexSync


class OnDemandIndexSync:
    """``kb.store.outbox.IndexUpdater``: ``ingest.sync.IndexSync``, imported on first use."""

    def __init__(self, config: Config, resources: SearchResources | None = None) -> None:
        """Remember the settings and the process's ``resources`` (``Runtime.resources``;
        default: a new set); nothing is imported yet."""
        self.config = config
        self.resources = resources if resources is not None else SearchResources()
        self._sync: IndexSync | None = None

    def apply(self, session: Session, changes: Sequence[IndexChange]) -> None:
        """Update the index for the outbox events (see ``ingest.sync.IndexSync``)."""
        if self._sync is None:
            from ingest.sync import IndexSync

            self._sync = IndexSync(self.config, resources=self.resources)
        self._sync.apply(session, changes)


class OnDemandGoldenChecker:
    """A ``CheckerFactory``: the golden checker, built on the first call and then kept."""

    def __init__(self, config: Config, resources: SearchResources | None = None) -> None:
        """Remember the settings and the process's ``resources`` (``Runtime.resources``;
        default: a new set); nothing is built yet."""
        self.config = config
        self.resources = resources if resources is not None else SearchResources()
        self._checker: GoldenChecker | None = None
        self._lock = threading.Lock()

    def __call__(self) -> GoldenChecker:
        """The checker (a searcher over the live index and ingest's shadow builder)."""
        with self._lock:
            if self._checker is None:
                from ingest.shadow import ShadowIndexer
                from kb.search.retrieval import Searcher

                searcher = Searcher(self.config, resources=self.resources)
                shadow = ShadowIndexer(self.config, resources=self.resources)
                self._checker = GoldenChecker(searcher, shadow)
            return self._checker
