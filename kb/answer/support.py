"""Is a generated sentence supported by the passages it cites? A check of content, not markers.

An LLM that rewrites a grounded reply may keep a valid ``[1]`` after a sentence it
invented. ``supports`` accepts a sentence only when

* every figure in it (amounts, durations, percentages, counts, dates; Arabic, full-width
  or Chinese numerals: ``7``, ``７``, ``七``, ``十五``, ``1,000``) occurs among the figures
  of the cited passages, and every Latin-script name or acronym (``VIP``, ``Apple``)
  occurs in them, and
* when the sentence is written in the passages' script, most of its wording comes from
  them: at least ``MIN_OVERLAP`` of its content units (Chinese character pairs, Latin
  words) occur in the passages.

A sentence in another language than its passages (an English reply from Chinese
articles) is judged by its figures and names alone: wording cannot be compared across
languages without a translation model.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kb.text import to_simplified

#: The least share of a sentence's content units that must occur in its passages.
MIN_OVERLAP = 0.5

_CHINESE_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CHINESE_DIGIT |= {"六": 6, "七": 7, "八": 8, "九": 9}
_CHINESE_UNIT = {"十": 10, "百": 100, "千": 1000}
_CHINESE_NUMBER = re.compile("[零〇一二两三四五六七八九十百千万]+")
_ARABIC_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
#: Capitalised or upper-case words that name nothing (they need not occur in the passages).
_COMMON_WORDS = frozenset({"i", "ok", "am", "pm", "dear", "hello", "hi"})


@dataclass(frozen=True)
class Support:
    """Whether a sentence is supported, and if not, why (for the report and the log)."""

    ok: bool
    reason: str = ""


def chinese_number_value(text: str) -> int | None:
    """The value of a Chinese numeral (``十五`` 15, ``二百零五`` 205, ``三万`` 30000), or None."""
    if not text or any(
        c not in _CHINESE_DIGIT and c not in _CHINESE_UNIT and c != "万" for c in text
    ):
        return None
    total = section = digit = 0
    for char in text:
        if char in _CHINESE_DIGIT:
            digit = _CHINESE_DIGIT[char]
        elif char in _CHINESE_UNIT:
            section += (digit or 1) * _CHINESE_UNIT[char]
            digit = 0
        else:  # 万
            total += (section + digit) * 10_000
            section = digit = 0
    return total + section + digit


def figures(text: str) -> set[str]:
    """The numbers in ``text`` as canonical strings (``1,000`` and ``一千`` are ``1000``)."""
    normal = unicodedata.normalize("NFKC", text)
    found = {_canonical(m[0].replace(",", "")) for m in _ARABIC_NUMBER.finditer(normal)}
    for match in _CHINESE_NUMBER.finditer(normal):
        value = chinese_number_value(match[0])
        if value is not None and not (match[0] in ("一", "两") and _is_article(normal, match)):
            found.add(str(value))
    return found


def _is_article(text: str, match: re.Match[str]) -> bool:
    """``一`` or ``两`` as an article ("一个", "一下", "两者"), not a figure worth checking."""
    return text[match.end() : match.end() + 1] in ("下", "些", "起", "直", "般", "样", "者", "旦")


def _canonical(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else str(int(number))


def names(text: str) -> set[str]:
    """Latin-script names and terms (lower case): capitalised words other than a sentence's
    first word, and acronyms (``VIP``, ``SF Express``, ``Apple``)."""
    normal = unicodedata.normalize("NFKC", text)
    found = set()
    for match in _LATIN_WORD.finditer(normal):
        word = match[0]
        first = not normal[: match.start()].strip(" \"'“‘(（")
        acronym = len(word) >= 2 and word.isupper()
        if acronym or (word[0].isupper() and not first and len(word) >= 3):
            found.add(word.lower())
    return found - _COMMON_WORDS


def units(text: str) -> set[str]:
    """Content units: pairs of adjacent Chinese characters (Simplified) and Latin words."""
    normal = to_simplified(unicodedata.normalize("NFKC", text)).lower()
    pairs = set()
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff]+", normal):
        pairs |= {run[i : i + 2] for i in range(len(run) - 1)} if len(run) > 1 else {run}
    return pairs | {w for w in _LATIN_WORD.findall(normal) if len(w) >= 2}


def _mostly_chinese(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(bool(_HAN.match(c)) for c in letters) * 2 >= len(letters)


def supports(sentence: str, passages: list[str]) -> Support:
    """Whether ``passages`` (the texts the sentence cites) support ``sentence``."""
    source = "\n".join(passages)
    missing = figures(sentence) - figures(source)
    if missing:
        return Support(False, "figure not in its passages: " + ", ".join(sorted(missing)))
    absent = names(sentence) - {w.lower() for w in _LATIN_WORD.findall(source)}
    if absent:
        return Support(False, "name not in its passages: " + ", ".join(sorted(absent)))
    if _mostly_chinese(sentence) != _mostly_chinese(source):
        return Support(True)  # another language: figures and names are all we can compare
    own = units(sentence)
    if not own:
        return Support(True)
    overlap = len(own & units(source)) / len(own)
    if overlap < MIN_OVERLAP:
        return Support(False, f"wording not from its passages ({overlap:.0%} shared)")
    return Support(True)
