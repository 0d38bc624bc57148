"""Figures in article text: durations, amounts, percentages, multiples, weights, counts
and dates, each with the words around it (what it is a figure *of*).

``extract_figures(text)`` finds "7天内", "48 小时", "3个工作日", "500元", "1.5万元", "5%",
"百分之五", "3倍", "两倍", "30公斤", "3次", "2025年6月1日", Chinese numerals ("七天",
"十五日", "二十四小时") and plain English ("7 days", "48 hours", "5 working days") and
returns one ``Figure`` per match: its kind, its value in the kind's base unit (hours for
durations, working days kept apart, yuan, percent ...), whether it is a limit from above
("7天内", "最高500元", "为7天": ``upper``) or from below ("48小时以上", "至少3次":
``lower``), the sentence it is in, ``terms``: the content words of its clause (jieba),
which say what the figure qualifies (退货 + 期限 for "退货期限为7天"), and ``after``: those
that follow it in the clause, what it limits ("7天内可以申请退货": 申请, 退货).
``kb.quality.contradictions`` compares figures of different articles on that basis.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jieba

from kb.search.bm25 import jieba_dictionary

jieba.setLogLevel(logging.WARNING)

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
CN_DIGITS.update({"六": 6, "七": 7, "八": 8, "九": 9})
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUMBER = "[零〇一二两三四五六七八九十百千万]+"
NUMBER = rf"(?:\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|{CN_NUMBER})"

#: unit -> (kind, factor to the kind's base unit, base unit)
UNITS: dict[str, tuple[str, float, str]] = {
    "个工作日": ("duration", 1, "working day"),
    "工作日": ("duration", 1, "working day"),
    "working days": ("duration", 1, "working day"),
    "working day": ("duration", 1, "working day"),
    "business days": ("duration", 1, "working day"),
    "business day": ("duration", 1, "working day"),
    "个自然日": ("duration", 24, "hour"),
    "自然日": ("duration", 24, "hour"),
    "个小时": ("duration", 1, "hour"),
    "小时": ("duration", 1, "hour"),
    "hours": ("duration", 1, "hour"),
    "hour": ("duration", 1, "hour"),
    "分钟": ("duration", 1 / 60, "hour"),
    "minutes": ("duration", 1 / 60, "hour"),
    "天": ("duration", 24, "hour"),
    "日": ("duration", 24, "hour"),
    "days": ("duration", 24, "hour"),
    "day": ("duration", 24, "hour"),
    "个星期": ("duration", 168, "hour"),
    "星期": ("duration", 168, "hour"),
    "周": ("duration", 168, "hour"),
    "weeks": ("duration", 168, "hour"),
    "个月": ("duration", 720, "hour"),
    "months": ("duration", 720, "hour"),
    "年": ("duration", 8760, "hour"),
    "years": ("duration", 8760, "hour"),
    "万元": ("amount", 10_000, "yuan"),
    "元": ("amount", 1, "yuan"),
    "块钱": ("amount", 1, "yuan"),
    "块": ("amount", 1, "yuan"),
    "yuan": ("amount", 1, "yuan"),
    "%": ("percent", 1, "%"),
    "％": ("percent", 1, "%"),
    "倍": ("multiple", 1, "x"),
    "times": ("multiple", 1, "x"),
    "公斤": ("weight", 1, "kg"),
    "千克": ("weight", 1, "kg"),
    "kg": ("weight", 1, "kg"),
    "次": ("count", 1, "次"),
    "件": ("count", 1, "件"),
    "票": ("count", 1, "票"),
    "张": ("count", 1, "张"),
    "份": ("count", 1, "份"),
    "箱": ("count", 1, "箱"),
}
UNIT_PATTERN = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
RANGE = r"\s*(?:-|~|—|–|至|到)\s*"
FIGURE = re.compile(
    rf"(?P<pct>百分之(?P<pctnum>{NUMBER}))"
    rf"|(?P<num>{NUMBER})(?:{RANGE}(?P<hi>{NUMBER}))?\s?(?P<unit>{UNIT_PATTERN})(?![a-z])",
    re.IGNORECASE,
)
DATE = re.compile(
    r"(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]"
    r"|(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
)
SENTENCE_END = re.compile(r"[。！？；;!?\n]+|(?<=[a-z])\.\s")
CLAUSE_END = re.compile(r"[：（）()|]|(?<!\d):|:(?!\d)|,(?!\d{3})")  # not 08:00, 1,000
UPPER_BEFORE = ("最高", "不超过", "不得超过", "最多", "至多", "上限", "within", "up to", "最长")
UPPER_AFTER = ("以内", "之内", "内", "以下", "封顶", "为限")
LOWER_BEFORE = ("最低", "至少", "不少于", "不低于", "超过", "满", "over", "at least", "more than")
LOWER_AFTER = ("以上", "及以上", "起", "或以上")
#: words that carry no meaning of their own for deciding what a figure qualifies
STOP_TERMS = frozenset(
    """
    的 了 和 与 或 及 在 是 为 按 对 由 于 其 等 后 前 内 起 自 之 日 天 个 每 单 本
    以内 以上 以下 之内 之日起 之日 最高 最低 不超过 超过 不得 至少 不少 不低于 最多 至多 上限
    可以 可 须 需 需要 应 应当 将 会 能 我们 您 客户 以及 并 并且 但 如 如果 其中 一律
    the of and or to for in on at by within up over least more than is are be a an
    days day hours hour working business yuan times
    """.split()  # noqa: SIM905 (a readable table)
)


@dataclass(frozen=True)
class Figure:
    """One figure found in text, with what it qualifies."""

    kind: str
    value: tuple[float, ...]
    unit: str
    text: str
    bound: str
    sentence: str
    clause: str
    terms: frozenset[str]
    after: frozenset[str] = frozenset()

    def shown(self) -> str:
        """The figure as written ("7 天内")."""
        return self.text


def cn_to_number(text: str) -> float:
    """The value of a Chinese numeral ("十五" 15, "两万" 20000, "二十四" 24, "三" 3)."""
    total, section, digit = 0, 0, 0
    for char in text:
        if char in CN_DIGITS:
            digit = CN_DIGITS[char]
        elif char in CN_UNITS:
            section += (digit or 1) * CN_UNITS[char]
            digit = 0
        elif char == "万":
            total += (section + digit) * 10_000
            section, digit = 0, 0
    return float(total + section + digit)


def to_number(text: str) -> float:
    """A number written in digits (with thousands commas) or Chinese numerals."""
    if text[0].isdigit():
        return float(text.replace(",", ""))
    return cn_to_number(text)


def _bound(sentence: str, start: int, end: int) -> str:
    """``lower`` if the words around the figure make it a floor, else ``upper``."""
    before = sentence[max(0, start - 6) : start].lower().rstrip()
    after = sentence[end : end + 4].lower()
    if any(before.endswith(w) for w in LOWER_BEFORE) or after.startswith(LOWER_AFTER):
        return "lower"
    return "upper"


#: words jieba's dictionary splits but that name one thing (tiers, products, periods)
DOMAIN_WORDS = """
普通会员 银卡 金卡 钻石 铂金 黑金 白金 黄金会员 银卡会员 金卡会员 钻石会员 铂金会员 黑金会员
无理由 无理由退货 退货期限 退款期限 保价费 声明价值 工作日 自然日 闪赔 寄件券 运费险
到账 结案 回访 寄回 赔付 补贴 验收 揽收 派送 免运费
""".split()  # noqa: SIM905 (a readable table)


class _Overlay(dict[str, int]):
    """Word frequencies: its own entries over a shared dictionary it never changes."""

    def __init__(self, base: dict[str, int]) -> None:
        super().__init__()
        self._base = base

    def __missing__(self, key: str) -> int:
        return self._base[key]

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self._base

    def get(self, key: str, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        return self._base.get(key, default)


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    """A private jieba tokenizer with the domain words (the global one is left alone).

    Its dictionary is jieba's own as the search tokenizers share it
    (``kb.search.bm25.jieba_dictionary``), with the domain words over it (``_Overlay``): the
    same segmentation as a second copy of jieba's dictionary, without its ~75 MB (issue 16:
    one dictionary per process).
    """
    tokenizer = jieba.Tokenizer()
    words, total = jieba_dictionary()
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = _Overlay(words), total, True
    for word in DOMAIN_WORDS:
        tokenizer.add_word(word, freq=100_000)
    return tokenizer


@lru_cache(maxsize=4096)
def clause_terms(clause: str) -> frozenset[str]:
    """The content words of a clause (jieba; numbers, units and stop words dropped)."""
    words = set()
    for word in _tokenizer().lcut_for_search(clause.lower(), HMM=False):
        word = word.strip()
        if len(word) < 2 or word in STOP_TERMS or word in UNITS:
            continue
        if re.fullmatch(r"[\d.,%％\-~]+|[零〇一二两三四五六七八九十百千万]+", word):
            continue
        if not re.search(r"[\w]", word):
            continue
        words.add(word)
    return frozenset(words)


LABEL = re.compile(r"^[^,：:]{1,16}[：:]")


def _clause_around(sentence: str, start: int, end: int) -> str:
    """The clause holding the span: from the previous clause mark to the next one, after
    the sentence's label if it has one ("损毁、内件短少：自签收之日起 7 日内申请")."""
    left = max((m.end() for m in CLAUSE_END.finditer(sentence, 0, start)), default=0)
    right = CLAUSE_END.search(sentence, end)
    clause = sentence[left : right.start() if right else len(sentence)]
    label = LABEL.match(sentence)
    if label and left >= label.end() and not FIGURE.search(label.group()):
        return label.group()[:-1] + " " + clause
    return clause


