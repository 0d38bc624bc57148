"""Golden questions in the app: the checker the app's publishing uses, and the golden
section of the review queue (what a version would fix, break or move).

The checker is the app's shared searcher with ingest's in-memory shadow index
(``ingest.shadow``); it is registered with ``kb.quality.golden_check`` so that publishing from the
app goes through the same gate as ``kb publish``. A version's report is cached per
version content and live index version.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ingest.shadow import ShadowIndexer
from kb.errors import KbError
from kb.quality.golden_check import CheckReport, GoldenChecker, Outcome
from kb.store.articles import get_version
from kb.ui.i18n import t
from kb.ui.markup import md_text
from kb.ui.search import searcher
from kb.ui.services import environment_key, services
from review import golden

OUTCOMES = (Outcome.BROKEN, Outcome.FIXED, Outcome.MOVED)


@st.cache_resource(show_spinner=False)
def _checker(key: tuple[str, str, str]) -> GoldenChecker:
    shared = services()
    shadow = ShadowIndexer(shared.config, resources=shared.runtime.resources)
    return GoldenChecker(searcher(), shadow)


def app_checker() -> GoldenChecker:
    """The app's golden checker for the current knowledge base (built once, cached)."""
    return _checker(environment_key())


@st.cache_resource(show_spinner=False, max_entries=32)
def _report(
    key: tuple[str, str, str], article_id: str, version: int, content_hash: str, live: str
) -> CheckReport | None:
    """The golden check of one version, per content (``content_hash``) and live index."""
    with services().session() as session:
        return golden.check(
            session, get_version(session, article_id, version), services().runtime.golden_checker
        )


def version_report(article_id: str, version: int) -> CheckReport | None:
    """The golden check of a stored version (None when no index is live yet)."""
    with services().session() as session:
        content_hash = get_version(session, article_id, version).content_hash
    try:
        live = searcher().snapshot().version
    except KbError:
        return None
    return _report(environment_key(), article_id, version, content_hash, live)


def _table(report: CheckReport, outcome: Outcome, lang: str) -> pd.DataFrame:
    rows = [
        {
            t("question", lang=lang): c.golden.question,
            t("golden_expected", lang=lang): ", ".join(c.golden.expected),
            t("golden_before", lang=lang): c.before or "—",
            t("golden_after", lang=lang): c.after or "—",
            t("golden_source", lang=lang): t("golden_source_" + c.golden.source, lang=lang),
        }
        for c in report.of(outcome)
    ]
    return pd.DataFrame(rows)


def golden_section(article_id: str, version: int, lang: str) -> CheckReport | None:
    """Show what publishing this version would do to the golden answers; the report."""
    st.markdown(f"**{md_text(t('golden_title', lang=lang))}**")
    try:
        with st.spinner(t("golden_running", lang=lang)):
            report = version_report(article_id, version)
    except KbError as exc:
        st.error(t("error", lang=lang, message=exc.message))
        return None
    if report is None:
        st.caption(t("golden_no_index", lang=lang))
        return None
    counts = {str(o): len(report.of(o)) for o in OUTCOMES}
    summary = t("golden_summary", lang=lang, checked=report.checked, **counts)
    if report.broken:
        st.error(summary)
    else:
        st.caption(summary)
    for outcome in OUTCOMES:
        if report.of(outcome):
            st.caption(t("golden_" + str(outcome), lang=lang))
            st.dataframe(_table(report, outcome, lang), hide_index=True, width="stretch")
    return report
