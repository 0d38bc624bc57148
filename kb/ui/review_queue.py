"""The review queue: versions in review with a side-by-side diff against the published
version and the published statements they contradict (``kb.ui.conflictview``), approve
or reject with a comment; approved versions waiting for a publisher.

Each version shows what it would do to the golden answers (``kb.ui.golden``); a
publication that breaks one needs an override reason. Four-eyes is the service layer's
rule (``review.permissions.check_four_eyes``); the page only greys out the buttons for
the user's own work and shows why. After a publication the index is brought up to date
(``kb.ui.search.update_index``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import streamlit as st
from sqlalchemy.orm import Session

from kb.model import State
from kb.store.articles import get_article, get_version, to_content
from kb.ui import conflictview, fieldview, scheduling
from kb.ui.golden import golden_section
from kb.ui.i18n import resolve, t
from kb.ui.markup import md_text
from kb.ui.render import type_label
from kb.ui.search import update_index
from kb.ui.services import run, services
from kb.ui.session import SignedIn, current_user
from review import feed, fields, queries, workflow
from review.permissions import Action

FOCUS = "article"  # ?article=<id>: the queue shows that article's versions only


def _queue(state: State, user: SignedIn) -> list[dict[str, Any]]:
    result = run(lambda s: queries.review_queue(s, user.name, state)) or []
    focus = st.query_params.get(FOCUS)
    return [item for item in result if item["article_id"] == focus] if focus else result


def _focus_note() -> None:
    """Say the queue is showing one article (from a link), with a way back to all."""
    focus = st.query_params.get(FOCUS)
    if not focus:
        return
    note, button = st.columns([4, 1])
    note.info(t("focused_on", id=focus))
    if button.button(t("show_all_items"), key="rv_show_all"):
        del st.query_params[FOCUS]
        st.rerun()


def _comparison(session: Session, item: dict[str, Any]) -> dict[str, Any]:
    """What the reviewer compares: the published version's content (if any) and this one's."""
    article = get_article(session, item["article_id"])
    content = to_content(get_version(session, item["article_id"], item["version"]))
    published = article.published_version
    old = None
    if published is not None and published != item["version"]:
        old = to_content(get_version(session, item["article_id"], published))
    return {"published": published if old else None, "old": old, "content": content}


def _show_comparison(found: dict[str, Any], item: dict[str, Any], lang: str, label: str) -> None:
    if found["old"] is not None:
        st.caption(t("diff_against", lang=lang, v=found["published"]))
    else:
        st.caption(t("diff_new_article", lang=lang))
    fieldview.show_comparison(
        found["old"], found["content"], lang, (found["published"], item["version"]), label
    )


def _item_link(item: dict[str, Any], lang: str) -> None:
    """A link that opens the review queue on this article only."""
    url = f"?{FOCUS}={quote(item['article_id'], safe='')}"
    st.markdown(f"[{t('item_link', lang=lang)}]({url})")


def _review_item(item: dict[str, Any], user: SignedIn) -> None:
    found = run(lambda s: _comparison(s, item))
    if found is None:
        return
    content = found["content"]
    lang = resolve(content.lang)
    key = f"{item['article_id']}-{item['version']}"
    with st.container(border=True):
        st.subheader(
            f"{md_text(content.title)} · {md_text(item['article_id'])} · v{item['version']}"
        )
        st.caption(
            f"{type_label(str(content.type), lang)} · "
            + t(
                "submitted_by",
                lang=lang,
                who=item["submitted_by"],
                when=str(item["updated_at"])[:16],
            )
        )
        _item_link(item, lang)
        _show_comparison(found, item, lang, "new_version")
        golden_section(item["article_id"], item["version"], lang)
        conflictview.review_section(user, item["article_id"], item["version"], lang)
        if not item["you_may_review"]:
            st.info(t("own_work", lang=lang))
        if not user.has(Action.APPROVE):
            return
        comment = st.text_area(t("review_comment", lang=lang), key=f"rv_comment_{key}")
        approve_col, reject_col = st.columns(2)
        disabled = not item["you_may_review"]
        with approve_col:
            if st.button(
                t("approve", lang=lang), key=f"rv_approve_{key}", type="primary", disabled=disabled
            ):
                _act(workflow.approve, item, user, comment, "approved_msg")
        with reject_col:
            if st.button(t("reject", lang=lang), key=f"rv_reject_{key}", disabled=disabled):
                _act(workflow.reject, item, user, comment, "rejected_msg")


def _act(action, item: dict[str, Any], user: SignedIn, comment: str, message: str) -> None:
    """Approve or reject one version with the comment (the service checks four-eyes)."""

    def call(session: Session):
        if action is workflow.reject:
            return action(session, user.name, item["article_id"], comment, version=item["version"])
        return action(
            session, user.name, item["article_id"], version=item["version"], comment=comment
        )

    row = run(call)
    if row is not None:
        st.session_state["rv_flash"] = t(message, id=row.article_id, version=row.version)
        st.rerun()


def _approvals(item: dict[str, Any], user: SignedIn, lang: str) -> None:
    """Who approved the version and when (from the audit log), with their comment."""
    found = run(lambda s: fields.approvals(s, user.name, item["article_id"], item["version"]))
    for approval in found or []:
        when = str(approval.ts)[:16]
        if approval.comment:
            text = t(
                "approved_by_comment",
                lang=lang,
                who=approval.actor,
                when=when,
                comment=approval.comment,
            )
        else:
            text = t("approved_by", lang=lang, who=approval.actor, when=when)
        st.success(text)


def _publish_item(item: dict[str, Any], user: SignedIn) -> None:
    key = f"{item['article_id']}-{item['version']}"
    found = run(lambda s: _comparison(s, item))
    if found is None:
        return
    lang = resolve(found["content"].lang)
    with st.container(border=True):
        st.subheader(
            f"{md_text(item['title'])} · {md_text(item['article_id'])} · v{item['version']}"
        )
        _approvals(item, user, lang)
        _item_link(item, lang)
        _show_comparison(found, item, lang, "to_publish")
        report = golden_section(item["article_id"], item["version"], resolve())
        override = ""
        if report is not None and report.broken:
            override = st.text_input(t("golden_override"), key=f"rv_override_{key}")
        levels = {level: t(f"importance_{level}") for level in feed.IMPORTANCE}
        importance = st.radio(
            t("importance"),
            list(levels),
            format_func=levels.__getitem__,  # translated now, not when a widget is re-read
            horizontal=True,
            key=f"rv_importance_{key}",
        )
        if st.button(t("publish"), key=f"rv_publish_{key}", type="primary"):
            row = run(
                lambda s: workflow.publish(
                    s,
                    user.name,
                    item["article_id"],
                    version=item["version"],
                    override_golden=override,
                    importance=importance,
                    golden_checker=services().runtime.golden_checker,
                ),
                conflict_key="golden_refused",
                publishes=True,
            )
            if row is None:
                return
            note = update_index()
            flash = t("published_msg", id=row.article_id, version=row.version)
            flash += " " + (t("index_note") if note is None else t("index_pending", message=note))
            st.session_state["rv_flash"] = flash
            st.rerun()
        scheduling.section(item, user, importance, found["content"].effective_from)


def page() -> None:
    """The review queue page."""
    user = current_user()
    if user is None or not (user.has(Action.APPROVE) or user.has(Action.PUBLISH)):
        st.warning(t("not_allowed"))
        st.stop()
    st.title(t("review_title"))
    flash = st.session_state.pop("rv_flash", None)
    if flash:  # the item acted on has left the list: say so at the top
        st.success(flash)
    services()  # make sure the database is ready before listing
    _focus_note()
    scheduling.publish_due_now()
    in_review = _queue(State.IN_REVIEW, user)
    if not in_review:
        st.info(t("queue_empty"))
    for item in in_review:
        _review_item(item, user)
    if user.has(Action.PUBLISH):
        st.header(t("approved_queue"))
        approved = _queue(State.APPROVED, user)
        if not approved:
            st.info(t("approved_empty"))
        for item in approved:
            _publish_item(item, user)
