"""Remove scraped-site boilerplate from imported text, never its content.

``clean_text`` applies the rules below in this order. Each rule is narrow: it names a
fragment that document-sharing sites add (download and VIP prompts, copyright notices,
page counters, link lists, comment boxes) and leaves everything else alone, so clean
Markdown passes through unchanged and cleaning twice changes nothing. Line rules match
on the line in Simplified Chinese (NFKC, ``kb.text.to_simplified``), so one pattern
covers both scripts; the text kept is always the original.

1. ``_fix_characters``: CRLF -> LF; drop broken characters (U+FFFD, private-use area,
   control characters, zero-width space, BOM); odd spaces (NBSP, ideographic) -> space,
   ideographic indentation at line starts removed.
2. ``strip_pinyin_annotations``: ``培訓(xùn)`` -> ``培訓`` (kb.text).
3. ``INLINE_RULES``: fragments inside lines, e.g. ``已閱讀5頁,還剩21頁未讀, 繼續免費閱讀``,
   empty slide-template fields (``演講人:日期:``, ``CATALOGUE`` before ``目錄``), the site
   editor's ``今天小编为大家带来……希望对您有帮助!`` and ``、、`` left of lost list numbers.
4. ``_drop_tail``: a trailing run of short lines starting at a footer marker
   (``文档评论(0)``, ``最新文档``, ``评论``/``0/150``/``提交评论``, ``+ 关注`` ...).
5. ``_drop_link_lists``: a ``相关文章:``/``相关推荐`` header and the dated link titles after it.
6. ``_drop_notice_blocks``: paragraphs whose lines are mostly site notices (see 7),
   and a lone ``温馨提示``/``免责声明`` label right before one.
7. ``_is_boilerplate_line``: whole lines that are site furniture (``BOILERPLATE_LINES``),
   page markers (``标题_第1页``), article meta (``作者:… 人气:15``) or a site notice
   (two notice keywords, one of them specific to document sites: ``NOTICE_STRONG``).
8. ``_strip_file_title``: ``方案.docxVIP`` -> ``方案`` (first remaining line, or any line
   ending in ``.xxxVIP``).
9. ``_tidy_whitespace``: runs of spaces between Chinese characters -> one space, trailing
   spaces, more than one blank line, blank lines at both ends.
"""

from __future__ import annotations

import re
import unicodedata
from copy import deepcopy
from dataclasses import replace
from functools import lru_cache

from haystack import Document, component
from haystack.core.serialization import default_from_dict, default_to_dict

from kb.text import strip_pinyin_annotations, to_simplified

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

# --- 1. characters ------------------------------------------------------------------------

#: U+FFFD, private-use area, C0/C1 controls except \t \n \f, zero-width space, BOM.
_BROKEN_CHARS = re.compile("[\ufffd\ue000-\uf8ff\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b\u2060\ufeff]")
_ODD_SPACES = re.compile("[\xa0\u2000-\u200a\u202f\u205f\u3000]")
_LEADING_IDEOGRAPHIC_SPACE = re.compile("^\u3000+", re.MULTILINE)


