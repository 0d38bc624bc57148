"""The article list: find any article, and the work waiting for the signed-in user.

Views ("my drafts", "waiting for my review", "approved, waiting to publish"), counts per
state, filters (state, type, audience, owner, tag, language, review due or overdue,
expiring within N days) and a text search over titles, questions and bodies, a page at
a time; each row links to the editor (``editor?article=<id>``) and the history
(``history?article=<id>``). The query is ``review.catalog.list_articles``; this page
only shows it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

from kb.model import ArticleType, Audience, State
from kb.ui.i18n import enumeration, language_name, t
from kb.ui.render import type_label
from kb.ui.services import run
from kb.ui.session import SignedIn, require
from review.catalog import ArticleFilter, ArticlePage, View, list_articles
from review.permissions import Action

PAGE_SIZE = 50
PREFIX = "al_"
ANY = ""
REVIEW_CHOICES = ("", "overdue", "30")  # any / overdue / due within 30 days
LANGS = ("", "zh", "en")
LINKS_FIRST = ("title", "edit", "history")  # the links next to the title, always in view


def _views(user: SignedIn) -> list[str]:
    views = [View.ALL, View.MY_DRAFTS]
    if user.has(Action.APPROVE):
        views.append(View.MY_REVIEW)
    if user.has(Action.PUBLISH):
        views.append(View.TO_PUBLISH)
    return [str(v) for v in views]


def _select(label: str, options: list[str], name: str, labels: dict[str, str]) -> str:
    value = st.selectbox(
        t(label),
        options,
        key=PREFIX + name,
        format_func=lambda v: labels.get(v, v) if v else t("any"),
        on_change=_first_page,
    )
    return str(value)


def _first_page() -> None:
    st.session_state[PREFIX + "page"] = 0


def _filters(user: SignedIn) -> ArticleFilter:
    view = st.radio(
        t("list_view"),
        _views(user),
        key=PREFIX + "view",
        format_func=lambda v: t(f"view_{v}"),
        horizontal=True,
        on_change=_first_page,
    )
    text = st.text_input(t("list_search"), key=PREFIX + "text", on_change=_first_page)
    cols = st.columns(4)
    with cols[0]:
        states = {str(s): t(f"state_{s}") for s in State}
        state = _select("col_state", [ANY, *states], "state", states)
        kinds = {str(a): type_label(str(a)) for a in ArticleType}
        kind = _select("field_type", [ANY, *kinds], "type", kinds)
    with cols[1]:
        audiences = {str(a): t(f"audience_{a}") for a in Audience}
        audience = _select("field_audience", [ANY, *audiences], "audience", audiences)
        langs = {code: language_name(code) for code in LANGS if code}
        lang = _select("field_lang", list(LANGS), "lang", langs)
    with cols[2]:
        owner = st.text_input(t("field_owner"), key=PREFIX + "owner", on_change=_first_page)
        tag = st.text_input(t("label_tags"), key=PREFIX + "tag", on_change=_first_page)
    with cols[3]:
        review_labels = {"overdue": t("review_overdue"), "30": t("review_due_30")}
        review = _select("field_review_due", list(REVIEW_CHOICES), "review", review_labels)
        expiring = st.number_input(
            t("expiring_within"),
            min_value=0,
            max_value=3660,
            step=7,
            key=PREFIX + "expiring",
            on_change=_first_page,
        )
    return ArticleFilter(
        view=View(view),
        state=state,
        type=kind,
        audience=audience,
        owner=owner,
        tag=tag,
        lang=lang,
        text=text,
        review_due_within=None if not review else (0 if review == "overdue" else int(review)),
        expiring_within=int(expiring) if expiring else None,
    )


def _counts(page: ArticlePage) -> None:
    parts = [f"{t(f'state_{s}')} {page.counts[str(s)]}" for s in State if page.counts.get(str(s))]
    st.caption(t("list_counts", total=sum(page.counts.values()), states=" · ".join(parts)))


def _state(row: dict[str, Any]) -> str:
    """The state's name; an approved version due to be published says when."""
    state = t(f"state_{row['state']}")
    when = row.get("scheduled_at")
    return t("state_scheduled", state=state, when=str(when)[:16]) if when else state


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    def day(value: Any) -> str:
        return value.isoformat() if value else ""

    return pd.DataFrame(
        [
            {
                "title": r["title"],
                "article_id": r["article_id"],
                "type": type_label(r["type"]),
                "state": _state(r),
                "version": r["version"],
                "audience": t(f"audience_{r['audience']}"),
                "owner": r["owner"],
                "tags": enumeration(r["tags"]),
                "review_due": ("⚠ " if r["review_overdue"] else "") + day(r["review_due"]),
                "effective_to": day(r["effective_to"]),
                "updated_at": str(r["updated_at"])[:16],
                "edit": f"editor?article={quote(r['article_id'], safe='')}",
                "history": f"history?article={quote(r['article_id'], safe='')}",
            }
            for r in rows
        ]
    )


def _table(page: ArticlePage) -> None:
    if not page.rows:
        st.info(t("no_results"))
        return
    columns = {
        name: st.column_config.TextColumn(t(label))
        for name, label in (
            ("title", "col_title"),
            ("article_id", "field_id"),
            ("type", "field_type"),
            ("state", "col_state"),
            ("audience", "field_audience"),
            ("owner", "field_owner"),
            ("tags", "label_tags"),
            ("review_due", "field_review_due"),
            ("effective_to", "field_effective_to"),
            ("updated_at", "col_updated_at"),
        )
    }
    columns["version"] = st.column_config.NumberColumn(t("col_version"))
    columns["edit"] = st.column_config.LinkColumn(t("open_in_editor"), display_text=t("edit"))
    columns["history"] = st.column_config.LinkColumn(
        t("nav_history"), display_text=t("nav_history")
    )
    frame = _frame(page.rows)
    order = ["title", "edit", "history", *(c for c in frame.columns if c not in LINKS_FIRST)]
    st.dataframe(frame, hide_index=True, width="stretch", column_config=columns, column_order=order)


def _pager(page: ArticlePage) -> None:
    pages = max(1, -(-page.total // PAGE_SIZE))
    number = page.offset // PAGE_SIZE
    prev_col, text_col, next_col = st.columns([1, 3, 1])
    prev_col.button(
        t("page_prev"),
        key=PREFIX + "prev",
        disabled=number == 0,
        on_click=_turn,
        args=(-1,),
    )
    text_col.caption(t("page_of", n=number + 1, pages=pages, total=page.total))
    next_col.button(
        t("page_next"),
        key=PREFIX + "next",
        disabled=number + 1 >= pages,
        on_click=_turn,
        args=(1,),
    )


def _turn(step: int) -> None:
    st.session_state[PREFIX + "page"] = max(0, st.session_state.get(PREFIX + "page", 0) + step)


def page() -> None:
    """The article list page."""
    user = require(Action.VIEW_DRAFTS)
    st.title(t("articles_title"))
    chosen = _filters(user)
    offset = st.session_state.get(PREFIX + "page", 0) * PAGE_SIZE
    found = run(lambda s: list_articles(s, user.name, chosen, offset=offset, limit=PAGE_SIZE))
    if found is None:
        return
    if found.offset and not found.rows:  # the filters shrank the list below this page
        _first_page()
        st.rerun()
    _counts(found)
    _table(found)
    _pager(found)
