"""The insights page: what editors should work on next.

The unanswered-question queue grouped by similar questions, the feedback helpful rate
and the articles marked wrong, agents' corrections ("the right article is X") to accept
as golden questions, articles past their review date or expiring
(``review.queries.stale_articles``), the most-cited articles, and questions and
hand-offs per day. Figures come from ``kb.ui.analytics``.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from kb.embedders import shared_backend
from kb.embedders.base import EmbeddingBackend
from kb.golden import pending_corrections
from kb.ui import analytics, goldenlist
from kb.ui.i18n import t
from kb.ui.services import run, services
from kb.ui.session import SignedIn, require
from review import golden, queries
from review.permissions import Action

STALE_DAYS = 30


def _backend() -> EmbeddingBackend | None:
    """The embedding model the index uses (already loaded by the searcher), if it loads."""
    config = services().config
    try:
        backend = shared_backend(config.embedder, config.embedding_model, config.embed_threads)
        backend.warm_up()
    except Exception:
        return None
    return backend


def _unanswered() -> None:
    st.header(t("unanswered"))
    with services().session() as session:
        groups = analytics.unanswered(session, _backend())
    if not groups:
        st.info(t("unanswered_empty"))
        return
    frame = pd.DataFrame(
        {
            t("question"): [g.example for g in groups],
            t("count"): [g.count for g in groups],
            t("examples"): [" | ".join(g.questions[:5]) for g in groups],
        }
    )
    st.bar_chart(
        frame.head(10),
        x=t("question"),
        y=t("count"),
        horizontal=True,
        sort=f"-{t('count')}",
        y_label="",
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def _feedback() -> None:
    st.header(t("feedback"))
    with services().session() as session:
        summary = analytics.feedback_summary(session)
        cited = analytics.most_cited(session)
        daily = analytics.daily_counts(session)
    questions = int(daily["questions"].sum()) if not daily.empty else 0
    handoffs = int(daily["handoffs"].sum()) if not daily.empty else 0
    cols = st.columns(4)
    cols[0].metric(t("queries"), questions)
    cols[1].metric(t("handoff_rate"), f"{handoffs / questions:.0%}" if questions else "—")
    cols[2].metric(t("feedback_count"), summary.total)
    rate = summary.helpful_rate
    cols[3].metric(t("helpful_rate"), "—" if rate is None else f"{rate:.0%}")
    if not daily.empty:
        st.subheader(t("per_day"))
        st.line_chart(daily)
    st.subheader(t("marked_wrong"))
    if summary.wrong_articles.empty:
        st.caption("—")
    else:
        st.dataframe(summary.wrong_articles, hide_index=True, width="stretch")
    st.subheader(t("most_cited"))
    if cited.empty:
        st.caption("—")
    else:
        st.bar_chart(
            cited, x="article_id", y="citations", horizontal=True, sort="-citations", y_label=""
        )


def _corrections(user: SignedIn) -> None:
    """Wrong-answer feedback naming the right article, each acceptable as a golden question."""
    st.subheader(t("corrections"))
    with services().session() as session:
        pending = pending_corrections(session)
    if not pending:
        st.caption("—")
        return
    may_accept = user.has(Action.MANAGE_GOLDEN)
    for item in pending:
        text, button = st.columns([5, 1])
        text.markdown(
            t(
                "correction_line",
                question=item.question,
                cited=", ".join(item.cited) or "—",
                right=item.correct_article_id,
                who=item.given_by,
            )
        )
        key = f"in_accept_{item.feedback_id}"
        if button.button(t("accept_golden"), key=key, disabled=not may_accept):
            row = run(
                partial(golden.accept_feedback, actor=user.name, feedback_id=item.feedback_id)
            )
            if row is not None:
                st.session_state["in_flash"] = t("golden_accepted", question=row.question)
                st.rerun()


def _stale(user: SignedIn) -> None:
    st.header(t("stale"))
    stale = run(lambda s: queries.stale_articles(s, user.name, days=STALE_DAYS)) or []
    if not stale:
        st.info(t("stale_empty"))
        return
    frame = pd.DataFrame(
        [
            {
                "article_id": item["article_id"],
                "title": item["title"],
                "version": item["version"],
                "owner": item["owner"],
                "reasons": "; ".join(item["reasons"]),
            }
            for item in stale
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def page() -> None:
    """The insights page."""
    user = require(Action.VIEW_DRAFTS)
    st.title(t("insights_title"))
    flash = st.session_state.pop("in_flash", None)
    if flash:
        st.success(flash)
    _unanswered()
    _feedback()
    _corrections(user)
    goldenlist.section(user)
    _stale(user)