def _fix_characters(text: str) -> str:
    """Normalise line ends, drop broken characters, turn odd spaces into plain ones."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _BROKEN_CHARS.sub("", text)
    text = _LEADING_IDEOGRAPHIC_SPACE.sub("", text)
    return _ODD_SPACES.sub(" ", text)


# --- 3. inline fragments ------------------------------------------------------------------

#: (what it removes, pattern). Written with both scripts since they run on the original.
INLINE_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "reading counter: 已阅读5页,还剩21页未读, 继续免费阅读",
        re.compile(
            r"已[阅閱][读讀]\s*\d+\s*[页頁]\s*[,，]?\s*[还還]剩\s*\d+\s*[页頁]未[读讀]"
            r"(?:\s*[,，]?\s*[继繼][续續](?:免[费費])?[阅閱][读讀])?"
        ),
    ),
    (
        "empty slide-template fields: 演讲人:日期:",
        re.compile(r"(?:演[讲講]人|[汇匯][报報]人)\s*[:：]\s*(?:日期|[时時][间間])\s*[:：]"),
    ),
    ("slide-template word CATALOGUE before 目录", re.compile(r"CATALOGUE\s*(?=目[录錄])")),
    (
        "site editor's note: 今天小编为大家带来一些相关的资料……希望对您有帮助!",
        re.compile(
            r"(?:今天)?小[编編](?:为|為|给|給)大家[^。！!？?\n]{0,60}[。！!，,]?"
            r"(?:[^。！!？?\n]{0,30}希望[^。！!？?\n]{0,20}[帮幫]助[^。！!？?\n]{0,10}[。！!]?)?"
        ),
    ),
    ("list numbers lost in scraping: leading 、、", re.compile(r"^[ \t]*、+[ \t]*", re.MULTILINE)),
]


def _apply_inline_rules(text: str) -> str:
    """Remove the inline fragments of ``INLINE_RULES``."""
    for _, pattern in INLINE_RULES:
        text = pattern.sub("", text)
    return text


# --- line classification ------------------------------------------------------------------

_BULLET = re.compile(r"^(?:[\s\-•*·]+|\d{1,2}\s*[.、)]\s*)+")


@lru_cache(maxsize=8192)
def _key(line: str) -> str:
    """The line as matched by the line rules: NFKC, Simplified, no bullet, no outer spaces."""
    simplified = to_simplified(unicodedata.normalize("NFKC", line)).strip()
    return _BULLET.sub("", simplified).strip()


#: Whole lines of site furniture (matched against ``_key``).
BOILERPLATE_LINES = re.compile(
    r"首页\s*[>›»/]?\s*正文"
    r"|下载本文档|下载文档|立即下载|免费下载|查看更多|展开全文|阅读全文|文档简介"
    r"|(?:最新|热门|相关)文档|相关(?:推荐|文章|阅读)|猜你喜欢|点击(?:加载|查看)更多"
    r"|(?:文档|发表|提交|我要)?评论(?:\(\d+\))?|0/\d{2,4}|实名认证|文档贡献者"
    r"|\S{1,20}\s*\+\s*关注|\d*[亿万千百]?VIP精品文档"
)
#: Page markers: ``标题_第1页``, ``第1页``, ``第1页/共5页``.
PAGE_MARKER = re.compile(r"(?:.{1,80}_)?第\s*\d+\s*页(?:\s*[/,，]?\s*共\s*\d+\s*页)?")
_META_KEY = (
    r"(?:作者|来源|人气|浏览(?:量|次数)?|阅读(?:量|数|次数)?|点击(?:量|数)?"
    r"|发布(?:时间|日期|于)|更新(?:时间|日期)|责任编辑|编辑|时间|日期)\s*[:：]"
)
_META_ONLY_KEY = re.compile(r"作者|来源|人气|浏览|阅读|点击|发布|编辑")
_COUNTER_FIELD = re.compile(
    r"(?:人气|浏览(?:量|次数)?|阅读(?:量|数|次数)?|点击(?:量|数)?)\s*[:：]\s*\d+"
)

#: Keywords specific to document-sharing sites; a notice line needs one of these ...
NOTICE_STRONG = (
    "本文档", "该文档", "VIP文档", "VIP会员", "成为VIP", "文档贡献者", "上传者", "网友上传",
    "用户上传", "版权申诉", "侵权必究", "下载权益", "二次下载", "人人文库", "文库网",
    "原创力文档", "book118", "豆丁", "百度文库", "道客巴巴", "本站所有", "本站不",
    "本站的", "本站仅", "本站对",
)  # fmt: skip
#: ... and one more of these (or another strong one), outside the strong matches.
NOTICE_WEAK = (
    "下载", "侵权", "上传", "版权", "付费", "举报", "本站", "阅读器", "收益归属", "退款",
)  # fmt: skip
_NOTICE_STRONG_RE = re.compile("|".join(map(re.escape, NOTICE_STRONG)))
#: Labels that head a notice block, removed only together with the block.
NOTICE_LABELS = re.compile(r"温馨提示|免责声明|版权声明|下载须知|特别声明|下载说明")


def _is_meta_line(key: str) -> bool:
    """``作者:刘嘉映 人气:15``: article metadata, not content."""
    if len(key) > 60 or not re.match(_META_KEY, key):
        return False
    fields = re.findall(_META_KEY, key)
    has_meta_key = any(_META_ONLY_KEY.search(f) for f in fields)
    return (len(fields) >= 2 and has_meta_key) or bool(_COUNTER_FIELD.fullmatch(key))


def _is_notice_line(key: str) -> bool:
    """A site notice: a document-site keyword plus one more notice keyword."""
    strong = _NOTICE_STRONG_RE.findall(key)
    if not strong:
        return False
    rest = _NOTICE_STRONG_RE.sub("|", key)
    weak = [w for w in NOTICE_WEAK if w in rest]
    return len(set(strong)) + len(weak) >= 2


def _is_boilerplate_line(key: str) -> bool:
    """Whole-line rules (8): furniture, page markers, meta lines, site notices."""
    return bool(
        BOILERPLATE_LINES.fullmatch(key)
        or PAGE_MARKER.fullmatch(key)
        or _is_meta_line(key)
        or _is_notice_line(key)
    )


# --- 4-6, 8. structural rules ----------------------------------------------------------------

_FILE_TITLE = re.compile(r"^(.+?)\.(?:docx?|pdf|pptx?|xlsx?|wps|txt)(VIP)?\s*$", re.IGNORECASE)


def _strip_file_title(lines: list[str]) -> list[str]:
    """``方案.docxVIP`` -> ``方案`` on the first non-blank line, or any line ending ``VIP``."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    out = []
    for i, line in enumerate(lines):
        match = _FILE_TITLE.match(line)
        keep_title = match and len(match.group(1)) <= 80 and (i == first or match.group(2))
        out.append(match.group(1) if match and keep_title else line)
    return out


