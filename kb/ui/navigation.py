"""The app's frame: page config, language switch, sign-in gate and the role-based menu.

``app.py`` calls ``main()``. Every page still checks the user's roles itself, and the
service layer checks every action again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from kb.ui import (
    articles,
    assist,
    editor,
    editor_state,
    feed,
    history,
    hittest,
    insights,
    practice,
    reminders,
    review_queue,
    signin,
)
from kb.ui.i18n import language_switch, t
from kb.ui.search import warm_up_in_background
from kb.ui.session import SignedIn, current_user, role_names, sign_out, write_pending_cookie
from review.permissions import Action


@dataclass(frozen=True)
class PageSpec:
    """One page of the menu: its function, title key, URL path and who sees it."""

    func: Callable[[], None]
    title: str
    path: str
    actions: tuple[Action, ...]  # any one of them shows the page


PAGES = (
    PageSpec(assist.page, "nav_assist", "assist", (Action.READ,)),
    PageSpec(feed.page, "nav_feed", "feed", (Action.READ,)),
    PageSpec(practice.page, "nav_practice", "practice", (Action.READ,)),
    PageSpec(articles.page, "nav_articles", "articles", (Action.VIEW_DRAFTS,)),
    PageSpec(editor.page, "nav_editor", editor.PAGE_PATH, (Action.EDIT,)),
    PageSpec(review_queue.page, "nav_review", "review", (Action.APPROVE, Action.PUBLISH)),
    PageSpec(hittest.page, "nav_hittest", "hittest", (Action.VIEW_DRAFTS,)),
    PageSpec(insights.page, "nav_insights", "insights", (Action.VIEW_DRAFTS,)),
    PageSpec(history.page, "nav_history", "history", (Action.VIEW_DRAFTS,)),
)


def visible_pages(user: SignedIn) -> list[PageSpec]:
    """The pages the user's roles allow, in menu order."""
    return [p for p in PAGES if any(user.has(a) for a in p.actions)]


def _sidebar(user: SignedIn) -> int:
    """The signed-in line, the unread-changes notice and sign-out; returns the number of
    unread must-read changes."""
    st.sidebar.caption(t("signed_in_as", name=user.display_name, roles=role_names(user)))
    must_read = feed.unread_notice(user) if user.has(Action.READ) else 0
    if user.has(Action.EDIT):
        unsaved = editor_state.has_unsaved(user.name)
        if unsaved is not None:
            st.sidebar.warning(t("sidebar_unsaved", title=unsaved))
    reminders.sidebar(user)
    if st.sidebar.button(t("sign_out"), key="sign_out"):
        sign_out()
        st.rerun()
    return must_read


def _default_path(pages: list[PageSpec], must_read: int) -> str:
    """The page shown first: the change feed while must-read changes are unread."""
    paths = [p.path for p in pages]
    return "feed" if must_read and "feed" in paths else paths[0]


def main() -> None:
    """Build the navigation for the signed-in user (or the sign-in page) and run it."""
    st.set_page_config(page_title=t("app_title"), page_icon="📚", layout="wide")
    language_switch()
    warm_up_in_background()
    user = current_user()
    write_pending_cookie()
    if user is None:
        pages = [st.Page(signin.page, title=t("nav_signin"), url_path="signin", default=True)]
    else:
        must_read = _sidebar(user)
        visible = visible_pages(user)
        first = _default_path(visible, must_read)
        pages = [
            st.Page(p.func, title=t(p.title), url_path=p.path, default=p.path == first)
            for p in visible
        ]
    st.navigation(pages).run()
