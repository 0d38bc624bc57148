"""Showing article text safely: escaped HTML, highlighted passages, badges, a copy button.

Article text is never handed to Streamlit as trusted HTML. Where the app needs
markup of its own (a highlighted passage, ``[n]`` markers), every piece of
article text goes through ``html.escape`` first and the result is shown with
``st.html``, which sanitises once more (scripts and event handlers removed).
Markdown previews use ``st.markdown`` without ``unsafe_allow_html``, which shows
HTML tags as text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import streamlit as st

from kb.ui.i18n import t
from kb.ui.markup import md_text

EXPIRES_SOON_DAYS = 30
MARKER = re.compile(r"\[(\d{1,3})\]")
ARTICLE_CSS = (
    "white-space:pre-wrap;line-height:1.7;border:1px solid #ddd;border-radius:6px;"
    "padding:0.75rem;max-height:24rem;overflow:auto;background:#fafafa"
)
MARK_CSS = "background:#ffe066;padding:0 2px;border-radius:2px"


def type_label(article_type: str, lang: str | None = None) -> str:
    """'政策' / 'Policy' and so on for an article type."""
    key = f"type_{article_type}"
    return t(key, lang=lang) if key in _TYPE_KEYS else article_type


_TYPE_KEYS = {"type_policy", "type_regulation", "type_faq"}


def locate(text: str, passage: str, start: int | None, end: int | None) -> tuple[int, int] | None:
    """The span of ``passage`` in ``text``: the given one if it matches, else the first match."""
    given = start is not None and end is not None and 0 <= start < end <= len(text)
    if given and (not passage or text[start:end] == passage):
        return start, end  # type: ignore[return-value]  # ``given`` says both are ints
    if passage:
        found = text.find(passage)
        if found >= 0:
            return found, found + len(passage)
    return None


def highlighted_html(
    text: str, span: tuple[int, int] | None, anchor: str = "", more: Sequence[tuple[int, int]] = ()
) -> str:
    """The article text as escaped HTML with ``span`` (and the ``more`` spans, such as the
    other cited sentences of the article) wrapped in ``<mark>``."""
    spans = sorted({*([span] if span else []), *more})
    parts, last = [], 0
    for a, b in spans:
        if a < last:
            continue  # overlapping spans: the first one wins
        parts.append(html.escape(text[last:a]))
        parts.append(f'<mark style="{MARK_CSS}">' + html.escape(text[a:b]) + "</mark>")
        last = b
    parts.append(html.escape(text[last:]))
    inner = "".join(parts)
    ident = f' id="{html.escape(anchor)}"' if anchor else ""
    return f'<div class="kb-article"{ident} style="{ARTICLE_CSS}">{inner}</div>'


def show_article(
    text: str, span: tuple[int, int] | None = None, more: Sequence[tuple[int, int]] = ()
) -> None:
    """Show article text (inert) with optional highlighted spans."""
    st.html(highlighted_html(text, span, more=more))


def reply_html(reply: str, titles: dict[int, str], anchor: str = "kb-cite-") -> str:
    """The suggested reply as escaped HTML; ``[n]`` markers become labelled links to
    ``#<anchor><n>`` (one anchor per reply part when a page shows several)."""
    parts = []
    last = 0
    for match in MARKER.finditer(reply):
        parts.append(html.escape(reply[last : match.start()]))
        n = int(match.group(1))
        title = html.escape(titles.get(n, ""), quote=True)
        parts.append(
            f'<a class="kb-marker" href="#{html.escape(anchor)}{n}" title="{title}" '
            f'style="text-decoration:none;font-weight:600"><sup>[{n}]</sup></a>'
        )
        last = match.end()
    parts.append(html.escape(reply[last:]))
    body = "".join(parts)
    return f'<div class="kb-reply" style="font-size:1.05rem;line-height:1.8">{body}</div>'


def _js_string(text: str) -> str:
    """``text`` as a JavaScript string literal that cannot end the surrounding script."""
    return (
        json.dumps(text, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def copy_button_html(text: str, key: str, label: str, done: str) -> str:
    """The copy button's document: ``text`` travels only as a JSON string literal."""
    ident = "copy-" + re.sub(r"[^A-Za-z0-9_-]", "", key)
    return f"""<button id="{ident}" style="padding:4px 12px;border:1px solid #bbb;
border-radius:6px;background:white;cursor:pointer;font-size:14px;
font-family:"Source Sans Pro","Source Sans 3",sans-serif">{html.escape(label)}</button>
<script>
const text = {_js_string(text)};
const button = document.getElementById("{ident}");
button.addEventListener("click", async () => {{
  try {{ await navigator.clipboard.writeText(text); }}
  catch (e) {{
    const area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand("copy"); area.remove();
  }}
  button.textContent = {_js_string(done)};
}});
</script>"""


def copy_button(text: str, key: str, label: str | None = None) -> None:
    """A button (labelled ``label``, default "copy reply") that copies ``text`` to the
    clipboard."""
    st.iframe(copy_button_html(text, key, label or t("copy"), t("copied")), height=42)


@dataclass(frozen=True)
class Badge:
    """A warning shown next to an article: its text and colour."""

    label: str
    color: Literal["violet", "orange", "red"]


def badges(
    *,
    audience: str | None,
    effective_to: date | None,
    review_due: date | None,
    today: date | None = None,
    lang: str | None = None,
) -> list[Badge]:
    """Badges for an article: internal, expires soon, review overdue."""
    today = today or date.today()
    found = []
    if audience == "internal":
        found.append(Badge(t("badge_internal", lang=lang), "violet"))
    if effective_to and today <= effective_to <= today + timedelta(days=EXPIRES_SOON_DAYS):
        found.append(Badge(t("badge_expires", lang=lang, date=effective_to.isoformat()), "orange"))
    if review_due and review_due < today:
        found.append(Badge(t("badge_overdue", lang=lang, date=review_due.isoformat()), "red"))
    return found


def show_badges(found: list[Badge]) -> None:
    """Show badges in one row."""
    if not found:
        return
    columns = st.columns(len(found) + 1)
    for column, badge in zip(columns, found, strict=False):
        with column:
            st.badge(badge.label, color=badge.color)


def meta_line(
    article_type: str,
    version: object,
    effective_from: object,
    effective_to: object,
    lang: str | None = None,
    section: str | None = None,
) -> str:
    """ "Policy · version 3 · Effective 2025-01-01 to open-ended" (and the section, if any),
    in ``lang``, as Markdown with every value escaped."""
    start = effective_from.isoformat() if isinstance(effective_from, date) else effective_from
    end = effective_to.isoformat() if isinstance(effective_to, date) else effective_to
    parts = [
        md_text(type_label(article_type, lang)),
        t("version_n", lang=lang, n=version),
        t("effective", lang=lang, start=start or "—", end=end or t("open_ended", lang=lang)),
    ]
    if section:
        parts.append(t("section", lang=lang, section=section))
    return " · ".join(str(p) for p in parts)


def parse_day(value: object) -> date | None:
    """A date from a date, an ISO string or None."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