_TAIL_MARKER = re.compile(
    r"(?:文档|发表|提交)?评论(?:\(\d+\))?|(?:最新|热门|相关)文档|相关(?:推荐|文章|阅读)"
    r"|猜你喜欢|文档贡献者|实名认证|\S{1,20}\s*\+\s*关注"
)
_SENTENCE_END = re.compile(r"[。！？；!?;]")


def _is_short_label(key: str) -> bool:
    """A short line without sentence punctuation (a button, a name, a link)."""
    return len(key) <= 20 and not _SENTENCE_END.search(key)


def _drop_tail(lines: list[str]) -> list[str]:
    """Drop the page footer: in the trailing run of short lines, the first footer marker
    and everything after it."""
    start = len(lines)
    for i in range(len(lines) - 1, -1, -1):
        key = _key(lines[i])
        if key and not _is_short_label(key):
            break
        start = i
    for i in range(start, len(lines)):
        if _TAIL_MARKER.fullmatch(_key(lines[i])):
            return lines[:i]
    return lines


_LINK_HEADER = re.compile(r"(?:【[^】]{1,80}】)?\s*相关(?:文章|推荐|阅读|文档)\s*[:：]?")
_LINK_ITEM = re.compile(
    r".{2,60}?\s*(?:(?:\d{4}[-/.])?\d{1,2}[-/.]\d{1,2}|\d{4}年\d{1,2}月\d{1,2}日)"
)


def _drop_link_lists(lines: list[str]) -> list[str]:
    """Drop a ``相关文章:`` header and the dated link titles right after it."""
    out: list[str] = []
    in_list = False
    for line in lines:
        key = _key(line)
        if _LINK_HEADER.fullmatch(key):
            in_list = True
            continue
        if in_list and key and _LINK_ITEM.fullmatch(key) and not _SENTENCE_END.search(key):
            continue
        in_list = in_list and not key
        out.append(line)
    return out


def _paragraphs(lines: list[str]) -> list[list[str]]:
    """Split lines into paragraphs (runs of non-blank lines); blank lines are their own."""
    paragraphs: list[list[str]] = []
    for line in lines:
        blank = not line.strip()
        if paragraphs and not blank and paragraphs[-1][-1].strip():
            paragraphs[-1].append(line)
        else:
            paragraphs.append([line])
    return paragraphs