def _sentence_figures(sentence: str) -> list[Figure]:
    found = []
    for match in DATE.finditer(sentence):
        year = match["y"] or match["iy"] or "0"
        month, day = match["m"] or match["im"], match["d"] or match["id"]
        day_value = (float(year), float(month), float(day))
        found.append(_figure(sentence, match.start(), match.end(), "date", day_value, "date"))
    masked = DATE.sub(lambda m: " " * len(m.group()), sentence)
    for match in FIGURE.finditer(masked):
        if _not_a_quantity(masked, match):
            continue
        value, kind, unit = _quantity(match)
        found.append(_figure(sentence, match.start(), match.end(), kind, value, unit))
    return found


def _quantity(match: re.Match[str]) -> tuple[tuple[float, ...], str, str]:
    """(value in the base unit, kind, base unit) of a matched figure."""
    if match["pct"]:
        return (to_number(match["pctnum"]),), "percent", "%"
    kind, factor, unit = UNITS[match["unit"].lower()]
    numbers = [match["num"], match["hi"]] if match["hi"] else [match["num"]]
    return tuple(round(to_number(n) * factor, 6) for n in numbers), kind, unit


def _not_a_quantity(sentence: str, match: re.Match[str]) -> bool:
    """A year ("2025年"), an ordinal ("第3次") or part of a longer number (a phone number)."""
    unit = (match["unit"] or "").lower()
    if unit in ("年", "years") and match["num"] and match["num"][0].isdigit():
        return to_number(match["num"]) >= 1000
    before = sentence[: match.start()].rstrip()
    return before.endswith(("第", "-", "×", "x", "*")) or bool(re.search(r"\d$", before))


