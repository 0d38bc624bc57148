"""``kb search``, ``kb suggest`` and ``kb eval`` through the real CLI, index and SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kb.cli.main import app
from kb.config import Config
from kb.store.db import Database
from kb.store.tables import QueryLog
from tests.kb.indexing import build_index, small_kb

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("kb-cli")
    config = Config(home=home)
    build_index(small_kb(), config, cache_path=home / "embeddings.sqlite3")
    return config.effective_index_dir


@pytest.fixture(autouse=True)
def use_index(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_INDEX_DIR", str(index_dir))


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


class TestSearchCommand:
    def test_json_results(self) -> None:
        code, out = invoke("search", "钱什么时候退回来", "--json", "--top-k", "3")
        assert code == 0, out
        data = json.loads(out)
        assert data["results"][0]["article_id"] == "faq-refund"
        assert len(data["results"]) <= 3
        assert data["filters"]["audience"] == "public"

    def test_filters(self) -> None:
        code, out = invoke(
            "search", "赔偿", "--type", "regulation", "--tag", "快递", "--as-of", "2026-11-22",
            "--json",
        )  # fmt: skip
        assert code == 0, out
        assert [r["article_id"] for r in json.loads(out)["results"]] == ["reg-express"]

    def test_public_by_default_internal_when_asked(self) -> None:
        question = "客户威胁投诉到媒体怎么办"
        _, public = invoke("search", question, "--json", "--top-k", "20")
        assert "policy-escalation-internal" not in public
        _, agent = invoke("search", question, "--json", "--audience", "internal")
        assert json.loads(agent)["results"][0]["article_id"] == "policy-escalation-internal"

    def test_table_output(self) -> None:
        code, out = invoke("search", "退款几天到账")
        assert code == 0, out
        assert "faq-refund" in out

    def test_bad_date_is_one_clean_line(self) -> None:
        code, out = invoke("search", "退款", "--as-of", "tomorrow")
        assert code == 1
        assert out.strip().startswith("error: as-of date must be YYYY-MM-DD")


class TestSuggestCommand:
    def test_answer_object(self, kb_home: Path) -> None:
        code, out = invoke("suggest", "退款几天能到账", "--json")
        assert code == 0, out
        data = json.loads(out)
        assert data["handoff"] is False
        assert data["mode"] == "faq"
        assert data["citations"][0]["article_id"] == "faq-refund"
        assert data["answer"].endswith("[1]")

    def test_handoff_is_queued_masked(self, kb_home: Path) -> None:
        code, out = invoke("suggest", "帮我订张机票，我的手机是13912345678", "--json")
        assert code == 0, out
        data = json.loads(out)
        assert data["handoff"] is True
        assert data["answer"] is None
        database = Database(f"sqlite:///{kb_home / 'kb.sqlite3'}")
        try:
            with database.session() as session:
                row = session.scalars(select(QueryLog)).one()
        finally:
            database.dispose()
        assert row.request_id == data["request_id"]
        assert row.handoff
        assert row.channel == "cli"
        assert "13912345678" not in row.question

    def test_personal_data_in_any_form_is_masked_in_the_query_log(self, kb_home: Path) -> None:
        question = (
            "退款几天到账？手机１３８１２３４５６７８，tel13912345678，"
            "身份证 110101 19900307 123X，卡CARD6222600260001072444，"
            "电话一五九零零一二三四五六，住阳光小区5栋1203"
        )
        code, out = invoke("suggest", question, "--json")
        assert code == 0, out
        database = Database(f"sqlite:///{kb_home / 'kb.sqlite3'}")
        try:
            with database.session() as session:
                stored = session.scalars(select(QueryLog.question)).one()
        finally:
            database.dispose()
        assert stored == (
            "退款几天到账？手机[手机号]，tel[手机号]，身份证 [身份证号]，"
            "卡CARD[银行卡号]，电话[手机号]，住[地址]"
        )

    def test_readable_output(self) -> None:
        code, out = invoke("suggest", "商品质量有问题，换货的来回运费谁出")
        assert code == 0, out
        assert "[1]" in out
        assert "policy-returns" in out
        assert "confidence" in out

    def test_a_pasted_message_with_two_questions_gets_two_answers(self, kb_home: Path) -> None:
        message = (
            "您好，单号SF1402348812345。退款几天能到账？"
            "另外，商品质量有问题，换货的来回运费谁出？谢谢"
        )
        code, out = invoke("suggest", message, "--json")
        assert code == 0, out
        data = json.loads(out)
        firsts = [p["citations"][0]["article_id"] for p in data["parts"]]
        assert firsts[0] == "faq-refund" and firsts[1].startswith("policy-returns")
        assert data["text"] and "[1]" not in data["text"]
        code, out = invoke("suggest", message)
        assert code == 0, out
        assert "question 1: 退款几天能到账" in out and "question 2: " in out
        database = Database(f"sqlite:///{kb_home / 'kb.sqlite3'}")
        try:
            with database.session() as session:
                rows = session.scalars(select(QueryLog)).all()
        finally:
            database.dispose()
        assert len(rows) == 2  # one row per request, not per question
        assert all("SF1402348812345" not in r.question for r in rows)


class TestReplayCommand:
    def test_a_past_answer_as_given_and_as_now(self, kb_home: Path) -> None:
        assert invoke("users", "add", "root", "--role", "admin")[0] == 0
        # (Replay asks the stored, masked question: with personal data in it, the
        # confidence may differ a little from the original's.)
        code, out = invoke("suggest", "退款几天能到账", "--json")
        assert code == 0, out
        given = json.loads(out)
        code, out = invoke("replay", given["request_id"], "--as", "root", "--json")
        assert code == 0, out
        replayed = json.loads(out)
        assert replayed["differences"] == []  # same index, same answer
        then = replayed["then"]
        assert then["index_version"] == given["index_version"]
        assert [c["article_id"] for c in then["citations"]] == ["faq-refund"]
        assert then["results"][0]["chunk_id"] == given["results"][0]["chunk_id"]
        assert then["threshold"] == given["threshold"] == 0.65  # confidence_threshold

        # Last week's answer came from an older index and cited version 1 (set in the
        # stored trace: rebuilding an older index here would take minutes).
        database = Database(f"sqlite:///{kb_home / 'kb.sqlite3'}")
        try:
            with database.session() as session:
                row = session.scalars(select(QueryLog)).one()
                old = dict(row.trace)
                old["index_version"], old["answer"] = "v-last-week", "快递丢失一律不予赔偿[1]"
                old["citations"] = [{**old["citations"][0], "version": 0}]
                row.trace = old
        finally:
            database.dispose()
        code, out = invoke("replay", given["request_id"], "--as", "root")
        assert code == 0, out
        text = " ".join(out.split())
        assert "answer: 快递丢失一律不予赔偿[1] ->" in text
        assert "citations: ['faq-refund v0'] -> ['faq-refund v" in text
        assert "index_version: v-last-week ->" in text

    def test_unknown_request_and_missing_role_are_one_line(self, kb_home: Path) -> None:
        invoke("users", "add", "root", "--role", "admin")
        invoke("users", "add", "agt", "--role", "agent", "--as", "root")
        code, out = invoke("replay", "nope", "--as", "root")
        assert (code, out.strip()) == (
            1, "error: no suggestion with request id 'nope' in the query log"
        )  # fmt: skip
        code, out = invoke("replay", "nope", "--as", "agt")
        assert code == 1 and out.startswith("error:") and "role" in out


class TestEvalCommand:
    def test_both_label_styles(self, tmp_path: Path) -> None:
        ids = tmp_path / "ids.jsonl"
        ids.write_text(
            json.dumps({"id": "1", "query": "钱什么时候退回来", "relevant": ["faq-refund"]})
            + "\n"
            + json.dumps({"id": "2", "query": "质量问题换货", "relevant": ["policy-returns"]})
            + "\n",
            encoding="utf-8",
        )
        spans = tmp_path / "spans.jsonl"
        label = {"id": "s", "query": "质量问题换货运费", "expect_any": ["來回運費由商城承擔"]}
        spans.write_text(json.dumps(label, ensure_ascii=False) + "\n", encoding="utf-8")
        code, out = invoke("eval", str(ids), str(spans), "--json", "--as-of", "2026-11-22")
        assert code == 0, out
        first, second = json.loads(out)
        assert (first["label_style"], first["queries"], first["hit_at_1"]) == ("id", 2, 1.0)
        assert first["mrr_at_10"] == 1.0
        assert (second["label_style"], second["hit_at_5"]) == ("text-span", 1.0)
        assert second["latency_p95_ms"] >= second["latency_p50_ms"] > 0

    def test_table_output_and_bad_file(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"query": "x"}\n', encoding="utf-8")
        code, out = invoke("eval", str(bad))
        assert code == 1
        assert "line 1" in out


def test_no_index_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "empty"))
    code, out = invoke("search", "退款")
    assert code == 1
    assert out.startswith("error:")