def _is_notice_block(paragraph: list[str]) -> bool:
    """Two or more notice lines making up more than half of the paragraph (labels aside)."""
    keys = [k for k in map(_key, paragraph) if not NOTICE_LABELS.fullmatch(k)]
    hits = sum(_is_notice_line(k) or bool(BOILERPLATE_LINES.fullmatch(k)) for k in keys)
    return hits >= 2 and hits * 2 > len(keys)


def _drop_notice_blocks(lines: list[str]) -> list[str]:
    """Drop notice paragraphs and a lone notice label paragraph just before one."""
    paragraphs = _paragraphs(lines)
    notice = [_is_notice_block(p) for p in paragraphs]
    for i, paragraph in enumerate(paragraphs):
        label = len(paragraph) == 1 and NOTICE_LABELS.fullmatch(_key(paragraph[0]))
        following = next(
            (j for j in range(i + 1, len(paragraphs)) if paragraphs[j][0].strip()), None
        )
        if label and following is not None and notice[following]:
            notice[i] = True
    return [line for p, drop in zip(paragraphs, notice, strict=True) if not drop for line in p]


# --- 9. whitespace ------------------------------------------------------------------------

_SPACES_BETWEEN_HAN = re.compile(rf"(?<=[{_HAN}，。、；：！？）])[ \t]{{2,}}(?=[{_HAN}（])")


def _tidy_whitespace(lines: list[str], keep_final_newline: bool) -> str:
    """Collapse space runs between Chinese characters, strip line ends, keep paragraph
    breaks (at most one blank line) and drop blank lines at both ends."""
    text = "\n".join(_SPACES_BETWEEN_HAN.sub(" ", line).rstrip() for line in lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text + "\n" if text and keep_final_newline else text


# --- entry points -------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Remove scraped-site boilerplate and broken characters; keep all content.

    Idempotent; Markdown without boilerplate comes back unchanged (apart from
    trailing spaces and repeated blank lines). See the module docstring for the rules.
    """
    if not text:
        return ""
    keep_final_newline = text.endswith(("\n", "\r"))
    text = _apply_inline_rules(strip_pinyin_annotations(_fix_characters(text)))
    lines = _drop_link_lists(_drop_tail(text.split("\n")))
    lines = _drop_notice_blocks(lines)
    lines = [line for line in lines if not line.strip() or not _is_boilerplate_line(_key(line))]
    return _tidy_whitespace(_strip_file_title(lines), keep_final_newline)


@component
class TextCleaner:
    """Haystack component: ``clean_text`` over each document's content.

    Returns new Documents; meta is copied. With ``keep_id=False`` (default) the id is
    recomputed from the cleaned content, as Haystack's ``DocumentCleaner`` does.
    Embeddings of documents whose content changed are dropped (they described the old
    text). Documents without text content pass through unchanged.
    """

    def __init__(self, keep_id: bool = False) -> None:
        """:param keep_id: keep each document's id instead of recomputing it."""
        self.keep_id = keep_id

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """Clean every document.

        :param documents: documents to clean.
        :returns: ``{"documents": [...]}`` with the cleaned documents, in order.
        """
        cleaned = []
        for doc in documents:
            if doc.content is None:
                cleaned.append(doc)
                continue
            content = clean_text(doc.content)
            changed = content != doc.content
            cleaned.append(
                replace(
                    doc,
                    id=doc.id if self.keep_id else "",
                    content=content,
                    meta=deepcopy(doc.meta),
                    embedding=None if changed else doc.embedding,
                    sparse_embedding=None if changed else doc.sparse_embedding,
                )
            )
        return {"documents": cleaned}

    def to_dict(self) -> dict:
        """Serialise the component's configuration."""
        return default_to_dict(self, keep_id=self.keep_id)

    @classmethod
    def from_dict(cls, data: dict) -> TextCleaner:
        """Build the component from ``to_dict`` output."""
        return default_from_dict(cls, data)
