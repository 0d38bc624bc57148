"""The hit test: which published articles answer these questions, and which would once a
given draft is published.

Questions run through the same searcher agents use (audience ``internal``: everything
an agent may see). With a draft chosen, they run a second time against a private
snapshot of the live index plus that draft (``kb.ui.search.draft_snapshot``), never
against the live index, so the draft stays invisible to agents and bots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.search.filters import SearchFilters
from kb.search.retrieval import SearchResponse
from kb.ui.i18n import t
from kb.ui.search import draft_snapshot, searcher
from kb.ui.services import environment_key, services
from kb.ui.session import require
from review.permissions import Action
from review.picker import pick_open_versions

TOP_K = 3
NONE = ""


@dataclass(frozen=True)
class Draft:
    """A version not yet published, as the hit test needs it."""

    article_id: str
    version: int
    content_hash: str
    effective_from: date | None = None

    def as_of(self, today: date | None = None) -> date:
        """The day to search on: today, or the draft's first effective day if later."""
        today = today or date.today()
        return max(today, self.effective_from) if self.effective_from else today


def open_versions(session: Session, actor: str, text: str = "") -> tuple[dict[str, Draft], int]:
    """``{label: Draft}`` of the first versions not yet published (draft, in review,
    approved) whose id or title contains ``text`` (``review.picker``), and how many match."""
    rows, total = pick_open_versions(session, actor, text)
    drafts = {
        f"{r.article_id} · v{r.version} · {r.title} ({t('state_' + r.state)})": Draft(
            r.article_id, r.version, r.content_hash, r.effective_from
        )
        for r in rows
    }
    return drafts, total


def _draft_named(label: str) -> Draft | None:
    """The draft a label chosen earlier names, if the session still remembers it."""
    remembered: dict[str, Draft] = st.session_state.get("ht_drafts_seen", {})
    return remembered.get(label)


def _top(response: SearchResponse) -> tuple[str, str]:
    """The best article ("id · title (score)") and the ids of the runners-up."""
    if not response.results:
        return "—", ""
    best, *rest = response.results
    return f"{best.article_id} · {best.title} ({best.score:.3f})", ", ".join(
        r.article_id for r in rest
    )


def hit_table(questions: list[str], draft: Draft | None) -> pd.DataFrame:
    """One row per question: the top articles now and (with a draft) after publishing it,
    searched on the day the draft takes effect if that is later than today."""
    engine = searcher()
    filters = SearchFilters.build(audience="internal")
    live = engine.snapshot()
    private = None
    if draft is not None:
        key = (draft.article_id, draft.version, draft.content_hash, live.version)
        private = draft_snapshot(environment_key(), *key)
        later = SearchFilters.build(audience="internal", as_of=draft.as_of())
    rows: list[dict[str, Any]] = []
    for question in questions:
        now = engine.search(question, filters, top_k=TOP_K, snapshot=live)
        row = {t("question"): question}
        row[t("hittest_now")], row[t("hittest_runners_up")] = _top(now)
        if private is not None:
            after = engine.search(question, later, top_k=TOP_K, snapshot=private)
            row[t("hittest_after")], row[t("hittest_runners_up_after")] = _top(after)
            first_now = now.results[0].article_id if now.results else None
            first_after = after.results[0].article_id if after.results else None
            row[t("hittest_changed")] = "⚠" if first_now != first_after else ""
        rows.append(row)
    return pd.DataFrame(rows)


def page() -> None:
    """The hit-test page."""
    user = require(Action.VIEW_DRAFTS)
    st.title(t("hittest_title"))
    text = st.text_area(t("hittest_questions"), key="ht_questions", height=140)
    wanted = st.text_input(
        t("picker_search"), key="ht_draft_q", placeholder=t("picker_placeholder")
    )
    with services().session() as session:
        drafts, total = open_versions(session, user.name, str(wanted or ""))
    current = st.session_state.get("ht_draft")
    if current and current not in drafts:  # keep the choice while searching for another
        found = _draft_named(current)
        if found is not None:
            drafts[current] = found
    if total > len(drafts):
        st.caption(t("picker_more", shown=len(drafts), total=total))
    choice = st.selectbox(
        t("hittest_draft"),
        [NONE, *drafts],
        key="ht_draft",
        format_func=lambda v: t("hittest_none") if v == NONE else v,
    )
    if choice in drafts:
        st.session_state["ht_drafts_seen"] = {choice: drafts[choice]}
    st.caption(t("hittest_private"))
    if not st.button(t("hittest_run"), key="ht_run", type="primary"):
        return
    questions = [line.strip() for line in text.splitlines() if line.strip()]
    if not questions:
        return
    draft = drafts.get(choice) if choice else None
    if draft is not None and draft.as_of() > date.today():
        st.caption(t("hittest_as_of", day=draft.as_of().isoformat()))
    try:
        with st.spinner():
            table = hit_table(questions, draft)
    except KbError as exc:
        st.error(t("error", message=exc.message))
        return
    st.dataframe(table, hide_index=True, width="stretch")
