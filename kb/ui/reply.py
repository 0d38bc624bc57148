"""The suggested reply on the assist page: the reply says what it is, and copies clean.

A reply that cites an internal-only article carries a banner saying it is internal
guidance, not for the customer, and its copy button says so too. A cited source that
is overdue for review or expires soon is named on the reply itself (its badge also
stays on the citation). A source that states another figure than the reply (``notes``,
``kb.answer.compose``) is named on the reply with its passage and a link. The copy button
copies the clean text (``kb.answer.replytext``: no ``[n]`` markers, with the greeting and
closing configured for the ``app`` channel in the question's language around it); the
marked reply with its citations stays on screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import streamlit as st

from kb.answer.replytext import sendable_text
from kb.store.tables import ArticleVersion
from kb.ui import article_view, render
from kb.ui.feedback import CHANNEL
from kb.ui.i18n import STRINGS, enumeration, t
from kb.ui.services import services


@dataclass
class ReplyNotes:
    """What the reply must say about its sources: internal citations and warnings."""

    internal: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def reply_notes(
    citations: list[dict[str, Any]],
    rows: dict[tuple, ArticleVersion],
    lang: str,
    today: date | None = None,
) -> ReplyNotes:
    """The internal citation numbers and the review / expiry warnings of a reply."""
    today = today or date.today()
    notes = ReplyNotes()
    for cite in citations:
        row = rows.get((cite["article_id"], cite.get("version")))
        n, title = int(cite["n"]), str(cite.get("title") or cite["article_id"])
        audience = row.audience if row is not None else cite.get("audience")
        if audience == "internal":
            notes.internal.append(n)
        review_due = row.review_due if row is not None else None
        if review_due and review_due < today:
            notes.warnings.append(
                t("reply_overdue", lang=lang, n=n, title=title, date=review_due.isoformat())
            )
        ends = row.effective_to if row is not None else render.parse_day(cite.get("effective_to"))
        if ends and today <= ends <= today + timedelta(days=render.EXPIRES_SOON_DAYS):
            notes.warnings.append(
                t("reply_expires", lang=lang, n=n, title=title, date=ends.isoformat())
            )
    return notes


def disagreement_notes(data: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """``(message, other article id)`` for each source that says otherwise than the reply."""
    numbers = {str(c["article_id"]): int(c["n"]) for c in data.get("citations") or []}
    out = []
    for note in data.get("notes") or []:
        other = note.get("other") or {}
        if note.get("kind") != "disagreement" or not other.get("article_id"):
            continue
        message = t(
            "reply_disagrees",
            lang=lang,
            n=numbers.get(str(note.get("article_id")), "?"),
            figure=note.get("figure", ""),
            title=other.get("title") or other["article_id"],
            id=other["article_id"],
            other_figure=note.get("other_figure", ""),
            passage=other.get("passage", ""),
        )
        out.append((message, str(other["article_id"])))
    return out


FIGURES = re.compile(r"confidence (?P<c>[\d.]+) is below (?P<th>[\d.]+)")


def handoff_reason(data: dict[str, Any], lang: str) -> str:
    """Why a suggestion was handed off, in ``lang`` (from the reason code; the English
    ``detail`` only for a code the catalogue does not know)."""
    code = str(data.get("reason") or "")
    detail = str(data.get("detail") or "")
    if f"handoff_{code}" not in STRINGS:
        return detail or code
    figures = FIGURES.search(detail)
    if code == "low_confidence" and figures:
        return t(
            "handoff_low_confidence_figures",
            lang=lang,
            c=float(figures["c"].rstrip(".")),
            th=float(figures["th"].rstrip(".")),
        )
    return t(f"handoff_{code}", lang=lang)


def show_reply(
    data: dict[str, Any],
    rows: dict[tuple, ArticleVersion],
    lang: str,
    key: str | None = None,
    anchor: str = "kb-cite-",
) -> None:
    """The reply (or the plain hand-off message) with its banner, warnings and copy button
    (``key``: the copy button's, unique on the page, default from the request id;
    ``anchor``: where its ``[n]`` links point, see ``render.reply_html``)."""
    if not data.get("answer"):
        st.warning(t("no_answer", lang=lang))
        reason = handoff_reason(data, lang)
        if reason:
            st.caption(t("reason", lang=lang, reason=reason))
        return
    citations = data.get("citations") or []
    notes = reply_notes(citations, rows, lang)
    st.subheader(t("suggested_reply", lang=lang))
    if notes.internal:
        cites = enumeration((f"[{n}]" for n in notes.internal), lang)
        st.error(t("reply_internal", lang=lang, n=len(notes.internal), cites=cites), icon="🔒")
    for warning in notes.warnings:
        st.warning(warning)
    for message, other_id in disagreement_notes(data, lang):
        st.warning(message, icon="⚖️")
        article_view.show_link(other_id, lang)
    titles = {int(c["n"]): str(c.get("title", "")) for c in citations}
    st.html(render.reply_html(data["answer"], titles, anchor))
    label = t("copy_internal", lang=lang) if notes.internal else t("copy", lang=lang)
    question = str(data.get("question") or "")
    text = sendable_text(data, services().config, channel=CHANNEL, question=question) or ""
    render.copy_button(text, key=key or data["request_id"][:12], label=label)
    st.caption(
        t("confidence", lang=lang, value=float(data.get("confidence") or 0))
        + " · "
        + t("latency", lang=lang, ms=data.get("latency_ms", 0))
    )
