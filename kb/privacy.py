"""Personal data in free text: find it, and replace it with tags such as ``[手机号]``.

Everything kb stores or logs from a caller (questions in the query log, feedback
comments, the channel, the server log line) goes through ``mask_personal_data``.

How it works: the text is put in a *matching form*, character for character: each
character NFKC-normalised (full-width digits, letters, ``＠``, ``（）`` become ASCII),
every dash read as ``-``, a tab or a run of blanks as one space, invisible characters
(zero-width space, joiners) left out, and runs of seven or more Chinese digits
(一三八…, 幺, 〇, 壹贰叁…) turned into digits. The detectors run on that form; each span
found is mapped back to the original text and replaced there by its tag, so the rest of
the text stays as the person wrote it (full-width punctuation included).

Classes (tag): e-mail ``[邮箱]``, waybill/order numbers ``[单号]`` (setting
``mask_reference_numbers``, extra patterns in ``reference_number_patterns``), passport
numbers ``[护照号]``, mobile numbers ``[手机号]``, landlines ``[电话]``, ID card numbers
(18 and 15 digits) ``[身份证号]``, bank card numbers ``[银行卡号]``, QQ numbers and
WeChat ids after QQ/微信 ``[账号]``, addresses ``[地址]`` and names in labelled fields
(``姓名：张三``, ``Name: John Smith``) ``[姓名]``; Hong Kong, Macau and Taiwan ID numbers
and travel permits join ``[身份证号]``; and any other number of six or more digits that a
word names as a code, password, account or room (验证码, 取件码, 门禁, 房号, 账号, 会员卡号,
code, PIN, account number…) ``[号码]``: a credential or an identifier, never an amount.
Earlier classes win where spans overlap. Names in running text are not masked: no rule
tells a name from an ordinary word reliably enough (docs/privacy.md).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb.errors import ConfigError

if TYPE_CHECKING:
    from kb.config import Config

TAGS: dict[str, str] = {
    "email": "[邮箱]",
    "reference": "[单号]",
    "passport": "[护照号]",
    "account": "[账号]",
    "mobile": "[手机号]",
    "landline": "[电话]",
    "id": "[身份证号]",
    "card": "[银行卡号]",
    "address": "[地址]",
    "name": "[姓名]",
    "number": "[号码]",
}


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: ``text[start:end]`` of class ``kind`` (a key of TAGS)."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class MaskingPolicy:
    """What is masked beyond the fixed classes: waybill/order numbers and extra patterns."""

    mask_reference_numbers: bool = True
    reference_number_patterns: str = ""

    def extra_pattern(self) -> re.Pattern[str] | None:
        """The compiled extra reference pattern, or None; ValueError if it is not a regex."""
        if not self.reference_number_patterns.strip():
            return None
        try:
            return re.compile(self.reference_number_patterns)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None


_active = MaskingPolicy()


@functools.lru_cache(maxsize=16)
def _compiled_extra(policy: MaskingPolicy) -> re.Pattern[str] | None:
    """``policy.extra_pattern()``, compiled once per policy (a pure function of it)."""
    return policy.extra_pattern()


def configure_masking(policy: MaskingPolicy) -> None:
    """Set the process-wide policy (done from the settings at start); ValueError if bad.

    The policy is a setting every log line is masked by, logging filters included, so it
    stays process-wide; its compiled pattern is derived from it, not kept beside it."""
    global _active
    _compiled_extra(policy)  # a bad pattern raises here, before the policy is used
    _active = policy


def configure_masking_from(settings: Config) -> None:
    """Apply the masking settings of a ``kb.config.Config``; ConfigError naming a bad one."""
    policy = MaskingPolicy(
        mask_reference_numbers=settings.mask_reference_numbers,
        reference_number_patterns=settings.reference_number_patterns,
    )
    try:
        configure_masking(policy)
    except ValueError as exc:
        raise ConfigError(f"setting 'reference_number_patterns': {exc}") from None


def active_policy() -> MaskingPolicy:
    """The policy ``mask_personal_data`` applies."""
    return _active


# --- the matching form ---------------------------------------------------------------------

_CHINESE_DIGITS = {"〇": "0", "零": "0", "幺": "1", "一": "1", "二": "2", "两": "2", "三": "3"}
_CHINESE_DIGITS |= {"四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
# the financial (大写) numerals, simplified and traditional
_CHINESE_DIGITS |= {"壹": "1", "贰": "2", "貳": "2", "叁": "3", "參": "3", "叄": "3", "肆": "4"}
_CHINESE_DIGITS |= {"伍": "5", "陆": "6", "陸": "6", "柒": "7", "捌": "8", "玖": "9"}
_CN = "".join(_CHINESE_DIGITS)
#: Seven or more Chinese digits (single spaces allowed): phone, ID or card length.
_CHINESE_NUMBER = re.compile(rf"[{_CN}](?: ?[{_CN}]){{6,}}")


#: Dashes NFKC keeps as they are (hyphens, en and em dashes, minus signs) read as "-".
_DASHES = dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\u30fc", "-")


def _form_char(normal: str, previous: str) -> str:
    """One NFKC character as the detectors read it ("" drops it): dashes as "-", blanks
    (a tab, a run of spaces) as one space, invisible format characters (zero-width
    space, joiners, soft hyphen, BOM) left out, so none of them hides a number."""
    if normal in _DASHES:
        return "-"
    if normal.isspace() and normal not in "\n\r":
        return "" if previous == " " else " "
    if unicodedata.category(normal) == "Cf":
        return ""
    return normal


def matching_form(text: str) -> tuple[str, list[int]]:
    """The text the detectors read, and for each of its characters the original index."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for normal in unicodedata.normalize("NFKC", char):
            normal = _form_char(normal, chars[-1] if chars else "")
            if normal:
                chars.append(normal)
                origin.append(index)
    form = "".join(chars)
    form = _CHINESE_NUMBER.sub(lambda m: "".join(_CHINESE_DIGITS.get(c, c) for c in m[0]), form)
    return form, origin


