"""The change feed page: what changed in the knowledge base, "已阅读", and (supervisors)
who has not read it yet.

The same service calls as ``kb feed`` (``review.feed``). Unacknowledged must-read
entries come first; each entry shows what changed in plain words and opens the diff.
Supervisors and admins also see, per entry, who has and who has not acknowledged it,
and the reminder list. ``unread_notice`` is the sidebar notice every page shows after
sign-in.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from kb.quality.changes import FIELD_LABELS, Change, describe
from kb.ui import article_view
from kb.ui.diffview import side_by_side_html
from kb.ui.i18n import enumeration, t
from kb.ui.markup import md_text
from kb.ui.services import run
from kb.ui.session import SignedIn, require
from review import feed
from review.feed import AckReport, FeedItem
from review.permissions import Action

NOTES = {"archived": "feed_archived_note", "expired": "feed_expired_note"}


def unread_counts(user: SignedIn) -> tuple[int, int]:
    """(unread entries, unread must-read entries) of the user; (0, 0) on error."""
    items = run(lambda s: feed.entries(s, user.name, unread_only=True)) or []
    return len(items), sum(1 for i in items if i.must_read)


def unread_notice(user: SignedIn) -> int:
    """A sidebar notice of the user's unread entries; returns the unread must-read count."""
    unread, must = unread_counts(user)
    if unread:
        box = st.sidebar.warning if must else st.sidebar.info
        box(t("feed_unread_notice", n=unread, m=must))
    return must


def change_line(change: Change) -> str:
    """One change as a line in the interface language (field names translated)."""
    labels = {key: t(f"change_{key}") for key in FIELD_LABELS}
    return describe(change, labels)


def page() -> None:
    """The change feed page."""
    user = require(Action.READ)
    st.title(t("feed_title"))
    if article_view.show_requested_article():
        return
    flash = st.session_state.pop("feed_flash", None)
    if flash:
        st.success(flash)
    only_unread = st.toggle(t("feed_only_unread"), key="feed_only_unread")
    items = run(partial(feed.entries, actor=user.name, unread_only=only_unread)) or []
    if not items:
        st.info(t("feed_empty"))
    reports: dict[int, AckReport] = {}
    if user.has(Action.SUPERVISE):
        reports = {r.entry.id: r for r in run(lambda s: feed.overview(s, user.name)) or []}
    for item in items:
        _entry(item, user, reports.get(item.id))
    if user.has(Action.SUPERVISE):
        _reminders(user)


def _entry(item: FeedItem, user: SignedIn, report: AckReport | None) -> None:
    with st.container(border=True, key=f"feed_entry_{item.id}"):
        _head(item)
        for change in item.changes:
            st.markdown(f"- {md_text(change_line(change))}")
        if not item.changes:
            st.caption(t(NOTES.get(item.kind, "feed_no_changes")))
        when = item.created_at.strftime("%Y-%m-%d %H:%M")
        st.caption(t("feed_published_at", who=item.created_by, when=when))
        article_view.show_link(item.article_id)
        with st.expander(t("feed_show_diff")):
            diff = run(partial(feed.entry_diff, actor=user.name, entry_id=item.id))
            if diff is not None:
                st.html(side_by_side_html(diff, item.article_id, item.article_id))
        _ack(item, user)
        if report is not None:
            _report(report)


def _head(item: FeedItem) -> None:
    kind = t(f"feed_kind_{item.kind}")
    kind_label = t(f"feed_type_{item.article_type}") if item.article_type else ""
    st.markdown(f"**{md_text(item.title)}** · {md_text(item.article_id)} v{item.version}")
    parts = [kind, kind_label]
    if item.effective_from:
        parts.append(t("feed_effective_from", day=item.effective_from.isoformat()))
    st.caption(" · ".join(p for p in parts if p))
    columns = st.columns(6)
    if item.must_read:
        columns[0].badge(t("feed_must_read"), color="red")
    status = t("feed_read") if item.acked else t("feed_unread")
    columns[1].badge(status, color="gray" if item.acked else "blue")


def _ack(item: FeedItem, user: SignedIn) -> None:
    if item.acked_at is not None:
        st.caption(t("feed_acked_at", when=item.acked_at.strftime("%Y-%m-%d %H:%M")))
        return
    if st.button(t("feed_ack"), key=f"feed_ack_{item.id}", type="primary"):
        done = run(partial(feed.ack, actor=user.name, entry_id=item.id))
        if done is not None:
            st.session_state["feed_flash"] = t("feed_acked_msg", title=item.title)
            st.rerun()


def _report(report: AckReport) -> None:
    st.markdown(f"**{t('feed_acks_title')}**")
    st.caption(t("feed_acks_line", done=len(report.acknowledged), pending=len(report.pending)))
    if report.acknowledged:
        names = enumeration(name for name, _ in report.acknowledged)
        st.markdown(t("feed_acked_by", names=names))
    if report.pending:
        st.markdown(t("feed_pending", names=enumeration(report.pending)))


def _reminders(user: SignedIn) -> None:
    st.header(t("feed_reminders"))
    due = run(lambda s: feed.reminders(s, user.name)) or {}
    if not due:
        st.info(t("feed_reminders_empty"))
        return
    frame = pd.DataFrame(
        {
            t("feed_agent"): list(due),
            t("feed_entries"): [", ".join(f"#{i}" for i in ids) for ids in due.values()],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch")
