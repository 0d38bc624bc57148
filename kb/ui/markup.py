"""User text shown literally in Streamlit's Markdown: the one escaping helper of the app.

Streamlit renders Markdown in far more places than ``st.markdown``: titles, headers,
captions, alerts, expander and button labels, radio options and badges all accept
it, and images in it are fetched by the browser. Every piece of text a user or an
article supplied (titles, ids, questions, comments, names, error messages quoting
them) goes through ``md_text`` before it reaches one of those; ``kb.ui.i18n.t``
applies it to every value it fills into a translated message. Article bodies shown
as rendered Markdown go through ``md_body``, which keeps the formatting but turns
images into their alt text and links into plain ``text (address)``. HTML never needs
this: ``kb.ui.render`` escapes it.
"""

from __future__ import annotations

import re

#: Characters that start inline Markdown (emphasis, code, links, images, HTML,
#: strikethrough, maths, tables, Streamlit's ``:color[...]`` directives, entities).
INLINE_SPECIALS = frozenset("\\`*_[]()!<>~$|{}&")
#: What makes a line a heading, list item, quote, rule or setext underline.
_LINE_START = re.compile(r"^([ \t]*)([#>+=-]|\d+[.)])", re.MULTILINE)
#: ``![alt](...)`` / ``![alt][ref]`` (an image the browser would fetch) and ``[text](url)``.
_IMAGE_OR_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(([^)\n]*)\)|!\[([^\]\n]*)\](?:\[[^\]\n]*\])?")


def md_text(value: object) -> str:
    """``value`` as Markdown that displays exactly its characters (nothing renders)."""
    text = "".join("\\" + ch if ch in INLINE_SPECIALS else ch for ch in str(value))
    return _LINE_START.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[0].isdigit():
        return f"{indent}{marker[:-1]}\\{marker[-1]}"
    return f"{indent}\\{marker}"


def md_body(markdown: str) -> str:
    """An article body for a rendered preview: formatting kept, images shown as their alt
    text and links as ``text (address)``, so a reviewer sees where a link points and no
    address is fetched."""
    return _IMAGE_OR_LINK.sub(_inert, markdown)


def _inert(match: re.Match[str]) -> str:
    bang, text, address, ref_alt = match.groups()
    if ref_alt is not None:  # ![alt][ref]
        return md_text(ref_alt)
    if bang:  # ![alt](address)
        return md_text(text)
    return md_text(f"{text} ({address})")
