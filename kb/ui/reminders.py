"""On sign-in, owners see their articles due for review, expired or expiring soon.

``review.queries.stale_articles`` for the articles whose owner is the user (by name or
display name, any case), read once per browser session and shown in the sidebar with
links to each article's history (where it can be archived) and editor.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import streamlit as st

from kb.ui.i18n import t
from kb.ui.markup import md_text
from kb.ui.services import run
from kb.ui.session import SignedIn
from review import queries
from review.permissions import Action

DAYS = 30
SHOWN = 5
KEY = "kb_owner_reminders"


def due_for(user: SignedIn) -> list[dict[str, Any]]:
    """The user's stale articles (read once per session)."""
    if KEY not in st.session_state:
        owners = tuple(dict.fromkeys((user.name, user.display_name)))
        found = run(lambda s: queries.stale_articles(s, user.name, DAYS, owners=owners))
        st.session_state[KEY] = found or []
    return list(st.session_state[KEY])


def sidebar(user: SignedIn) -> None:
    """A sidebar note listing the user's articles that need attention, if any."""
    if not user.has(Action.VIEW_DRAFTS):
        return
    due = due_for(user)
    if not due:
        return
    lines = [t("owner_due", n=len(due), days=DAYS)]
    for item in due[:SHOWN]:
        article = quote(item["article_id"], safe="")
        lines.append(f"- [{md_text(item['title'])}](history?article={article})")
    if len(due) > SHOWN:
        lines.append(t("owner_due_more", n=len(due) - SHOWN))
    st.sidebar.warning("\n".join(lines))
