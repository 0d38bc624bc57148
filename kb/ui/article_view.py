"""An article opened from a link on the assist page (``?article=<id>``).

Every citation and result on the assist page links to ``?article=<id>``; a link opens a
new tab (the session cookie signs it in) where this module shows the article's
published version whole: title, badges, metadata and escaped text.
"""

from __future__ import annotations

from urllib.parse import quote

import streamlit as st

from kb.store.articles import published_version
from kb.store.tables import ArticleVersion
from kb.ui import render
from kb.ui.i18n import resolve, t
from kb.ui.services import services

QUERY_PARAM = "article"


def article_link(article_id: str) -> str:
    """The relative URL that opens ``article_id`` on the assist page."""
    return f"?{QUERY_PARAM}={quote(article_id, safe='')}"


def show_link(article_id: str, lang: str | None = None) -> None:
    """A Markdown link that opens the article (in a new tab)."""
    st.markdown(f"[{t('open_article', lang=lang)}]({article_link(article_id)})")


def published(article_id: str) -> tuple[ArticleVersion, str] | None:
    """The published version of ``article_id`` and the article's type (None if it has no
    published version)."""
    with services().session() as session:
        row = published_version(session, article_id)
        return None if row is None else (row, row.article.type)


def show_requested_article() -> bool:
    """Show the article the URL asks for, if any; True when the URL asked for one."""
    article_id = st.query_params.get(QUERY_PARAM)
    if not article_id:
        return False
    found = published(article_id)
    if found is None:
        st.warning(t("article_not_found", id=article_id))
        return True
    row, article_type = found
    lang = resolve(row.lang)
    st.subheader(t("opened_article", lang=lang, title=row.title, id=row.article_id))
    render.show_badges(
        render.badges(
            audience=row.audience,
            effective_to=row.effective_to,
            review_due=row.review_due,
            lang=lang,
        )
    )
    st.caption(
        render.meta_line(article_type, row.version, row.effective_from, row.effective_to, lang)
    )
    if row.question:
        st.caption(t("standard_question", lang=lang, question=row.question))
    render.show_article(row.body)
    if st.button(t("close_article", lang=lang), key="as_close_article"):
        del st.query_params[QUERY_PARAM]
        st.rerun()
    st.divider()
    return True
