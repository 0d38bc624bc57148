"""Preparing a new index version before requests are served from it.

When a reader takes up a new version it first runs its preparers on the new view (the
searcher's FAQ question index, the view's language basis and audience map, ...), and only
then serves it: requests keep the previous, prepared view meanwhile, so the request that
first sees a version does not build anything. A preparer is registered with
``on_new_view`` by what owns the per-version state (``kb.search.retrieval.Searcher``); it is
held weakly, so a reader does not keep a discarded searcher alive.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Preparer = Callable[[Any], None]


class ViewPreparers:
    """The preparers of one reader, run on each new view before it is served."""

    def __init__(self) -> None:
        """No preparer yet."""
        self._refs: list[weakref.ref[Any]] = []
        self._lock = threading.Lock()

    def add(self, preparer: Preparer) -> None:
        """Run ``preparer(view)`` on each new view (a bound method is held weakly)."""
        ref: weakref.ref[Any]
        if hasattr(preparer, "__self__") and hasattr(preparer, "__func__"):
            ref = weakref.WeakMethod(preparer)
        else:
            ref = weakref.ref(preparer)
        with self._lock:
            self._refs = [r for r in self._refs if r() is not None] + [ref]

    def run(self, view: Any) -> None:
        """Prepare ``view`` with every live preparer; a failure is logged, not raised (the
        view is served anyway: what it lacks is then built on first use, as before)."""
        with self._lock:
            preparers = [p for p in (r() for r in self._refs) if p is not None]
        for preparer in preparers:
            try:
                preparer(view)
            except Exception:
                logger.exception("preparing index version %s failed", view.version)
