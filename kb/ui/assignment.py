"""Who works on an unanswered group, on the insights page (``review.queue`` rules).

Under each group: its assignee, "take it" / "give back" for anyone who may resolve
groups, and for reviewers, publishers and admins a picker to assign (or reassign) anyone
and a button to unassign. Each change is confirmed right above the group, opened, after
the rerun.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from kb.embedders.base import EmbeddingBackend
from kb.quality.unanswered import QuestionGroup
from kb.ui.i18n import t
from kb.ui.services import run, services
from kb.ui.session import SignedIn
from review import queue
from review.permissions import Action

MINE_KEY = "in_mine"
FLASH_KEY = "in_assign_flash"


def only_mine() -> bool:
    """The "only groups assigned to me" switch above the queue."""
    return bool(st.toggle(t("queue_only_mine"), key=MINE_KEY))


def take_flash(group_id: str) -> str | None:
    """The confirmation of the last assignment change to this group, once (shown above
    the group, whose title has changed, and which then opens)."""
    flash = st.session_state.get(FLASH_KEY)
    if flash and flash[0] == group_id:
        return str(st.session_state.pop(FLASH_KEY)[1])
    return None


def leftover_flash() -> str | None:
    """The confirmation of a change to a group no longer shown (e.g. given back while
    "only mine" is on), once."""
    flash = st.session_state.pop(FLASH_KEY, None)
    return str(flash[1]) if flash else None


def _who(name: str | None) -> str:
    return name if name else t("queue_nobody")


def controls(user: SignedIn, group: QuestionGroup, backend: EmbeddingBackend | None) -> None:
    """The group's assignee and the assignment buttons the user's roles allow."""
    st.markdown(t("queue_assignee", who=_who(group.assignee)))
    if not user.has(Action.COMMENT):
        return
    mine, free = group.assignee == user.name, group.assignee is None
    take_col, pick_col, assign_col = st.columns([1, 2, 1])
    if free and take_col.button(t("queue_take"), key=f"in_take_{group.id}"):
        _act(group, lambda s: queue.assign(s, user.name, group.id, user.name, backend))
    if mine and take_col.button(t("queue_give_back"), key=f"in_release_{group.id}"):
        _act(group, lambda s: queue.unassign(s, user.name, group.id, backend))
    if not user.has(Action.ASSIGN_QUEUE):
        return
    with services().session() as session:
        names = [n for n in queue.assignable(session, user.name) if n != group.assignee]
    chosen = pick_col.selectbox(
        t("queue_assign_to"),
        ["", *names],
        key=f"in_assignee_{group.id}",
        format_func=lambda n: n or "—",
    )
    if assign_col.button(t("queue_assign"), key=f"in_assign_{group.id}", disabled=not chosen):
        _act(group, lambda s: queue.assign(s, user.name, group.id, str(chosen), backend))
    unassign = not free and not mine
    if unassign and assign_col.button(t("queue_unassign"), key=f"in_unassign_{group.id}"):
        _act(group, lambda s: queue.unassign(s, user.name, group.id, backend))


def _act(group: QuestionGroup, action: Callable[..., QuestionGroup]) -> None:
    """Run the assignment change; on success confirm it next to the group and rerun."""
    done = run(action)
    if done is not None:
        text = t("queue_assigned", question=done.example, who=_who(done.assignee))
        st.session_state[FLASH_KEY] = (group.id, text)
        st.rerun()
