"""The FAQ questions' BM25 index stored with each index version (issue 16): the same scores
as the index the FAQ matcher built at start-up before, updated without re-segmenting kept
questions, and built as before for a version that does not store it."""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
from haystack import Document

import kb.search.faq_questions as faq_questions
from kb.search.bm25 import BM25Index, ChineseTokenizer
from kb.search.faq import _question_bm25
from kb.search.faq_questions import QUESTIONS_BM25_DIR, chunk_questions
from kb.search.index import IndexStore
from kb.text import normalize_for_matching

DIM = 8
QUERIES = ["退款多久到账", "快递丢了怎么赔", "发票", "积分可以兑换什么", "zzz"]
FAQS = {
    "faq-refund": (
        "退款多久到账？",
        ["退款什么时候到", "钱多久退回来"],
        "一般3个工作日内原路退回。",
    ),
    "faq-lost": ("快递丢了怎么办？", ["包裹丢失如何赔偿"], "核实后按声明价值赔付。"),
    "faq-invoice": ("怎么开发票？", [], "在订单页申请电子发票。"),
}


def doc(article: str, i: int, version: int = 1, question: str | None = None) -> Document:
    """One chunk: an FAQ entry (``FAQS``) or a policy chunk, with a random unit vector."""
    seed = zlib.crc32(f"{article}:{version}".encode())  # hash() of str varies per process
    v = np.random.default_rng(seed).normal(size=DIM)
    meta: dict[str, object] = {"article_id": article, "version": version, "chunk_index": i}
    if article in FAQS:
        q, similar, answer = FAQS[article]
        meta.update(type="faq", question=question or q, similar_questions=similar)
    else:
        meta.update(type="policy")
        answer = "积分可以在商城兑换礼品，有效期一年。"
    cid = f"{article}:{version}:{i}"
    return Document(id=cid, content=answer, meta=meta, embedding=(v / np.linalg.norm(v)).tolist())


def rebuilt(docs: list[Document]) -> BM25Index:
    """The index the FAQ matcher built before: every question segmented again."""
    tokenizer = ChineseTokenizer()  # jieba's dictionary is shared: cheap
    texts = [normalize_for_matching(q) for _, q in chunk_questions(docs)]
    return BM25Index.build(((str(i), tokenizer.tokenize(t)) for i, t in enumerate(texts)))


def same_scores(a: BM25Index, b: BM25Index) -> None:
    for query in QUERIES:
        assert np.array_equal(a.scores(query), b.scores(query)), query


@pytest.fixture
def store(tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "index")


def test_a_version_stores_its_questions_index(store: IndexStore) -> None:
    store.write_version([doc(a, 0) for a in (*FAQS, "policy-points")], model_id="m")
    snap = store.open_snapshot()
    assert (snap.path / QUESTIONS_BM25_DIR).is_dir()
    stored = snap.stored_questions_bm25(store.tokenizer())
    assert stored is not None and len(stored) == 6  # 3 + 2 + 1 questions, none of the policy
    docs = list(snap.documents())
    same_scores(stored, rebuilt(docs))
    texts = [normalize_for_matching(q) for _, q in chunk_questions(docs)]
    assert _question_bm25(snap, texts, store.tokenizer()) is stored  # the matcher loads it


def test_an_update_segments_only_the_new_questions(
    store: IndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_version([doc(a, 0) for a in (*FAQS, "policy-points")], model_id="m")
    segmented: list[str] = []
    original = faq_questions.question_pairs

    def counting(questions, tokenizer):  # type: ignore[no-untyped-def]
        segmented.extend(q for _, q in questions)
        return original(questions, tokenizer)

    monkeypatch.setattr(faq_questions, "question_pairs", counting)
    # faq-refund gets a new version with another standard question; faq-invoice is withdrawn
    store.write_version(
        [doc("faq-refund", 0, version=2, question="退款几天能到账？")],
        model_id="m",
        remove_article_ids=["faq-invoice"],
    )
    assert segmented == ["退款几天能到账？", "退款什么时候到", "钱多久退回来"]
    snap = store.open_snapshot()
    stored = snap.stored_questions_bm25(store.tokenizer())
    assert stored is not None
    assert stored.ids == [qid for qid, _ in chunk_questions(snap.documents())]
    same_scores(stored, rebuilt(list(snap.documents())))
    assert store.write_version([], model_id="m", remove_article_ids=["nope"]).created is False


def test_a_version_without_it_builds_it_as_before(store: IndexStore) -> None:
    store.write_version([doc(a, 0) for a in FAQS], model_id="m")
    version = store.current_version()
    assert version is not None
    shutil.rmtree(store.versions_dir / version / QUESTIONS_BM25_DIR)
    snap = store.open_snapshot()
    assert snap.stored_questions_bm25(store.tokenizer()) is None
    docs = list(snap.documents())
    texts = [normalize_for_matching(q) for _, q in chunk_questions(docs)]
    built = _question_bm25(snap, texts, store.tokenizer())
    same_scores(built, rebuilt(docs))
    # and the next version stores one again, built from every question
    store.write_version([doc("policy-points", 0)], model_id="m")
    again = store.open_snapshot().stored_questions_bm25(store.tokenizer())
    assert again is not None
    same_scores(again, rebuilt(docs))


def test_a_version_without_faqs_stores_none(store: IndexStore) -> None:
    store.write_version([doc("policy-points", 0)], model_id="m")
    snap = store.open_snapshot()
    assert not (snap.path / QUESTIONS_BM25_DIR).exists()
    assert snap.stored_questions_bm25(store.tokenizer()) is None
