"""Pure text functions shared by ingest, retrieval and evaluation.

Nothing here keeps state except the OpenCC converter, built once per process.

- ``strip_pinyin_annotations``: drop the ``(xùn)`` annotations scraped pages put after
  Chinese characters, keeping real parenthesised content.
- ``to_simplified``: Traditional -> Simplified Chinese (OpenCC ``t2s``).
- ``normalize_for_matching``: the form BM25, the embedder and queries are matched in.
- ``normalize_for_eval``: the exact rule of ``../shared/eval/README.md``.

Personal-data masking lives in ``kb.privacy``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import opencc

# --- pinyin annotations -------------------------------------------------------------------

#: Every syllable of Hanyu Pinyin, without tones (ü also written v).
PINYIN_SYLLABLES = frozenset(
    """
    a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu
    pa pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu
    ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu
    fa fan fang fei fen feng fo fou fu
    da dai dan dang dao de dei den deng di dia dian diao die ding diu dong dou du duan dui dun duo
    ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo
    na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan
    nun nuo nü nüe nv nve
    la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou lu luan
    lun luo lü lüe lv lve
    ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo
    ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo
    ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo
    ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun
    qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun
    xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun
    zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang
    zhui zhun zhuo
    cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui
    chun chuo
    sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui
    shun shuo
    ra ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo
    za zai zan zang zao ze zei zen zeng zi zong zou zu zuan zui zun zuo
    ca cai can cang cao ce cen ceng ci cong cou cu cuan cui cun cuo
    sa sai san sang sao se sen seng si song sou su suan sui sun suo
    ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun
    wa wai wan wang wei wen weng wo wu
    e ei en eng er o ou ê m n ng hm hng
    """.split()  # noqa: SIM905 (a readable table)
)

#: One or more syllables written together ("jīgòu"), longest alternatives first.
_SYLLABLE_RUN = re.compile("(?:" + "|".join(sorted(PINYIN_SYLLABLES, key=len, reverse=True)) + ")+")
_TONE_MARKS = "\u0300\u0301\u0304\u030c"  # grave, acute, macron, caron (NFD)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_PINYIN_LETTERS = "a-zA-ZüāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿêĀÁǍÀĒÉĚÈĪÍǏÌŌÓǑÒŪÚǓÙǕǗǙǛÜ" + _TONE_MARKS
#: A bracket right after a Han character (spaces allowed) holding only letters,
#: tone marks and separators; whether it really is pinyin is decided in code.
_ANNOTATION = re.compile(
    rf"(?<=[{_HAN}])[ \t\u3000]*[(（][ \t\u3000]*"
    rf"([{_PINYIN_LETTERS}]+(?:[ \t\u3000'’·-]+[{_PINYIN_LETTERS}]+)*)"
    r"[ \t\u3000]*[)）]"
)


def is_pinyin(candidate: str) -> bool:
    """True if ``candidate`` is tone-marked Hanyu Pinyin ("xùn", "jī gòu", "xī'ān").

    At least one tone mark is required, so English words and acronyms in brackets
    ("VIP", "eap", "book") are never taken for pinyin.
    """
    decomposed = unicodedata.normalize("NFD", candidate.lower())
    if not any(mark in decomposed for mark in _TONE_MARKS):
        return False
    plain = decomposed.replace("u\u0308", "ü").replace("e\u0302", "ê")
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    parts = [p for p in re.split(r"[\s'’·-]+", plain) if p]
    return bool(parts) and all(_SYLLABLE_RUN.fullmatch(p) for p in parts)


def strip_pinyin_annotations(text: str) -> str:
    """Remove pinyin annotations after Chinese characters: ``培訓(xùn)`` -> ``培訓``.

    Handles ASCII and full-width brackets, spaces inside or before the brackets,
    several syllables and decomposed tone marks. Bracketed content that is not
    tone-marked pinyin (``(一)``, ``（普通咨询）``, ``(VIP)``, ``(2024)``) is kept.
    """
    while True:  # again, for an annotation that follows a removed one: 訓(xùn)(xùn)
        stripped = _ANNOTATION.sub(lambda m: "" if is_pinyin(m.group(1)) else m.group(0), text)
        if stripped == text:
            return text
        text = stripped


# --- Traditional -> Simplified ------------------------------------------------------------


@lru_cache(maxsize=1)
def _t2s() -> Callable[[str], str]:
    """The OpenCC Traditional -> Simplified converter, built once per process."""
    return opencc.OpenCC("t2s").convert


def to_simplified(text: str) -> str:
    """Convert Traditional Chinese to Simplified (OpenCC ``t2s``); other text is unchanged."""
    return _t2s()(text) if text else text


# --- normalisation ------------------------------------------------------------------------


def normalize_for_matching(text: str) -> str:
    """The form text is indexed and queried in (not for display).

    Unicode NFKC, pinyin annotations removed, Traditional -> Simplified, lower case,
    runs of whitespace collapsed to one space and the ends stripped.
    """
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(strip_pinyin_annotations(text))
    return " ".join(text.lower().split())


def normalize_for_eval(text: str) -> str:
    """The evaluation rule: NFKC, Traditional -> Simplified, pinyin annotations removed,
    all whitespace removed (``../shared/eval/README.md``)."""
    text = to_simplified(unicodedata.normalize("NFKC", text))
    return "".join(strip_pinyin_annotations(text).split())


# --- questions -------------------------------------------------------------------------

#: A question must contain at least one letter or digit of a script kb serves
#: (Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai, CJK, kana, Hangul,
#: full-width forms). Written as a plain regex so the HTTP API can declare the
#: same rule in its OpenAPI schema.
QUESTION_PATTERN = (
    "[0-9A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff"
    "\u0900-\u097f\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]"
)
_QUESTION_RE = re.compile(QUESTION_PATTERN)


def has_words(text: str) -> bool:
    """True when ``text`` holds at least one letter or digit (see ``QUESTION_PATTERN``)."""
    return _QUESTION_RE.search(text) is not None


def is_encodable(text: str) -> bool:
    """True when ``text`` is valid Unicode: no unpaired surrogate (``"\\ud800"``, which JSON
    and ``surrogateescape`` can produce and which no encoder nor the converters take)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def date_text(value: Any) -> str | None:
    """A date from chunk meta (a date or ISO text) as ``YYYY-MM-DD`` text, or None."""
    if value in (None, ""):
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]
