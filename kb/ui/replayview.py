"""Answer replay on the history page: a logged suggestion as it was given and as the
current index answers the same (masked) question, with the differences
(``kb.quality.replay.replay_request``, as ``kb replay`` shows it)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from kb.answer.message_answer import MessageAnswering
from kb.quality.replay import replay_request
from kb.ui.i18n import t
from kb.ui.markup import md_text
from kb.ui.search import suggester
from kb.ui.services import run

REQUEST_PARAM = "request"  # history?request=<id>: that suggestion, replayed
REQUEST_SEEN = "hi_request_seen"


def _answer(trace: dict[str, Any]) -> None:
    st.caption(
        t(
            "replay_figures",
            confidence=float(trace.get("confidence") or 0.0),
            threshold=str(trace.get("threshold")),
            index=str(trace.get("index_version") or "?"),
        )
    )
    if trace.get("handoff"):
        st.markdown(t("replay_handoff", reason=str(trace.get("reason") or "")))
    else:
        st.markdown(md_text(trace.get("answer") or ""))
    for c in trace.get("citations") or []:
        st.markdown(
            md_text(f"[{c['n']}] {c['article_id']} v{c['version']} "
                    f"({c['char_start']}–{c['char_end']})")
        )  # fmt: skip


def _differences(items: list[dict[str, Any]]) -> None:
    if not items:
        st.success(t("replay_same"))
        return
    st.warning(t("replay_changed", n=len(items)))
    rows = [
        {
            t("replay_what"): t("replay_diff_" + d["what"].replace(" ", "_")),
            t("replay_then"): str(d["then"]),
            t("replay_now"): str(d["now"]),
        }
        for d in items
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def section() -> None:
    """Ask for a request id; show that suggestion then and now, and what changed."""
    st.subheader(t("replay_title"))
    requested = st.query_params.get(REQUEST_PARAM)
    if requested and st.session_state.get(REQUEST_SEEN) != requested:
        st.session_state["hi_replay_id"] = requested
        st.session_state[REQUEST_SEEN] = requested
    request_id = st.text_input(t("replay_request_id"), key="hi_replay_id").strip()
    if not request_id:
        return
    data = run(lambda s: replay_request(s, request_id, MessageAnswering(suggester())))
    if data is None:
        return
    st.markdown(t("replay_question", question=data["question"]))
    then_col, now_col = st.columns(2)
    with then_col:
        st.markdown(f"**{t('replay_given', when=str(data['ts'])[:19])}**")
        _answer(data["then"])
    with now_col:
        st.markdown(f"**{t('replay_today')}**")
        _answer(data["now"])
    _differences(data["differences"])
