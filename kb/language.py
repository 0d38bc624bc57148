"""The language of a question or a text, and how kb compares languages.

kb serves Chinese and English knowledge bases, often mixed (an English translation beside
a Chinese original, English-only articles among Chinese ones). The bundled multilingual
model places a question closer to texts in its own language whatever they say, and BM25
only matches words of the question's language; retrieval, fusion and confidence therefore
need to know the question's language (``kb.search.crosslang``).

- ``detect_language``: ``zh`` when more than a fifth of the letters are CJK characters
  (Simplified or Traditional), ``en`` when there are letters and fewer CJK ones, ``""``
  when there are no letters at all (digits, an order number).
- ``base_language``: the primary sub-tag (``zh-Hant`` -> ``zh``): Traditional Chinese is
  Chinese here, as the query normaliser maps it to Simplified anyway.
"""

from __future__ import annotations

import re

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
#: Share of CJK characters among the letters above which a text is Chinese.
CJK_SHARE = 0.2


def detect_language(text: str, sample: int = 2000) -> str:
    """``zh``, ``en`` or ``""`` (no letters) for ``text`` (its first ``sample`` characters)."""
    head = text[:sample]
    letters = sum(ch.isalpha() for ch in head)
    if not letters:
        return ""
    return "zh" if len(CJK.findall(head)) / letters > CJK_SHARE else "en"


def base_language(tag: object) -> str:
    """The primary sub-tag of a language tag, lower case (``zh-Hant`` -> ``zh``)."""
    return str(tag or "").strip().lower().split("-")[0]
