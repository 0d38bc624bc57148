"""Chunking: one article version in, citable chunks out.

Every chunk's text is an exact slice of the article text, so a citation can quote it
and point at its character span. Splitting is hierarchical:

1. Markdown headings (ATX ``#``..``######`` and setext, found with markdown-it-py, so
   ``#`` inside code blocks is not a heading) cut the text into sections. A chunk
   never crosses a heading. The heading line is *not* part of any chunk; its text is
   the chunk's ``section`` meta. Only top-level headings count (not ones inside a list
   or quote). A heading with no body yields nothing; its subsections carry their own
   heading.
2. Blank lines cut a section into paragraphs.
3. Sentence ends cut paragraphs into sentences: ``。！？；`` always; ASCII ``! ? ;`` when
   followed by whitespace, the end or a non-ASCII character (so ``?id=3`` and ``![img]``
   stay whole); ASCII ``.`` only when followed by whitespace, the end or a CJK
   character, and not after an abbreviation (``e.g.``, ``Mr.``), a single letter or a
   list number at line start (``1. ``), so ``0.05`` and ``3.5`` are never split. Closing
   quotes and brackets after a sentence end stay with their sentence. Newlines also end
   a sentence.
4. Only a sentence longer than ``chunk_size`` is cut further: after ``，、,：:`` (not
   inside numbers such as ``1,000`` or ``9:00``), and a piece still too long is hard-cut
   (backing off so an ASCII word or number is not cut in two).

Units are packed greedily into chunks of at most ``chunk_size`` characters. A chunk
prefers to end at a paragraph end if that keeps it at least half full, else at the
latest sentence end, and ends inside a sentence only when that sentence does not fit
in a chunk. The next chunk starts with the trailing whole sentences of the previous
one totalling at most ``overlap`` characters (the span from their start to the end of
the previous chunk); when that would leave no room for new text, the overlap shrinks
or is dropped. Overlap never crosses a heading.

Tiny sections are *not* merged with the next: a chunk is one contiguous span with one
``section``, so merging would put the next heading line inside the chunk and label
half its text with the wrong heading. A tiny section gives a short chunk whose heading
travels in ``section`` (and the article ``title`` in meta), which later stages can put
in front of the text for matching.

FAQ articles (``type == 'faq'``) are one chunk, never split: the content is the answer;
``section`` is the question; meta ``faq_text`` is the question, each similar question
and the answer joined by newlines, the text later stages match questions against. An
FAQ without answer text still gives its one chunk (empty content, span 0..0), so its
questions are searchable; ``kb.answer.suggest`` hands off when it is the answer.

Any other article whose text yields no chunk (empty, whitespace only, only headings) or
only chunks without a letter or digit (``---``, an empty table or code fence) gives
none; the caller reports it as unindexable (``ingest.pipeline``).
"""

from __future__ import annotations

import copy
import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any

from haystack import Document, component
from haystack.core.serialization import default_from_dict, default_to_dict
from markdown_it import MarkdownIt

from kb.errors import ConfigError, InvalidInput
from kb.progress import progress_mode, stage_done

# Strength of the boundary after a unit: where a chunk may end, best first.
SECTION_OR_PARAGRAPH, SENTENCE, CLAUSE, HARD = 3, 2, 1, 0

_CJK_ENDS = "。！？；"
_ASCII_ENDS = ".!?;"
_CLOSERS = "”’\"')）]】」』》〕"
_CLAUSE_MARKS = "，、,：:"
_LIST_PREFIX = " \t\u3000•·-*+>"  # what may precede a list number such as "1." on its line
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "etc", "vs", "cf", "al", "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr"}
    | {"inc", "ltd", "co", "corp", "approx", "fig", "dept"}
)
_NEWLINE = re.compile(r"\n")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_LINE_BREAK = re.compile(r"\r\n?|\n")  # the same line ends markdown-it counts
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


