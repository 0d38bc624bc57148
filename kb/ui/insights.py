"""The insights page: what editors should work on next.

The unanswered-question queue grouped by similar questions, the feedback helpful rate
and the articles marked wrong, agents' corrections ("the right article is X") to accept
as golden questions, articles past their review date or expiring
(``review.queries.stale_articles``), the most-cited articles, and questions and
hand-offs per day. Figures come from ``kb.quality.insights``.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

from kb.embedders.base import EmbeddingBackend
from kb.model import distinct_questions
from kb.quality import insights as analytics
from kb.quality.golden import pending_corrections
from kb.quality.unanswered import QuestionGroup
from kb.ui import article_picker, assignment, charts, editor, goldenlist, replayview
from kb.ui.i18n import enumeration, resolve, t
from kb.ui.markup import md_text
from kb.ui.services import run, services
from kb.ui.session import SignedIn, require
from review import golden, queries, queue
from review.permissions import Action

STALE_DAYS = 30
GROUP_PARAM = "group"  # ?group=<id>: that unanswered group, opened
MAX_GROUPS = 20
GROUP_FLASH = "in_group_flash"


def _backend() -> EmbeddingBackend | None:
    """The embedding model the index uses (already loaded by the searcher), if it loads."""
    try:
        backend = services().runtime.question_vectors
        backend.warm_up()
    except Exception:
        return None
    return backend


def _unanswered(user: SignedIn) -> None:
    st.header(t("unanswered"))
    backend = _backend()
    mine = assignment.only_mine()
    groups = run(lambda s: queue.list_groups(s, user.name, backend, mine=mine)) or []
    done = st.session_state.pop(GROUP_FLASH, None)  # (position, text): where the group was
    if not groups:
        for text in (done[1] if done else None, assignment.leftover_flash()):
            if text:
                st.success(text)
        st.info(t("queue_mine_empty" if mine else "unanswered_empty"))
        return
    frame = pd.DataFrame(
        {t("question"): [g.example for g in groups], t("count"): [g.count for g in groups]}
    )
    st.altair_chart(charts.top_bars(frame.head(10), t("question"), t("count")), width="stretch")
    focus = st.query_params.get(GROUP_PARAM)
    shown = [g for g in groups if g.id == focus] or groups[:MAX_GROUPS]
    for position, group in enumerate(shown):
        if done and done[0] == position:
            st.success(done[1])
        note = assignment.take_flash(group.id)
        if note:
            st.success(note)
        _group(user, group, backend, position, expanded=group.id == focus or bool(note))
    if done and done[0] >= len(shown):
        st.success(done[1])
    left = assignment.leftover_flash()
    if left:
        st.success(left)


def _group(
    user: SignedIn,
    group: QuestionGroup,
    backend: EmbeddingBackend | None,
    position: int,
    *,
    expanded: bool,
) -> None:
    """One group: its questions, and what to do with it."""
    label = (
        t("group_label_assigned", question=group.example, count=group.count, who=group.assignee)
        if group.assignee
        else t("group_label", question=group.example, count=group.count)
    )
    with st.expander(label, expanded=expanded):
        for question in group.questions[:20]:
            st.markdown(f"- {md_text(question)}")
        st.markdown(f"[{t('item_link')}](?{GROUP_PARAM}={group.id})")
        assignment.controls(user, group, backend)
        may_edit, may_mark = user.has(Action.EDIT), user.has(Action.COMMENT)
        draft_col, resolve_col, dismiss_col = st.columns([1, 2, 1])
        if may_edit and draft_col.button(t("faq_from_group"), key=f"in_faq_{group.id}"):
            others = distinct_questions(group.example, group.questions)
            editor.open_with_faq(group.example, others)
        if not may_mark:
            return
        with resolve_col:
            _resolve(user, group, backend, position)
        if dismiss_col.button(t("dismiss_group"), key=f"in_dismiss_{group.id}"):
            done = run(lambda s: queue.dismiss(s, user.name, group.id, backend))
            if done is not None:
                _group_flash(position, t("group_dismissed", question=group.example))


def _resolve(
    user: SignedIn, group: QuestionGroup, backend: EmbeddingBackend | None, position: int
) -> None:
    picker = article_picker.Picker(
        key=f"in_article_{group.id}",
        title=t("answered_by"),
        published=True,
        leading=[""],
        leading_label=lambda _a: "—",
    )
    article, found = article_picker.select(user, picker)
    if st.button(t("resolve_group"), key=f"in_resolve_{group.id}", disabled=not article):
        done = run(lambda s: queue.resolve(s, user.name, group.id, str(article), backend))
        if done is not None:
            title = article_picker.label(found.items[str(article)], True)
            _group_flash(position, t("group_resolved", question=group.example, title=title))


def _group_flash(position: int, text: str) -> None:
    """Say ``text`` where the group was (it has left the queue) after the rerun."""
    st.session_state[GROUP_FLASH] = (position, text)
    st.rerun()


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
        st.altair_chart(
            charts.daily_bars(daily, t("day"), t("queries"), t("handoffs")), width="stretch"
        )
    st.subheader(t("marked_wrong"))
    if summary.wrong_articles.empty:
        st.caption("—")
    else:
        _wrong_table(summary.wrong_articles)
        _wrong_answers()
    st.subheader(t("most_cited"))
    if cited.empty:
        st.caption("—")
    else:
        cited = cited.assign(label=cited["title"] + " · " + cited["article_id"])
        frame = cited.rename(columns={"label": t("col_title"), "citations": t("cited_times")})
        st.altair_chart(charts.top_bars(frame, t("col_title"), t("cited_times")), width="stretch")


def article_link(article_id: str, page: str = "history") -> str:
    """The URL of an article's history (or editor) page."""
    return f"{page}?article={quote(article_id, safe='')}"


