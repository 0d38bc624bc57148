"""What every page shares: the runtime (settings, database, index updater), once per process.

``services()`` is cached with ``st.cache_resource`` keyed by the environment that
selects a knowledge base (``KB_HOME``, ``KB_CONFIG``, the working directory), so
tests that point ``KB_HOME`` at a temporary knowledge base get their own. Pages
run service-layer calls through ``run``, which opens one transaction and shows a
domain error as a message instead of a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import streamlit as st
from sqlalchemy.orm import Session

from ingest.sync import IndexSync
from kb.config import Config, load_config
from kb.errors import Conflict, KbError
from kb.runtime import Runtime
from kb.search.resources import SearchResources
from kb.store.db import Database
from kb.store.logwriter import UsageWriter
from kb.ui.errors import localize
from kb.ui.i18n import resolve, t
from review import publishing

T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    """The runtime (settings, database, index updater) and usage writer of the knowledge base
    this app serves."""

    runtime: Runtime
    usage: UsageWriter  # query-log rows, written off the page's path (kb.store.logwriter)

    @property
    def config(self) -> Config:
        """The effective settings."""
        return self.runtime.config

    @property
    def db(self) -> Database:
        """The knowledge base's database."""
        return self.runtime.db

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction (committed on success, rolled back on error)."""
        with self.db.session() as session:
            yield session


def build_services() -> Services:
    """Load the settings, open (create or upgrade) the database, apply publications to the
    index through ingest's ``IndexSync`` and check them with the app's golden checker."""
    config = load_config().config
    from kb.ui.golden import app_checker  # imports this module

    resources = SearchResources()  # the models and index readers of this knowledge base
    runtime = Runtime(
        config,
        index_updater=IndexSync(config, resources=resources),
        golden_checker=app_checker,
        resources=resources,
    )
    return Services(runtime, UsageWriter(runtime.db))


@st.cache_resource(show_spinner=False)
def _cached_services(key: tuple[str, str, str]) -> Services:
    return build_services()


def environment_key() -> tuple[str, str, str]:
    """What selects the knowledge base: ``KB_HOME``, ``KB_CONFIG`` and the working directory."""
    return (os.environ.get("KB_HOME", ""), os.environ.get("KB_CONFIG", ""), str(Path.cwd()))


def services() -> Services:
    """The process-wide services of the current knowledge base."""
    return _cached_services(environment_key())


def run(
    action: Callable[[Session], T], *, conflict_key: str = "error", publishes: bool = False
) -> T | None:
    """Run ``action`` in one transaction; show a domain error and return None on failure.

    A ``Conflict`` is shown with the ``conflict_key`` text (e.g. the editor's "nothing
    was overwritten" message). A publishing action (``publishes``) runs in
    ``review.publishing.transaction``: with the search index in the database it is updated
    before the commit, and a failed update rolls the action back (shown as an error); then
    call ``kb.ui.search.update_index`` for the local index.
    """
    runtime = services().runtime
    try:
        with publishing.transaction(runtime) if publishes else runtime.db.session() as session:
            return action(session)
    except Conflict as exc:
        show_error(exc.message, conflict_key)
    except KbError as exc:
        show_error(exc.message, "error")
    return None


def show_error(message: str, key: str = "error") -> None:
    """A service-layer message in the interface language (``kb.ui.errors``), as an error."""
    text = localize(message, resolve())
    if text is not None:
        st.error(t(key, message=text))
        return
    st.error(t(key, message=t("error_untranslated")))
    with st.expander(t("error_details")):
        st.text(message)
