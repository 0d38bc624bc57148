"""The practice page: start a round over chosen tags and types, reply to each customer
question, see which key facts were given, missing or wrong, with the article to read.

The same service calls as ``kb practice`` (``review.practice``). Supervisors and admins
may start a round for an agent and see the team table. The current round is
remembered in the session (``pr_round``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from kb.model import ArticleType
from kb.store.articles import published_tags
from kb.ui import article_view
from kb.ui.i18n import enumeration, t
from kb.ui.markup import md_text
from kb.ui.services import run, services
from kb.ui.session import SignedIn, require
from review import practice
from review.feed import agents
from review.permissions import Action

ROUND_KEY = "pr_round"


def page() -> None:
    """The practice page."""
    user = require(Action.READ)
    st.title(t("practice_title"))
    if article_view.show_requested_article():
        return
    flash = st.session_state.pop("pr_flash", None)
    if flash:
        st.success(flash)
    _start_form(user)
    round_id = st.session_state.get(ROUND_KEY) or _open_round(user)
    if round_id is not None:
        data = run(lambda s: practice.round_dict(practice.get_round(s, user.name, round_id)))
        if data is not None:
            _round(data, user)
    _my_record(user)
    if user.has(Action.SUPERVISE):
        _team(user)


def _open_round(user: SignedIn) -> int | None:
    """The user's newest unfinished round (e.g. one a supervisor started for them)."""
    rounds = run(lambda s: practice.rounds_of(s, user.name)) or []
    return next((r.id for r in rounds if r.finished_at is None), None)


def _tags() -> list[str]:
    with services().session() as session:
        return published_tags(session)


def _start_form(user: SignedIn) -> None:
    team = []
    if user.has(Action.SUPERVISE):
        team = run(agents) or []
    with st.form("pr_start"):
        tags = st.multiselect(t("practice_tags"), _tags(), key="pr_tags", placeholder=t("choose"))
        kinds = {str(k): t(f"feed_type_{k}") for k in ArticleType}
        types = st.multiselect(
            t("practice_types"), list(kinds), format_func=kinds.__getitem__, key="pr_types",
            placeholder=t("choose"),
        )  # fmt: skip
        scopes = {a: t(f"practice_audience_{a}") for a in ("public", "internal")}
        audience = st.radio(
            t("practice_audience"), list(scopes), horizontal=True, key="pr_audience",
            format_func=scopes.__getitem__,
        )  # fmt: skip
        size = st.number_input(t("practice_size"), 1, practice.MAX_SIZE, 3, key="pr_size")
        agent = user.name
        if team:
            agent = st.selectbox(t("practice_for"), [user.name, *team], key="pr_for")
        if st.form_submit_button(t("practice_start")):
            _start(user, tags, types, audience, int(size), agent)


def _start(
    user: SignedIn, tags: list[str], types: list[str], audience: str, size: int, agent: str
) -> None:
    call = partial(
        practice.start_round, actor=user.name, agent=agent, tags=tags, types=types,
        audience=audience, size=size,
    )  # fmt: skip
    started = run(lambda s: practice.round_dict(call(s)))
    if started is not None:
        if agent == user.name:
            st.session_state[ROUND_KEY] = started["id"]
        st.session_state["pr_flash"] = t(
            "practice_started", id=started["id"], n=len(started["questions"])
        )
        st.rerun()


def _round(data: dict[str, Any], user: SignedIn) -> None:
    st.header(t("practice_round", id=data["id"]))
    for item in data["questions"]:
        with st.container(border=True, key=f"pr_item_{item['position']}"):
            st.markdown(t("practice_question", n=item["position"], question=item["question"]))
            if item["answered"]:
                _scoring(item)
            elif data["agent"] == user.name:
                _reply_form(data["id"], item["position"], user)
    if data["score"] is not None:
        st.success(t("practice_finished", score=data["score"]))


def _reply_form(round_id: int, position: int, user: SignedIn) -> None:
    with st.form(f"pr_reply_{position}"):
        reply = st.text_area(t("practice_reply"), key=f"pr_reply_text_{position}")
        if st.form_submit_button(t("practice_submit")):
            done = run(
                partial(
                    practice.answer, actor=user.name, round_id=round_id, position=position,
                    reply=reply,
                )
            )  # fmt: skip
            if done is not None:
                st.rerun()


def _scoring(item: dict[str, Any]) -> None:
    st.markdown(f"> {md_text(item['reply'])}")
    verdict = t(f"practice_verdict_{item['verdict']}")
    box = st.success if item["verdict"] == "good" else st.warning
    box(t("practice_scored", verdict=verdict, score=item["score"]))
    for fact in item["facts"]:
        text = fact.get("context") or fact["text"]
        key = f"practice_fact_{fact['status']}"
        st.markdown(t(key, fact=text, said=fact.get("said") or ""))
    st.caption(t("practice_read_article", id=item["article_id"], version=item["article_version"]))
    article_view.show_link(item["article_id"])


def _my_record(user: SignedIn) -> None:
    record = run(lambda s: practice.stats(s, user.name))
    if record is None:
        return
    st.header(t("practice_my_record"))
    average = "—" if record.average is None else f"{record.average:.0f}"
    st.markdown(t("practice_record_line", rounds=record.rounds, average=average))
    if record.weak_topics:
        topics = enumeration(f"{topic} ({score:.0f})" for topic, score in record.weak_topics)
        st.markdown(t("practice_weak", topics=topics))
    else:
        st.caption(t("practice_no_weak"))


def _team(user: SignedIn) -> None:
    rows = run(lambda s: practice.team(s, user.name)) or []
    st.header(t("practice_team"))
    frame = pd.DataFrame(
        {
            t("practice_col_agent"): [r.agent for r in rows],
            t("practice_col_rounds"): [r.rounds for r in rows],
            t("practice_col_answers"): [r.answers for r in rows],
            t("practice_col_average"): [r.average for r in rows],
            t("practice_col_last"): [(r.last_round or "")[:16] for r in rows],
            t("practice_col_weak"): [enumeration(w for w, _ in r.weak_topics) for r in rows],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch")
