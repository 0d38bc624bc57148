"""The kb Streamlit front end: ``streamlit run app.py``.

Signs the user in, then offers the pages their roles allow (st.navigation):
agent assist for everyone; the editor for authors; the review queue for
reviewers and publishers; hit test, insights and history for every editing
role. Settings, database, model and index load once per process
(``st.cache_resource``); the knowledge base is the one ``KB_HOME`` (or
``KB_CONFIG``) names, as for the CLI.
"""

from __future__ import annotations

import streamlit as st

from kb.ui import assist, editor, history, hittest, insights, review_queue, signin
from kb.ui.i18n import language_switch, t
from kb.ui.session import SignedIn, current_user, role_names, sign_out
from review.permissions import Action

# (page function, title key, url path, actions any of which shows the page)
PAGES = [
    (assist.page, "nav_assist", "assist", (Action.READ,)),
    (editor.page, "nav_editor", "editor", (Action.EDIT,)),
    (review_queue.page, "nav_review", "review", (Action.APPROVE, Action.PUBLISH)),
    (hittest.page, "nav_hittest", "hittest", (Action.VIEW_DRAFTS,)),
    (insights.page, "nav_insights", "insights", (Action.VIEW_DRAFTS,)),
    (history.page, "nav_history", "history", (Action.VIEW_DRAFTS,)),
]


def pages_for(user: SignedIn) -> list[st.Page]:
    """The pages the user's roles allow, in menu order."""
    return [
        st.Page(func, title=t(title), url_path=path, default=index == 0)
        for index, (func, title, path, actions) in enumerate(
            p for p in PAGES if any(user.has(a) for a in p[3])
        )
    ]


def sidebar(user: SignedIn) -> None:
    """Who is signed in, and the sign-out button."""
    st.sidebar.caption(t("signed_in_as", name=user.display_name, roles=role_names(user)))
    if st.sidebar.button(t("sign_out"), key="sign_out"):
        sign_out()
        st.rerun()


def main() -> None:
    """Build the navigation for the signed-in user (or the sign-in page) and run it."""
    st.set_page_config(page_title=t("app_title"), page_icon="🐳", layout="wide")
    language_switch()
    user = current_user()
    if user is None:
        pages = [st.Page(signin.page, title=t("nav_signin"), url_path="signin", default=True)]
    else:
        sidebar(user)
        pages = pages_for(user)
    st.navigation(pages).run()


main()