# --- detectors (each reads the matching form) -------------------------------------------------

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+ ?@ ?[A-Za-z0-9-]+(?: ?\. ?[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z])"
)

_REFERENCE_KEYWORD = re.compile(
    r"(?:订单|运单|快递单|物流单|包裹单|单号|(?<![A-Za-z])(?:order|tracking|waybill|parcel))"
    r" ?(?:号码|号|編號|编号|码|no\.?|number|id|#)? ?(?:是|为|:|is)? ?"
    r"((?-i:[A-Z]{1,4} )?[A-Za-z]{0,4}\d[\dA-Za-z-]{5,40})",
    re.IGNORECASE,
)
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_CARRIER_NUMBER = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:SF|YT|JD[A-Z]{0,2}|ZTO|STO|YD|JT|DPK|EMS)\d{10,16}"
    r"|[A-Z]{2}\d{9}[A-Z]{2})(?![A-Za-z0-9])"
)

_PASSPORT_KEYWORD = re.compile(
    r"(?:护照|護照|passport|通行证)(?: ?(?:号码|号|no\.?|number|#))? ?(?:是|为|:|is)? ?"
    r"((?=(?:[A-Za-z]*\d){5})[A-Za-z0-9]{6,9}|[A-Za-z]{1,2} ?\d{2,4}(?: ?\d{2,4}){1,3})"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_ACCOUNT_KEYWORD = re.compile(
    r"(?:QQ|微信|wechat|weixin|vx)(?: ?(?:号码|号|账号|id|number))? ?(?:是|为|:|is)? ?"
    r"((?=[A-Za-z][A-Za-z-]*[\d_])[A-Za-z][\w-]{5,19}|[1-9]\d{4,11})(?![\w-])",
    re.IGNORECASE,
)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
#: The most common Chinese surnames (over 85% of people); a labelled name must start
#: with one, so "收件人：请填写" is not taken for a name.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
#: A name in a labelled field: 姓名/收件人/联系人/寄件人 and a colon, or "Name:" (a
#: title such as 女士 is masked with the surname).
_LABELLED_NAME = re.compile(
    rf"(?:姓名|名字|收件人|收货人|寄件人|联系人)(?:姓名)? ?: ?"
    rf"([{_SURNAMES}](?:[{_HAN}]{{1,3}}?(?=[^{_HAN}]|$)|(?=先生|女士|小姐)))"
    r"|(?<![A-Za-z])(?:name|recipient|contact) ?: ?((?-i:[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}))"
    r"(?= ?(?:[,.;:()/\d]|$))",
    re.IGNORECASE,
)
#: Hong Kong (A123456(7)), Taiwan (A123456789) and Macau ID numbers and the mainland travel
#: permits (回乡证 H12345678), after a word naming an identity document, or a Hong Kong
#: number written with its check digit in brackets.
_OTHER_ID = re.compile(
    r"(?:(?:身份证|身份證|证件|證件|id|hkid|identity|回乡证|回鄉證|通行证|通行證|台胞证|居民证)"
    r"(?: ?(?:号码|號碼|号|號|card|no\.?|number|#))? ?(?:是|为|:|is)? ?"
    r"((?-i:[A-Z]{1,2}\d{6}(?:\([0-9A]\)|[0-9A])|[A-Z][12]\d{8}|[HM]\d{8}(?:\d{2})?"
    r"|[157]\d{6}\(\d\)))"
    r"|(?<![A-Za-z0-9])((?-i:[A-Z]{1,2}\d{6}\([0-9A]\))))(?![A-Za-z0-9])",
    re.IGNORECASE,
)
#: Six or more digits that a word names as a credential or an identifier.
_KEYED_NUMBER = re.compile(
    r"(?:密码|口令|验证码|驗證碼|校验码|动态码|取件码|提货码|取货码|门禁|門禁|房号|房號|房间号"
    r"|门牌号|会员号|会员卡号|會員卡號|卡号|卡號|账号|帳號|账户|帳戶|户号|客户号|用户号|工号"
    r"|(?<![A-Za-z])(?:code|pin|password|passcode|account|acct|member|customer)"
    r"(?: ?(?:no\.?|number|id|#))?)"
    r"(?:密码|码|碼)? ?(?:是|为|為|:|is)? ?([A-Za-z]{0,3}\d{6,20})(?![0-9])",
    re.IGNORECASE,
)
_CHINESE_PASSPORT = re.compile(r"(?<![A-Za-z0-9])[EG](?:\d{8}|[A-Z]\d{7})(?![0-9])")

#: A run of digits with single separators (space, dot, dash, brackets), a leading + or (,
#: and an ID number's final X.
_NUMBER_RUN = re.compile(
    r"(?<![0-9])(?:\+|\( ?\+?)?\d+(?:(?: ?\) ?| ?[-.] ?| )\d+)*(?:[Xx](?![A-Za-z]))?"
)
_MOBILE = re.compile(r"(?:0086|86)?1[3-9]\d{9}")
_LANDLINE = re.compile(r"0[1-9]\d{9,10}")
_ID18 = re.compile(
    r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
)
_ID15 = re.compile(r"[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}")
_CARD_KEYWORD = re.compile(r"(?:卡|card|银行|帐号|账号|账户|account|iban)", re.IGNORECASE)
_PHONE_KEYWORD = re.compile(r"(?:电话|座机|固话|tel|phone)", re.IGNORECASE)


def _luhn(digits: str) -> bool:
    """True when ``digits`` pass the Luhn check bank card numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _near(pattern: re.Pattern[str], form: str, start: int, window: int = 8) -> bool:
    """True when ``pattern`` occurs in the ``window`` characters before ``start``."""
    return pattern.search(form, max(0, start - window), start) is not None


def _classify(digits: str, sizes: list[int], form: str, start: int, whole_run: bool) -> str | None:
    """The class of one number (its digits, group sizes and where it starts), or None.

    ``whole_run``: the number is all of its run, not a piece of a longer one (a bare
    7-8 digit landline is only taken whole: 400 820 8820 holds no landline).
    """
    if "X" in digits.upper():
        return "id" if _ID18.fullmatch(digits) else None
    if _MOBILE.fullmatch(digits):
        return "mobile"
    if _LANDLINE.fullmatch(digits):
        return "landline"
    if _ID18.fullmatch(digits) or _ID15.fullmatch(digits):
        return "id"
    if 16 <= len(digits) <= 19:
        grouped = sizes[:4] == [4, 4, 4, 4] or (len(sizes) == 2 and sizes[0] == 6)
        unionpay = digits.startswith("62")
        if _luhn(digits) or grouped or unionpay or _near(_CARD_KEYWORD, form, start, 12):
            return "card"
    if (
        whole_run
        and 7 <= len(digits) <= 8
        and digits[0] not in "01"
        and _near(_PHONE_KEYWORD, form, start)
    ):
        return "landline"
    return None


#: The most digits one piece of personal data has (a 19-digit card, or 0086 + a mobile).
_MAX_DIGITS = 19


def _numbers(form: str) -> Iterator[Finding]:
    """Mobiles, landlines, ID and card numbers: the longest classified piece of each run."""
    for run in _NUMBER_RUN.finditer(form):
        groups = list(re.finditer(r"\d+|[Xx]$", run[0]))
        i = 0
        while i < len(groups):
            found = _longest_from(form, run.start(), groups, i)
            if found is None:
                i += 1
                continue
            finding, i = found
            yield finding


def _longest_from(
    form: str, offset: int, groups: list[re.Match[str]], i: int
) -> tuple[Finding, int] | None:
    """The longest classified number starting at group ``i``, and the group after it."""
    last, length = i, 0
    while last < len(groups) and length + len(groups[last][0]) <= _MAX_DIGITS + 1:
        length += len(groups[last][0])
        last += 1
    start = offset + (0 if i == 0 else groups[i].start())
    for j in range(last - 1, i - 1, -1):
        digits = "".join(g[0] for g in groups[i : j + 1])
        sizes = [len(g[0]) for g in groups[i : j + 1]]
        whole_run = i == 0 and j == len(groups) - 1
        kind = _classify(digits, sizes, form, start, whole_run)
        if kind is None:
            continue
        end = offset + groups[j].end()
        if kind == "landline":  # an extension: 010-62345678-123
            extension = re.match(r"-\d{1,5}(?!\d)", form[end:])
            end += extension.end() if extension else 0
        return Finding(start, end, kind), j + 1
    return None


_NOT_IN_NAME = "在住是的到寄往址为於于和与及或从自请把给送发收我你他她们，。、：:；;,！？!? \n\t"
_NAME = rf"[^{re.escape(_NOT_IN_NAME)}\[\]()（）0-9A-Za-z]"
_BUILDING = r"(?:\d{1,4}|(?<![A-Za-z])[A-Za-z]{1,2}) ?(?:栋|棟|幢|座|号楼|號樓)"
_UNIT = r"\d{1,2} ?(?:单元|單元)"
_FLOOR = r"\d{1,3} ?(?:楼|樓|层|層)"
_ROOM = r"\d{2,5} ?(?:室|房|号|號|户)?"
_ESTATE = (
    rf"{_NAME}{{1,8}}?(?:小区|小區|花园|花園|公寓|大厦|大廈|家园|新村|社区|公馆|广场"
    rf"|苑|园|園|村|城|府|庭|湾|居|阁|邸)"
)
_BUILDING_CHAIN = (
    rf"(?:{_BUILDING} ?(?:{_UNIT} ?)?(?:{_FLOOR} ?)?(?:{_ROOM})?"
    rf"|{_UNIT} ?(?:{_FLOOR} ?)?{_ROOM}|{_FLOOR} ?\d{{3,4}} ?(?:室|房|号)?|\d{{3,4}} ?(?:室|房))"
)
_ADDRESS = re.compile(
    "|".join(
        [
            # road and house number, optionally city and district before, building after
            rf"(?:{_NAME}{{2,6}}?(?:省|自治区|自治區))?(?:{_NAME}{{2,6}}?市)?"
            rf"(?:{_NAME}{{1,6}}?(?:区|區|县|縣|旗|镇|鎮|乡|鄉))?"
            rf"{_NAME}{{1,10}}?(?:路|街|巷|弄|胡同|大道)(?:[东南西北中]{{1,2}}段)? ?"
            r"\d+(?:-\d+)? ?(?:号|號)"
            rf"(?: ?(?:院|楼|樓|大厦|大廈|小区|小區))?(?: ?{_BUILDING_CHAIN})*",
            # an estate with a building, or a building with a unit or a room
            rf"{_ESTATE} ?{_BUILDING_CHAIN}",
            rf"{_BUILDING} ?(?:{_UNIT} ?)?(?:{_FLOOR} ?)?\d{{2,5}} ?(?:室|房|号|號|户)?",
            rf"{_BUILDING} ?{_UNIT}",
            rf"{_UNIT} ?(?:{_FLOOR} ?)?\d{{2,5}} ?(?:室|房|号|號|户)?",
            rf"{_FLOOR} ?\d{{3,4}} ?(?:室|房)",
            r"(?<![0-9])\d{3,4} ?(?:室|房间)",
            # English: house number and street; room, flat, apartment, suite
            r"\b\d{1,5} (?:[A-Z][a-z']+ ){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive"
            r"|Dr|Boulevard|Blvd|Way|Court|Ct)\b\.?",
            r"\b(?:Room|Rm|Flat|Apt|Apartment)\.? ?#?\d{1,5}[A-Z]?\b",
            r"\b(?:Suite|Unit)\.? ?#?\d{3,5}[A-Z]?\b",
        ]
    )
)


def _detect(form: str, policy: MaskingPolicy, extra: re.Pattern[str] | None) -> Iterator[Finding]:
    """Every candidate, in priority order (earlier ones win overlaps)."""
    for m in _EMAIL.finditer(form):
        yield Finding(m.start(), m.end(), "email")
    if policy.mask_reference_numbers:
        for m in _REFERENCE_KEYWORD.finditer(form):
            if sum(c.isdigit() for c in m[1]) >= 6 and not _DATE.fullmatch(m[1]):
                yield Finding(m.start(1), m.end(1), "reference")
        for m in _CARRIER_NUMBER.finditer(form):
            yield Finding(m.start(), m.end(), "reference")
    if extra is not None:
        for m in extra.finditer(form):
            if m.end() > m.start():
                yield Finding(m.start(), m.end(), "reference")
    for m in _PASSPORT_KEYWORD.finditer(form):
        yield Finding(m.start(1), m.end(1), "passport")
    for m in _CHINESE_PASSPORT.finditer(form):
        yield Finding(m.start(), m.end(), "passport")
    for m in _OTHER_ID.finditer(form):
        group = 1 if m[1] else 2
        yield Finding(m.start(group), m.end(group), "id")
    yield from _numbers(form)
    for m in _ACCOUNT_KEYWORD.finditer(form):
        yield Finding(m.start(1), m.end(1), "account")
    for m in _ADDRESS.finditer(form):
        yield Finding(m.start(), m.end(), "address")
    for m in _LABELLED_NAME.finditer(form):
        group = 1 if m[1] else 2
        yield Finding(m.start(group), m.end(group), "name")
    for m in _KEYED_NUMBER.finditer(form):
        yield Finding(m.start(1), m.end(1), "number")


def find_personal_data(text: str, policy: MaskingPolicy | None = None) -> list[Finding]:
    """The personal data in ``text``, as spans of the original text, in text order."""
    policy = _active if policy is None else policy
    extra = _compiled_extra(policy)
    form, origin = matching_form(text)
    taken: list[Finding] = []
    for found in _detect(form, policy, extra):
        if not any(found.start < t.end and t.start < found.end for t in taken):
            taken.append(found)
    spans = [Finding(origin[f.start], origin[f.end - 1] + 1, f.kind) for f in taken]
    return sorted(spans, key=lambda f: f.start)


def mask_personal_data(text: str, policy: MaskingPolicy | None = None) -> str:
    """``text`` with each piece of personal data replaced by its tag (see the module doc).

    Prices, dates, times, durations, article numbers (第12条), percentages, versions,
    service hotlines (400/800/95xxx) and other numbers are kept.
    """
    for found in reversed(find_personal_data(text, policy)):
        text = text[: found.start] + TAGS[found.kind] + text[found.end :]
    return text
