"""Contradictions on the review page (and for the author after submitting): the
published statements a version contradicts, both sentences side by side
(``review.queries.version_conflicts``, ``kb.quality.contradictions``)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from kb.ui.i18n import t
from kb.ui.markup import md_text
from kb.ui.services import run
from kb.ui.session import SignedIn
from review import queries


def version_conflicts(user: SignedIn, article_id: str, version: int) -> list[dict[str, Any]]:
    """The contradictions of one version with published articles ([] if it cannot tell)."""
    found = run(lambda s: queries.version_conflicts(s, user.name, article_id, version))
    return found or []


def show_conflicts(
    items: list[dict[str, Any]], lang: str | None = None, heading: str = "conflicts_found"
) -> None:
    """A warning (text ``heading``), then each contradiction as two columns: this version,
    the published one."""
    if not items:
        return
    st.warning(t(heading, lang=lang, n=len(items)))
    for item in items:
        st.caption(
            t(
                "conflict_about",
                lang=lang,
                kind=t(f"figure_kind_{item['kind']}", lang=lang),
                about=", ".join(item["about"][:3]),
            )
        )
        ours, theirs = st.columns(2)
        with ours:
            st.markdown(
                f"**{md_text(item['figure'])}** · {md_text(item['article_id'])} "
                f"v{item['version']}\n\n{md_text(item['sentence'])}"
            )
        with theirs:
            st.markdown(
                f"**{md_text(item['other_figure'])}** · {md_text(item['other_article_id'])} "
                f"v{item['other_version']} ({t('conflict_published', lang=lang)})\n\n"
                f"{md_text(item['other_sentence'])}"
            )


def review_section(user: SignedIn, article_id: str, version: int, lang: str) -> None:
    """The contradictions section of one version on the review page."""
    show_conflicts(version_conflicts(user, article_id, version), lang)
