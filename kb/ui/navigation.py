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
    history,
    hittest,
    insights,
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


def _sidebar(user: SignedIn) -> None:
    st.sidebar.caption(t("signed_in_as", name=user.display_name, roles=role_names(user)))
    if user.has(Action.EDIT):
        unsaved = editor_state.has_unsaved(user.name)
        if unsaved is not None:
            st.sidebar.warning(t("sidebar_unsaved", title=unsaved))
    reminders.sidebar(user)
    if st.sidebar.button(t("sign_out"), key="sign_out"):
        sign_out()
        st.rerun()


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
        _sidebar(user)
        pages = [
            st.Page(p.func, title=t(p.title), url_path=p.path, default=n == 0)
            for n, p in enumerate(visible_pages(user))
        ]
    st.navigation(pages).run()
