"""Scheduled publication on the review page (``review.schedule``): a publisher picks a
time (default: the version's effective date, else tomorrow, 08:00 UTC) and schedules the
approved version; ``kb publish-due`` publishes it then. A scheduled item says when and
by whom, next to its buttons, and can be cancelled. Opening the review page also
publishes the schedules that are due (``publish_due_now``), so a missed cron run is
caught up by the next publisher who looks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import streamlit as st

from kb.ui import errors
from kb.ui.i18n import resolve, t
from kb.ui.search import update_index
from kb.ui.services import run, services
from kb.ui.session import SignedIn
from review import schedule

DEFAULT_TIME = time(8, 0)


def _default_day(effective_from: date | None) -> date:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    return effective_from if effective_from and effective_from >= tomorrow else tomorrow


def section(item: dict[str, Any], user: SignedIn, importance: str, effective_from: Any) -> None:
    """The schedule controls of one approved version (publishers only)."""
    article_id, key = item["article_id"], f"{item['article_id']}-{item['version']}"
    with services().session() as session:
        found = schedule.pending(session).get(article_id)
        pending = (found.version, str(found.publish_at)[:16], found.scheduled_by) if found else None
    if pending is not None and pending[0] == item["version"]:
        st.info(t("scheduled_note", when=pending[1], who=pending[2]))
        cancel = st.button(t("unschedule_button"), key=f"rv_unschedule_{key}")
        if cancel and run(lambda s: schedule.unschedule(s, user.name, article_id)) is not None:
            st.rerun()
        return
    day_col, time_col, button_col = st.columns([2, 2, 1])
    day = day_col.date_input(
        t("schedule_date"), value=_default_day(effective_from), key=f"rv_sched_day_{key}"
    )
    at = time_col.time_input(t("schedule_time"), value=DEFAULT_TIME, key=f"rv_sched_time_{key}")
    if button_col.button(t("schedule_button"), key=f"rv_schedule_{key}"):
        when = datetime.combine(day, at, tzinfo=UTC)
        done = run(
            lambda s: schedule.schedule(
                s, user.name, article_id, item["version"], when, importance=importance
            )
        )
        if done is not None:
            st.rerun()


def publish_due_now() -> None:
    """Carry out the scheduled publications that are due (as ``kb publish-due`` does, each
    as its publisher) and say what happened; the index follows."""
    outcomes = (
        run(
            lambda s: schedule.publish_due(s, golden_checker=services().runtime.golden_checker),
            publishes=True,
        )
        or []
    )
    if any(o.status == schedule.DONE for o in outcomes):
        update_index()
    for o in outcomes:
        if o.status == schedule.DONE:
            st.info(t("schedule_done", id=o.article_id, version=o.version, who=o.scheduled_by))
        else:
            reason = errors.localize(o.message, resolve()) or t("schedule_failed_unknown")
            st.warning(t("schedule_failed", id=o.article_id, version=o.version, reason=reason))
