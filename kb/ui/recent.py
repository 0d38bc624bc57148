"""The agent's recent questions on the assist page, with their answers.

Questions asked in this browser session are kept with their whole answer object, so
"show" brings the reply back as it was. After a reload (or in a new tab) the session is
new: the list then comes from the query log rows of this agent (requester
``user:<name>``, channel ``app``). The log keeps the question masked and what was cited,
not the reply text, so those entries offer "ask again" instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import streamlit as st

from kb.store.querylog import recent_questions
from kb.ui import article_view
from kb.ui.feedback import CHANNEL, requester
from kb.ui.i18n import t
from kb.ui.markup import md_text
from kb.ui.services import services

RECENT_KEY = "as_recent"
REASK_KEY = "as_reask"
SHOWN = 10


@dataclass(frozen=True)
class Recent:
    """One recent question: from this session (``data`` set) or from the query log."""

    request_id: str
    question: str
    when: datetime | None
    handoff: bool
    cited: tuple[str, ...]
    data: dict[str, Any] | None = None


def remember(question: str, data: dict[str, Any]) -> None:
    """Keep a question asked in this session with its answer object (newest first)."""
    parts = data.get("parts") or [data]  # a message's questions, each answered apart
    cited = (str(c["article_id"]) for p in parts for c in p.get("citations") or [])
    entry = Recent(
        request_id=str(data.get("request_id") or ""),
        question=question,
        when=datetime.now().astimezone(),
        handoff=any(not p.get("answer") for p in parts),  # as the query log folds it
        cited=tuple(dict.fromkeys(cited)),
        data=data,
    )
    st.session_state[RECENT_KEY] = [entry, *st.session_state.get(RECENT_KEY, [])][:SHOWN]


def logged(user_name: str, limit: int = SHOWN) -> list[Recent]:
    """The user's latest questions on the assist page, from the query log (newest first)."""
    with services().session() as session:
        rows = recent_questions(session, requester(user_name), CHANNEL, limit)
        return [
            Recent(r.request_id, r.question, r.ts, r.handoff, tuple(r.cited_article_ids or ()))
            for r in rows
        ]


def recent(user_name: str) -> list[Recent]:
    """This session's questions, then the logged ones not among them, newest first."""
    mine: list[Recent] = st.session_state.get(RECENT_KEY, [])
    seen = {r.request_id for r in mine}
    older = [r for r in logged(user_name) if r.request_id not in seen]
    return [*mine, *older][:SHOWN]


def take_reask() -> str | None:
    """The question an "ask again" button asked for on the last click, once."""
    return st.session_state.pop(REASK_KEY, None)


def _show(data: dict[str, Any]) -> None:
    st.session_state["as_answer"] = data


def _reask(question: str) -> None:
    st.session_state[REASK_KEY] = question
    st.session_state["as_question"] = question


def show_recent(user_name: str) -> None:
    """The recent questions, each with its answer (or hand-off) and a show / ask-again button."""
    entries = recent(user_name)
    if not entries:
        return
    st.subheader(t("recent_questions"))
    for n, entry in enumerate(entries):
        when = entry.when.strftime("%H:%M") if entry.when else ""
        first_line = entry.question.strip().splitlines()[0] if entry.question.strip() else ""
        label = f"{when} · {md_text(first_line[:60])}"
        with st.expander(label):
            st.text(entry.question)  # a pasted chat keeps its lines; nothing renders
            _outcome(entry)
            if entry.data is not None:
                st.button(
                    t("recent_show"), key=f"as_recent_{n}", on_click=_show, args=(entry.data,)
                )
            else:
                st.button(
                    t("recent_reask"), key=f"as_recent_{n}", on_click=_reask, args=(entry.question,)
                )


def _outcome(entry: Recent) -> None:
    if entry.handoff:  # with citations: a message some of whose questions were answered
        st.caption(t("recent_partly_handed_off" if entry.cited else "recent_handoff"))
    if entry.data is not None and entry.data.get("text"):  # every answered part's text
        st.text(entry.data["text"])
    for article_id in entry.cited:
        link = article_view.article_link(article_id)
        st.markdown(f"{md_text(article_id)} · [{t('open_article')}]({link})")
