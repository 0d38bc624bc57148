"""The history page: an article's versions (with their review comments) and its audit events,
from ``review.queries.article_history``; any version's content can be shown, and any
two versions compared side by side. Below, a past answer can be replayed
(``kb.ui.replayview``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kb.store.articles import get_version, to_content
from kb.ui import article_picker, auditnotes, lifecycle, replayview
from kb.ui.diffview import side_by_side_html
from kb.ui.i18n import STRINGS, resolve, t
from kb.ui.render import show_article
from kb.ui.services import run
from kb.ui.session import SignedIn, require
from review import diff, queries
from review.permissions import Action

QUERY_PARAM = "article"
URL_SEEN = "hi_url_seen"  # the ?article= last followed or written
VERSION_PARAM = "version"  # ?version=<n>: the version shown
VERSION_SEEN = "hi_version_seen"
VERSION_COLUMNS = [
    "version",
    "state",
    "revision",
    "title",
    "based_on",
    "editors",
    "updated_by",
    "updated_at",
]
EVENT_COLUMNS = [
    "seq",
    "ts",
    "actor",
    "action",
    "outcome",
    "version",
    "from_state",
    "to_state",
    "comment",
]


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with column names in the interface language."""
    return frame.rename(columns={c: t(f"col_{c}") for c in frame.columns if f"col_{c}" in STRINGS})


def _states(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """State names in the interface language."""
    for column in columns:
        if column in frame:
            frame[column] = frame[column].map(
                lambda v: t(f"state_{v}") if f"state_{v}" in STRINGS else v
            )
    return frame


def _versions_frame(versions: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(versions)[VERSION_COLUMNS]
    frame["editors"] = frame["editors"].map(", ".join)
    frame["updated_at"] = frame["updated_at"].astype(str).str[:19]
    return _labelled(_states(frame, ("state",)))


def _comments(versions: list[dict]) -> None:
    lang = resolve()
    rows = [
        {
            "version": v["version"],
            **c,
            "body": auditnotes.localize(c["body"], lang),
            "kind": t(f"action_{c['kind']}") if f"action_{c['kind']}" in STRINGS else c["kind"],
            "created_at": str(c["created_at"])[:19],
        }
        for v in versions
        for c in v["comments"]
    ]
    if rows:
        st.subheader(t("comments"))
        st.dataframe(_labelled(pd.DataFrame(rows)), hide_index=True, width="stretch")


def _show_version(article_id: str, numbers: list[int], user_name: str) -> None:
    """One version's content (``?version=<n>`` picks it) and a comparison of any two."""
    requested = st.query_params.get(VERSION_PARAM, "")
    followed = st.session_state.get(VERSION_SEEN) == (article_id, requested)
    if requested.isdigit() and int(requested) in numbers and not followed:
        st.session_state["hi_version"] = int(requested)
    if st.session_state.get("hi_version") not in numbers:
        st.session_state["hi_version"] = numbers[-1]
    chosen = st.selectbox(t("view_version"), numbers, key="hi_version")
    st.query_params[VERSION_PARAM] = str(chosen)
    st.session_state[VERSION_SEEN] = (article_id, str(chosen))
    content = run(lambda s: to_content(get_version(s, article_id, chosen)))
    if content is not None:
        show_article(f"{content.title}\n\n{content.body}")
    if len(numbers) < 2:
        return
    left, right = st.columns(2)
    old = left.selectbox("A", numbers, index=len(numbers) - 2, key="hi_old")
    new = right.selectbox("B", numbers, index=len(numbers) - 1, key="hi_new")
    if old != new:
        result = run(lambda s: diff.diff_versions(s, user_name, article_id, old, new))
        if result is not None:
            st.html(side_by_side_html(result, f"v{old}", f"v{new}"))


def _chosen_article(user: SignedIn) -> str | None:
    """The article to show: the one the URL names (``?article=<id>``), else the picker's
    (search as you type); None when nothing matches."""
    requested = st.query_params.get(QUERY_PARAM)
    picker = article_picker.Picker(
        key="hi_article", title=t("edit_which"), include=[requested] if requested else []
    )
    found = article_picker.search(user, picker)
    if requested in found.items and st.session_state.get(URL_SEEN) != requested:
        st.session_state["hi_article"] = requested
    if not found.items:
        return None
    article_id = st.selectbox(
        t("edit_which"),
        list(found.items),
        format_func=article_picker.labels(found).__getitem__,
        key="hi_article",
    )
    if st.query_params.get(QUERY_PARAM) != article_id:
        st.query_params[QUERY_PARAM] = article_id
    st.session_state[URL_SEEN] = article_id
    return str(article_id)


def _values(events: pd.DataFrame) -> pd.DataFrame:
    """Actions, outcomes and system-written comments in the interface language."""
    if "comment" in events:
        events["comment"] = events["comment"].map(lambda c: auditnotes.localize(c, resolve()))
    for column, prefix in (("action", "action_"), ("outcome", "outcome_")):
        if column in events:
            events[column] = events[column].map(
                lambda v, p=prefix: t(f"{p}{v}") if f"{p}{v}" in STRINGS else v
            )
    return events


def page() -> None:
    """The history page."""
    user = require(Action.VIEW_DRAFTS)
    st.title(t("history_title"))
    article_id = _chosen_article(user)
    if article_id is None:
        st.info(t("no_results"))
        replayview.section()
        return
    found = run(lambda s: queries.article_history(s, user.name, article_id))
    if found is None:
        return
    st.subheader(t("versions"))
    st.dataframe(_versions_frame(found.versions), hide_index=True, width="stretch")
    lifecycle.section(user, article_id, found.versions)
    _comments(found.versions)
    st.subheader(t("audit_events"))
    events = pd.DataFrame(found.events)
    events = _states(events[[c for c in EVENT_COLUMNS if c in events]], ("from_state", "to_state"))
    st.dataframe(_labelled(_values(events)), hide_index=True, width="stretch")
    _show_version(article_id, [v["version"] for v in found.versions], user.name)
    replayview.section()
