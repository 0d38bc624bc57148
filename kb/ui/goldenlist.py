"""The golden questions in the app: list them, add one by hand, retire one (Insights page).

The same service calls as ``kb golden add/list/remove`` (``review.golden``): editors who may
manage golden questions (authors, reviewers, publishers, admins) get the form; everyone
else sees the list. Every change is audited by the service layer.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from kb.ui import article_picker
from kb.ui.i18n import t
from kb.ui.services import run
from kb.ui.session import SignedIn
from review import golden
from review.permissions import Action

SOURCE_KEYS = {"manual": "golden_source_manual", "feedback": "golden_source_feedback"}


def section(user: SignedIn) -> None:
    """The stored golden questions, and (for editors) the add and retire forms."""
    st.header(t("golden_list_title"))
    stored = run(lambda s: golden.listed(s, user.name)) or []
    if stored:
        frame = pd.DataFrame(
            {
                "#": [g.id for g in stored],
                t("question"): [g.question for g in stored],
                t("golden_expected"): [", ".join(g.expected) for g in stored],
                t("golden_source"): [t(SOURCE_KEYS.get(g.source, "golden_source_manual"))
                                     for g in stored],
            }
        )  # fmt: skip
        st.dataframe(frame, hide_index=True, width="stretch")
    else:
        st.caption(t("golden_list_empty"))
    if user.has(Action.MANAGE_GOLDEN):
        _add_form(user)
        if stored:
            _retire_form(user, {g.id: g.question for g in stored if g.id is not None})


def _add_form(user: SignedIn) -> None:
    picker = article_picker.Picker(key="gq_expected", title=t("golden_expected"))
    found = article_picker.search(user, picker)  # outside the form: it searches as you type
    with st.form("gq_add", clear_on_submit=True):
        question = st.text_input(t("golden_new_question"), key="gq_question")
        expected = st.multiselect(
            t("golden_expected"),
            list(found.items),
            format_func=article_picker.labels(found).__getitem__,
            key="gq_expected",
            placeholder=t("choose"),
        )
        if st.form_submit_button(t("golden_add")):
            row = run(partial(golden.add, actor=user.name, question=question, expected=expected))
            if row is not None:
                st.session_state["in_flash"] = t("golden_added", question=row.question)
                st.rerun()


def _retire_form(user: SignedIn, questions: dict[int, str]) -> None:
    with st.form("gq_remove"):
        chosen = st.selectbox(
            t("golden_retire_which"),
            list(questions),
            format_func=lambda i: f"#{i} {questions[i]}",
            key="gq_remove_id",
        )
        if st.form_submit_button(t("golden_retire")) and chosen is not None:
            row = run(partial(golden.remove, actor=user.name, golden_id=chosen))
            if row is not None:
                st.session_state["in_flash"] = t("golden_retired", question=row.question)
                st.rerun()
