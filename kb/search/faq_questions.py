"""The FAQ questions of an index version and their BM25 index, kept with the version.

``kb.search.faq.FaqMatcher`` scores a question against every FAQ's standard and similar
questions, lexically through a BM25 index over the questions alone. Segmenting every
question with jieba when a process loads an index was the largest part of its start-up at
100,000 chunks (60,000 questions, issue 16), so each index version stores that index
(``faq_bm25/``, written with the version; kept questions reuse their stored tokens, only
new FAQ chunks are segmented) and a reader loads it instead. A version without it (built
before, an overlay, another search store) gets it built from the questions, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from haystack import Document

from kb.search.bm25 import BM25Index, ChineseTokenizer
from kb.text import normalize_for_matching

#: Directory of the questions' BM25 index inside a version.
QUESTIONS_BM25_DIR = "faq_bm25"


def faq_questions(meta: dict[str, Any], content: str = "") -> list[str]:
    """The standard question and every similar question of an FAQ chunk, in order.

    Taken from meta ``question`` + ``similar_questions`` when present; otherwise from the
    chunker's ``faq_text`` (questions, then the answer) or, last, the ``section``.
    """
    questions = [str(meta.get("question") or "").strip()]
    questions += [str(q).strip() for q in meta.get("similar_questions") or []]
    questions = [q for q in questions if q]
    if not questions:
        faq_text = str(meta.get("faq_text") or "")
        answer = content.strip()
        if answer and faq_text.endswith(answer):
            faq_text = faq_text[: -len(answer)]
        questions = [line.strip() for line in faq_text.split("\n") if line.strip()]
    if not questions and meta.get("section"):
        questions = [str(meta["section"]).strip()]
    return list(dict.fromkeys(questions))


def chunk_questions(docs: Iterable[Document]) -> list[tuple[str, str]]:
    """``(question id, question)`` of every question of the FAQ chunks among ``docs``, in
    row order; a question's id is ``<chunk id>#<n>``."""
    out: list[tuple[str, str]] = []
    for doc in docs:
        if doc.meta.get("type") == "faq":
            questions = faq_questions(doc.meta, doc.content or "")
            out.extend((f"{doc.id}#{n}", q) for n, q in enumerate(questions))
    return out


def question_pairs(
    questions: Sequence[tuple[str, str]], tokenizer: ChineseTokenizer
) -> list[tuple[str, list[str]]]:
    """``(question id, BM25 tokens)``: each question in matching form, tokenised."""
    return [(qid, tokenizer.tokenize(normalize_for_matching(q))) for qid, q in questions]


def questions_bm25(
    docs: Sequence[Document],
    tokenizer: ChineseTokenizer,
    base: BM25Index | None = None,
    new_docs: Sequence[Document] = (),
) -> BM25Index | None:
    """The BM25 index of the questions of ``docs`` (None: no FAQ question).

    With ``base`` (the previous version's, same tokenizer) and ``docs`` = its kept chunks
    followed by ``new_docs``, only the new chunks' questions are segmented.
    """
    wanted = chunk_questions(docs)
    if not wanted:
        return None
    if base is not None and base.signature == tokenizer.signature:
        kept = {qid for qid, _ in chunk_questions(docs[: len(docs) - len(new_docs)])}
        added = question_pairs(chunk_questions(new_docs), tokenizer)
        updated = base.updated({qid for qid in base.ids if qid not in kept}, added)
        if updated.ids == [qid for qid, _ in wanted]:
            return updated
    return BM25Index.build(question_pairs(wanted, tokenizer), tokenizer)


def matches(index: BM25Index | None, docs: Iterable[Document], tokenizer: ChineseTokenizer) -> bool:
    """Whether a stored question index is that of ``docs``' questions, with this tokenizer."""
    return (
        index is not None
        and index.signature == tokenizer.signature
        and index.ids == [qid for qid, _ in chunk_questions(docs)]
    )
