"""A version's fields as a labelled table (``review.fields``), before and after.

Reviewers and publishers check audience, type, dates, owner, tags and the FAQ's
questions here, each under its name in the interface language: lists as lists,
unset dates as "not set", changed rows highlighted; the body follows as a
side-by-side diff (``kb.ui.diffview``). All article text is escaped.
"""

from __future__ import annotations

import html
from datetime import date

import streamlit as st

from kb.model import ArticleContent
from kb.ui.diffview import side_by_side_html
from kb.ui.i18n import language_name, t
from kb.ui.render import show_article, type_label
from review.diff import VersionDiff
from review.fields import FieldChange, FieldValue, body_diff, compare_fields

LABELS = {
    "title": "field_title",
    "type": "field_type",
    "audience": "field_audience",
    "lang": "field_lang",
    "translation_of": "field_translation_of",
    "owner": "field_owner",
    "tags": "label_tags",
    "effective_from": "field_effective_from",
    "effective_to": "field_effective_to",
    "review_due": "field_review_due",
    "question": "field_question",
    "similar_questions": "field_similar",
}
DATE_FIELDS = ("effective_from", "effective_to", "review_due")
CHANGED = "background:#fff4c2"
CELL = "border-bottom:1px solid #e5e5e5;padding:0.3rem 0.5rem;vertical-align:top"


def value_html(name: str, value: FieldValue, lang: str) -> str:
    """One field's value, formatted and escaped."""
    if isinstance(value, list):
        if not value:
            return "—"
        items = "".join(f"<li>{html.escape(v)}</li>" for v in value)
        return f'<ol style="margin:0;padding-left:1.2rem">{items}</ol>'
    if value is None:
        return html.escape(t("no_date", lang=lang)) if name in DATE_FIELDS else "—"
    if isinstance(value, date):
        return value.isoformat()
    if name == "type":
        return html.escape(type_label(value, lang))
    if name == "audience":
        return html.escape(t(f"audience_{value}", lang=lang))
    if name == "lang":
        return html.escape(language_name(value, lang))
    return html.escape(value) if value else "—"


def fields_html(
    changes: list[FieldChange], lang: str, *, new_article: bool, new_label: str = "new_version"
) -> str:
    """The table: field, (before,) after; changed rows highlighted when comparing."""
    head = [t("col_field", lang=lang)]
    if new_article:
        head.append(t("col_value", lang=lang))
    else:
        head += [t("old_version", lang=lang), t(new_label, lang=lang)]
    rows = ["<tr>" + "".join(f'<th style="{CELL}">{html.escape(h)}</th>' for h in head) + "</tr>"]
    for change in changes:
        style = CELL + (";" + CHANGED if change.changed and not new_article else "")
        cells = [html.escape(t(LABELS[change.name], lang=lang))]
        if not new_article:
            cells.append(value_html(change.name, change.old, lang))
        cells.append(value_html(change.name, change.new, lang))
        rows.append("<tr>" + "".join(f'<td style="{style}">{c}</td>' for c in cells) + "</tr>")
    return (
        '<table class="kb-fields" style="width:100%;border-collapse:collapse">'
        + "".join(rows)
        + "</table>"
    )


def show_comparison(
    old: ArticleContent | None,
    new: ArticleContent,
    lang: str,
    versions: tuple[int | None, int],
    new_label: str = "new_version",
) -> None:
    """The fields table, then the body: a diff against ``old``, or the whole new body."""
    changes = compare_fields(old, new)
    st.html(fields_html(changes, lang, new_article=old is None, new_label=new_label))
    st.markdown(f"**{t('label_body', lang=lang)}**")
    if old is None:
        show_article(new.body)
        return
    blocks = body_diff(old, new)
    if not any(b.kind != "equal" for b in blocks):
        st.caption(t("body_unchanged", lang=lang))
        show_article(new.body)
        return
    diff = VersionDiff(new.id, versions[0] or 0, versions[1], "", "", blocks)
    st.html(side_by_side_html(diff, t("old_version", lang=lang), t(new_label, lang=lang)))