def _figure(
    sentence: str, start: int, end: int, kind: str, value: tuple[float, ...], unit: str
) -> Figure:
    clause = _clause_around(sentence, start, end)
    return Figure(
        kind=kind,
        value=value,
        unit=unit,
        text=sentence[start:end].strip(),
        bound=_bound(sentence, start, end),
        sentence=sentence.strip(),
        clause=clause.strip(),
        terms=clause_terms(clause.replace(sentence[start:end], " ")),
        after=clause_terms(_after_in_clause(sentence, end)),
    )


def _after_in_clause(sentence: str, end: int) -> str:
    """The words after a figure up to the end of its clause ("内可以申请退货")."""
    right = CLAUSE_END.search(sentence, end)
    after = sentence[end : right.start() if right else len(sentence)]
    return re.sub(r"^\s*(?:以内|之内|以上|以下|内)", " ", after)


def sentences(text: str) -> list[str]:
    """The sentences of a text (split at 。！？；, line ends and English full stops)."""
    normal = unicodedata.normalize("NFKC", text)
    return [s for s in (p.strip(" -*#>|\t") for p in SENTENCE_END.split(normal)) if s]


def extract_figures(text: str) -> list[Figure]:
    """Every figure in ``text``, in order, with its clause's content words."""
    return [figure for sentence in sentences(text) for figure in _sentence_figures(sentence)]