def request_link(request_id: str) -> str:
    """The URL of the history page replaying that logged suggestion."""
    return f"history?{replayview.REQUEST_PARAM}={quote(request_id, safe='')}"


def _wrong_table(wrong: pd.DataFrame) -> None:
    """Articles marked wrong, each with links to its history and its editor."""
    history, edit = t("nav_history"), t("open_in_editor")
    labelled = wrong.rename(columns={c: t(f"col_{c}") for c in wrong.columns})
    labelled[history] = wrong["article_id"].map(article_link)
    labelled[edit] = wrong["article_id"].map(lambda a: article_link(a, "editor"))
    config = {
        history: st.column_config.LinkColumn(history, display_text=history),
        edit: st.column_config.LinkColumn(edit, display_text=t("edit")),
    }
    st.dataframe(labelled, hide_index=True, width="stretch", column_config=config)


def _wrong_answers() -> None:
    """Each "wrong answer" verdict: the question, the articles cited (linked) and a link
    to the suggestion's replay."""
    with services().session() as session:
        items = analytics.wrong_answers(session)
        names = analytics.titles(
            session, sorted({a for i in items for a in [*i.cited, i.correct_article_id] if a})
        )
    if not items:
        return
    st.markdown(f"**{t('wrong_answers')}**")

    def linked(article_id: str) -> str:
        return f"[{md_text(names.get(article_id, article_id))}]({article_link(article_id)})"

    for item in items:
        cited = enumeration(linked(a) for a in item.cited) or "—"
        right = linked(item.correct_article_id) if item.correct_article_id else "—"
        said = t("wrong_answer_line", when=item.ts, question=item.question, who=item.given_by)
        st.markdown(
            f"{said} · {t('wrong_cited')}{cited} · {t('wrong_right')}{right}"
            f" · [{t('replay_link')}]({request_link(item.request_id)})"
        )


def _corrections(user: SignedIn) -> None:
    """Wrong-answer feedback naming the right article, each acceptable as a golden question."""
    st.subheader(t("corrections"))
    with services().session() as session:
        pending = pending_corrections(session)
        ids = {a for item in pending for a in [*item.cited, item.correct_article_id]}
        names = analytics.titles(session, sorted(ids))
    if not pending:
        st.caption("—")
        return

    def named(article_id: str) -> str:
        return f"{names[article_id]}（{article_id}）" if article_id in names else article_id

    may_accept = user.has(Action.MANAGE_GOLDEN)
    for item in pending:
        text, button = st.columns([5, 1])
        text.markdown(
            t(
                "correction_line",
                question=item.question,
                cited=enumeration(named(a) for a in item.cited) or "—",
                right=named(item.correct_article_id),
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
                "reasons": stale_reasons(item),
            }
            for item in stale
        ]
    )
    labelled = frame.rename(columns={c: t(f"col_{c}") for c in frame.columns})
    st.dataframe(labelled, hide_index=True, width="stretch")


def stale_reasons(item: dict[str, Any], today: date | None = None) -> str:
    """Why an article is listed as stale, in the interface language (from its dates)."""
    today = today or date.today()
    due, ends = item.get("review_due"), item.get("effective_to")
    reasons = []
    if due and due <= today:
        reasons.append(t("reason_review_due", date=due.isoformat()))
    if ends and ends < today:
        reasons.append(t("reason_expired", date=ends.isoformat()))
    elif ends and (ends - today).days <= STALE_DAYS:
        reasons.append(t("reason_expires", date=ends.isoformat(), days=(ends - today).days))
    return "；".join(reasons) if resolve() == "zh" else "; ".join(reasons)


def page() -> None:
    """The insights page."""
    user = require(Action.VIEW_DRAFTS)
    st.title(t("insights_title"))
    flash = st.session_state.pop("in_flash", None)
    if flash:
        st.success(flash)
    _unanswered(user)
    _feedback()
    _corrections(user)
    goldenlist.section(user)
    _stale(user)