@dataclass(slots=True)
class _Unit:
    """A stripped span of text and the strength of the boundary after it."""

    start: int
    end: int
    after: int


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) past leading and trailing whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _sections(text: str) -> list[tuple[str, int, int]]:
    """Split Markdown into (heading, body_start, body_end); the preamble has heading ''."""
    line_starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]

    def offset(line: int) -> int:
        return line_starts[line] if line < len(line_starts) else len(text)

    tokens = MarkdownIt("commonmark").parse(text)
    sections, heading, body_start = [], "", 0
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or token.level != 0 or token.map is None:
            continue
        sections.append((heading, body_start, offset(token.map[0])))
        heading = tokens[i + 1].content.strip()
        body_start = offset(token.map[1])
    sections.append((heading, body_start, len(text)))
    return sections


def _period_ends_sentence(text: str, pos: int, after: int) -> bool:
    """Whether the ASCII '.' at pos (run and closers ending at `after`) ends a sentence."""
    if after < len(text) and not (text[after].isspace() or _CJK.match(text[after])):
        return False
    word_start = pos
    while word_start > max(0, pos - 12) and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:pos].lstrip("([{\"'").lower()
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isascii() and word.isalpha()):
        return False
    if not (word.isascii() and word.isdigit()):
        return True
    line_start = text.rfind("\n", 0, word_start) + 1
    return bool(text[line_start:word_start].strip(_LIST_PREFIX))  # "1." opening a line


def _sentence_cuts(text: str, start: int, end: int) -> dict[int, int]:
    """Cut positions in [start, end) at paragraph breaks, newlines and sentence ends."""
    cuts: dict[int, int] = {}
    for match in _NEWLINE.finditer(text, start, end):
        cuts[match.start()] = SENTENCE
    for match in _PARAGRAPH_BREAK.finditer(text, start, end):
        cuts[match.start()] = SECTION_OR_PARAGRAPH
    pos = start
    while pos < end:
        if text[pos] not in _CJK_ENDS and text[pos] not in _ASCII_ENDS:
            pos += 1
            continue
        run_end = pos
        while run_end < end and (text[run_end] in _CJK_ENDS or text[run_end] in _ASCII_ENDS):
            run_end += 1
        after = run_end
        while after < end and text[after] in _CLOSERS:
            after += 1
        if _run_ends_sentence(text, pos, run_end, after):
            cuts.setdefault(after, SENTENCE)
        pos = after if after > pos else pos + 1
    return cuts


def _run_ends_sentence(text: str, pos: int, run_end: int, after: int) -> bool:
    """Whether a run of terminators text[pos:run_end] (closers up to `after`) ends one."""
    run = text[pos:run_end]
    if any(ch in _CJK_ENDS for ch in run):
        return True
    if set(run) == {"."}:
        return _period_ends_sentence(text, pos, after)
    return after >= len(text) or text[after].isspace() or not text[after].isascii()


def _clause_cuts(text: str, start: int, end: int) -> list[int]:
    """Cut positions after clause marks inside [start, end), sparing 1,000 and 9:00."""
    cuts = []
    for pos in range(start, end - 1):
        ch = text[pos]
        if ch not in _CLAUSE_MARKS:
            continue
        if ch in ",:" and (
            (pos > 0 and text[pos - 1].isdigit() and text[pos + 1].isdigit())
            or text[pos + 1] == "/"
        ):
            continue
        cuts.append(pos + 1)
    return cuts


def _cut(text: str, start: int, end: int, cuts: list[int], strength: int) -> list[_Unit]:
    """Split [start, end) at cuts into stripped, non-empty units joined by `strength`."""
    units, pos = [], start
    for cut in [*cuts, end]:
        s, e = _strip_span(text, pos, cut)
        if s < e:
            units.append(_Unit(s, e, strength))
        pos = cut
    return units


def _hard_cut(text: str, unit: _Unit, size: int) -> list[_Unit]:
    """Cut a unit into pieces of at most `size`, not inside an ASCII word when avoidable."""
    pieces, start = [], unit.start
    while unit.end - start > size:
        cut = start + size
        back = cut
        while back > start and _ASCII_WORD.match(text[back - 1]) and _ASCII_WORD.match(text[back]):
            back -= 1
        cut = back if back > start else cut
        s, e = _strip_span(text, start, cut)
        pieces.append(_Unit(s, e, HARD))
        start, _ = _strip_span(text, cut, unit.end)
    pieces.append(_Unit(start, unit.end, unit.after))
    return pieces


