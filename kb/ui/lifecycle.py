"""Archive an article or roll it back to an earlier version, from its history page.

The same service calls as ``kb archive`` and ``kb rollback`` (``review.workflow``), so
the same rules hold: publishers and admins only, a rollback brings the chosen version's
content back as a new version *in review* (approved by someone who edited neither, then
published like any other); archiving takes the article out of service and the index
follows at once. The outcome is shown next to the buttons.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from kb.model import EVER_PUBLISHED, State
from kb.ui.i18n import t
from kb.ui.search import update_index
from kb.ui.services import run
from kb.ui.session import SignedIn
from review import workflow
from review.permissions import Action

FLASH = "hi_lifecycle_flash"


def rollback_targets(versions: list[dict[str, Any]]) -> list[int]:
    """Versions that were published once and are not the published one now, newest first."""
    return [
        v["version"]
        for v in reversed(versions)
        if v["state"] in EVER_PUBLISHED and v["state"] != State.PUBLISHED
    ]


def section(user: SignedIn, article_id: str, versions: list[dict[str, Any]]) -> None:
    """The archive and roll-back controls (publishers and admins), with their outcome."""
    may_archive, may_roll_back = user.has(Action.ARCHIVE), user.has(Action.ROLLBACK)
    if not (may_archive or may_roll_back):
        return
    st.subheader(t("lifecycle"))
    comment = st.text_input(t("lifecycle_reason"), key=f"hi_reason_{article_id}")
    archive_col, rollback_col = st.columns(2)
    published = any(v["state"] == State.PUBLISHED for v in versions)
    with archive_col:
        if may_archive and st.button(
            t("archive"), key=f"hi_archive_{article_id}", disabled=not published
        ):
            _archive(user, article_id, comment)
    with rollback_col:
        targets = rollback_targets(versions)
        if may_roll_back and targets:
            chosen = st.selectbox(
                t("rollback_to"),
                targets,
                key=f"hi_rollback_v_{article_id}",
                format_func=lambda v: t("version_n", n=v),
            )
            if st.button(t("rollback"), key=f"hi_rollback_{article_id}"):
                _roll_back(user, article_id, int(chosen), comment)
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash)


def _archive(user: SignedIn, article_id: str, comment: str) -> None:
    row = run(lambda s: workflow.archive(s, user.name, article_id, comment), publishes=True)
    if row is None:
        return
    note = update_index()
    text = t("archived_msg", id=row.article_id, version=row.version)
    text += " " + (t("index_note") if note is None else t("index_pending", message=note))
    st.session_state[FLASH] = text
    st.rerun()


def _roll_back(user: SignedIn, article_id: str, version: int, comment: str) -> None:
    row = run(lambda s: workflow.rollback(s, user.name, article_id, version, comment))
    if row is None:
        return
    st.session_state[FLASH] = t(
        "rolled_back_msg", id=row.article_id, version=row.version, to=version
    )
    st.rerun()
