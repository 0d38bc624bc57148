"""Search for the app: the shared searcher, the index update after publishing, and the
private index a hit test searches a draft in.

The ``Searcher`` (models, query pipeline, live index reader) is the runtime's
(``Runtime.searcher``), warmed up once per knowledge base with ``st.cache_resource``; it
reloads the index by itself when a new version goes live. A hit test's draft is laid over
the live snapshot in memory (``ingest.shadow``: only the draft is chunked and embedded;
nothing is written), so the live index, which agents and bots read, never contains it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import streamlit as st

from ingest.shadow import ShadowIndexer
from kb.answer.message_answer import answer_message
from kb.answer.suggest import Suggester
from kb.search.filters import SearchFilters
from kb.search.index import IndexSnapshot
from kb.search.retrieval import Searcher
from kb.store.articles import get_version, to_content
from kb.ui.feedback import CHANNEL
from kb.ui.services import environment_key, services
from review import publishing

DRAFT_INDEXES = 4


@st.cache_resource(show_spinner=False)
def _cached_searcher(key: tuple[str, str, str]) -> Searcher:
    searcher = services().runtime.searcher  # built on the runtime's models and readers
    searcher.warm_up()
    return searcher


def searcher() -> Searcher:
    """The searcher of the current knowledge base's runtime (NotReady without an index)."""
    return _cached_searcher(environment_key())


_warming: set[tuple[str, str, str]] = set()
_warming_lock = threading.Lock()


def warm_up_in_background() -> None:
    """Load the models and the index in a background thread, once per knowledge base, so
    the first question does not wait for them (a missing index is simply skipped)."""
    key = environment_key()
    with _warming_lock:
        if key in _warming:
            return
        _warming.add(key)
    threading.Thread(target=_warm, args=(key,), name="kb-ui-warm-up", daemon=True).start()


def _warm(key: tuple[str, str, str]) -> None:
    try:
        _cached_searcher(key)
        _cached_suggester(key)
    except Exception:
        with _warming_lock:
            _warming.discard(key)


def _refresh_after_publishing() -> None:
    """Load the new index version and its FAQ question index now, not on the next question."""
    try:
        engine = searcher()
        engine.reader.refresh()
        engine.warm_up()
    except Exception:
        return


def update_index() -> str | None:
    """After a publishing transaction committed, apply its outbox events to the local index;
    None on success (or when the index in the database followed inside the transaction),
    else the reason it waits (``review.publishing.index_after_commit``).

    The publication is committed either way: its outbox event stays pending and the
    next update (here, ``kb index update`` or ``kb ingest``) applies it.
    """
    return publishing.index_after_commit(services().runtime)


@st.cache_resource(show_spinner=False, max_entries=DRAFT_INDEXES)
def draft_snapshot(
    key: tuple[str, str, str], article_id: str, version: int, content_hash: str, live: str
) -> IndexSnapshot:
    """The private snapshot of one stored draft over the live index, cached per draft content
    (``content_hash``, the draft's revision) and live index version (``live``)."""
    with services().session() as session:
        content = to_content(get_version(session, article_id, version))
    shared = services()
    return ShadowIndexer(shared.config, resources=shared.runtime.resources).shadow(
        searcher().snapshot().materialize(), content, version
    )


@st.cache_resource(show_spinner=False)
def _cached_suggester(key: tuple[str, str, str]) -> Suggester:
    shared = services()
    engine = Suggester(shared.config, searcher=searcher(), db=shared.db, log_writer=shared.usage)
    engine.warm_up()
    return engine


def suggester() -> Suggester:
    """The app's shared, warmed-up suggester (replay asks it with ``log=False``)."""
    return _cached_suggester(environment_key())


def suggest(
    question: str,
    *,
    requester: str,
    types: Sequence[str] = (),
    tags: Sequence[str] = (),
) -> dict[str, Any]:
    """The answer object for an agent's question or pasted message (audience ``internal``),
    as a dict, logged.

    Keys: ``answer`` (text with ``[n]`` markers, or None), ``citations``, ``confidence``,
    ``handoff``, ``reason``, ``detail``, ``results``, ``request_id`` and ``parts`` (one
    answer object per question of the message, ``kb.answer.message_answer``; the top level is the
    first). Type and tag filters narrow both the suggestion and the results. The request is
    logged once in ``QueryLog`` (channel ``app``, ``requester``): a hand-off joins the
    unanswered queue.
    """
    filters = SearchFilters.build(audience="internal", types=list(types), tags=list(tags))
    reply = answer_message(
        _cached_suggester(environment_key()),
        question,
        filters,
        log=True,
        channel=CHANNEL,
        requester=requester,
    )
    return reply.to_dict()