def _split_long(text: str, unit: _Unit, size: int) -> list[_Unit]:
    """Split a sentence longer than `size` on clause marks, then by hard cuts."""
    clauses = _cut(text, unit.start, unit.end, _clause_cuts(text, unit.start, unit.end), CLAUSE)
    clauses[-1].after = unit.after
    pieces: list[_Unit] = []
    for clause in clauses:
        pieces.extend(
            _hard_cut(text, clause, size) if clause.end - clause.start > size else [clause]
        )
    return pieces


def _units(text: str, start: int, end: int, size: int) -> list[_Unit]:
    """The section body [start, end) as units no longer than `size`."""
    cuts = _sentence_cuts(text, start, end)
    units: list[_Unit] = []
    pos = start
    for cut in [*sorted(cuts), end]:
        strength = cuts.get(cut, SECTION_OR_PARAGRAPH)
        s, e = _strip_span(text, pos, cut)
        if s < e:
            unit = _Unit(s, e, strength)
            units.extend(_split_long(text, unit, size) if e - s > size else [unit])
        elif units:
            units[-1].after = max(units[-1].after, strength)
        pos = cut
    if units:
        units[-1].after = SECTION_OR_PARAGRAPH
    return units


def _choose_end(units: list[_Unit], first: int, lo: int, hi: int, size: int) -> int:
    """The unit a chunk starting at `first` ends with, within [lo, hi] (hi fits)."""
    start = units[first].start
    for strength, need_half in ((SECTION_OR_PARAGRAPH, True), (SENTENCE, False), (CLAUSE, True)):
        ends = [
            k
            for k in range(lo, hi + 1)
            if units[k].after >= strength and (not need_half or units[k].end - start >= size // 2)
        ]
        if ends:
            return ends[-1]
    return hi


def _overlap_start(units: list[_Unit], first: int, last: int, size: int, overlap: int) -> int:
    """Where the chunk after units[first..last] starts: trailing whole sentences or last+1."""
    need = SENTENCE if units[last].after >= SENTENCE else CLAUSE
    for k in range(first + 1, last + 1):
        if units[k - 1].after < need:
            continue
        if units[last].end - units[k].start <= overlap and (
            units[last + 1].end - units[k].start <= size
        ):
            return k
    return last + 1


def _pack(units: list[_Unit], size: int, overlap: int) -> list[tuple[int, int]]:
    """Pack units into (start, end) chunk spans of at most `size` characters."""
    spans: list[tuple[int, int]] = []
    first, done = 0, -1
    while first < len(units):
        hi = first
        while hi + 1 < len(units) and units[hi + 1].end - units[first].start <= size:
            hi += 1
        last = _choose_end(units, first, max(first, done + 1), hi, size)
        spans.append((units[first].start, units[last].end))
        if last == len(units) - 1:
            break
        done = last
        first = _overlap_start(units, first, last, size, overlap)
    return spans


def chunk_spans(text: str, chunk_size: int, overlap: int) -> list[tuple[str, int, int]]:
    """Chunk Markdown `text`: a list of (section heading, char_start, char_end)."""
    spans: list[tuple[str, int, int]] = []
    for heading, start, end in _sections(text):
        units = _units(text, start, end, chunk_size)
        spans.extend((heading, s, e) for s, e in _pack(units, chunk_size, overlap))
    return spans


def chunk_id(article_id: str, title: str, section: str, text: str, seen: set[str]) -> str:
    """A content hash: unchanged text (and title, section) keeps its id across versions."""
    n = 0
    while True:
        parts = [article_id, title, section, text] + ([str(n)] if n else [])
        digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
        if digest not in seen:
            seen.add(digest)
            return digest
        n += 1


def _has_text(span: str) -> bool:
    """Whether a span has a letter or digit (is more than markup and punctuation)."""
    return any(ch.isalnum() for ch in span)


def _is_faq(doc: Document) -> bool:
    """Whether the document is an FAQ article (one chunk, even without answer text)."""
    return str(doc.meta.get("type", "")) == "faq"


@component
class ArticleChunker:
    """Cut article versions into citable chunks (see the module docstring for the rules).

    Each output Document's ``content`` is ``original[char_start:char_end]``; its meta is
    the input meta (deep-copied, without ``search_text``) plus ``section``,
    ``char_start``, ``char_end``, ``chunk_index``, ``chunk_count`` and, for FAQ,
    ``faq_text``.

    Ids are content hashes, ``sha256(article_id, title, section, text)[:32]`` with
    ``text`` the chunk content (``faq_text`` for FAQ), so a chunk that did not change
    between versions keeps its id and need not be re-embedded, while any change to what
    is embedded (title, heading, text, FAQ questions) gives a new id. The version is
    deliberately not in the id; ``version``, spans and indexes in meta may change while
    the id stays. Identical text repeated in one section gets a counter in the hash.
    """

    def __init__(self, chunk_size: int = 300, overlap: int = 60, progress: bool = False) -> None:
        """Store the target size and overlap, in characters (0 <= overlap < chunk_size);
        with ``progress``, a ``chunking`` line is shown on stderr when done."""
        if not isinstance(chunk_size, int) or chunk_size < 10:
            raise ConfigError(f"chunk_size must be an integer >= 10, got {chunk_size!r}")
        if not isinstance(overlap, int) or not 0 <= overlap < chunk_size:
            raise ConfigError(f"chunk_overlap must be in [0, chunk_size), got {overlap!r}")
        self.chunk_size = chunk_size
        self.overlap = overlap
        self.progress = progress

    def to_dict(self) -> dict[str, Any]:
        """Serialise the component's init parameters."""
        return default_to_dict(
            self, chunk_size=self.chunk_size, overlap=self.overlap, progress=self.progress
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArticleChunker:
        """Rebuild the component from `to_dict` output."""
        return default_from_dict(cls, data)

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """Chunk each article version; a non-FAQ document without text gives no chunk."""
        started = time.perf_counter()
        chunks: list[Document] = []
        for doc in documents:
            if _is_faq(doc) or (doc.content and doc.content.strip()):
                chunks.extend(self._chunk(doc))
        elapsed = time.perf_counter() - started
        stage_done("chunking", len(chunks), "passages", elapsed, progress_mode(self.progress))
        return {"documents": chunks}

    def _chunk(self, doc: Document) -> list[Document]:
        """The chunks of one article version."""
        meta = copy.deepcopy(doc.meta)
        meta.pop("search_text", None)
        article_id = meta.get("article_id")
        if not article_id:
            raise InvalidInput(f"document {doc.id}: meta has no article_id")
        text = doc.content or ""
        if _is_faq(doc):
            question = str(meta.get("question") or meta.get("title") or "").strip()
            start, end = _strip_span(text, 0, len(text)) if text.strip() else (0, 0)
            similar = [str(q).strip() for q in meta.get("similar_questions") or []]
            lines = [question, *(q for q in similar if q), text[start:end]]
            meta["faq_text"] = "\n".join(line for line in lines if line)
            spans = [(question, start, end)]
        else:
            spans = chunk_spans(text, self.chunk_size, self.overlap)
            if not any(_has_text(text[start:end]) for _, start, end in spans):
                spans = []  # only markup: nothing to cite
        seen: set[str] = set()
        out = []
        for index, (section, start, end) in enumerate(spans):
            chunk_meta = copy.deepcopy(meta)
            chunk_meta.update(
                section=section,
                char_start=start,
                char_end=end,
                chunk_index=index,
                chunk_count=len(spans),
            )
            hashed = chunk_meta.get("faq_text") or text[start:end]
            title = str(meta.get("title") or "")
            doc_id = chunk_id(str(article_id), title, section, hashed, seen)
            out.append(Document(id=doc_id, content=text[start:end], meta=chunk_meta))
        return out
