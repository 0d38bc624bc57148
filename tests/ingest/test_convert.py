"""ArticleConverter and FileConverter: article versions and files in, Documents with meta out."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from haystack import Document, Pipeline

from ingest.convert import ArticleConverter, FileConverter
from kb.errors import InvalidInput
from kb.model import ArticleContent, ArticleType, Audience

REPO = Path(__file__).resolve().parents[2]
META_KEYS = {
    "article_id",
    "version",
    "title",
    "type",
    "lang",
    "audience",
    "tags",
    "owner",
    "effective_from",
    "effective_to",
    "review_due",
    "question",
    "similar_questions",
}

FAQ = ArticleContent(
    id="faq-refund",
    type=ArticleType.FAQ,
    title="退款多久到账",
    body="审核通过后3-5个工作日原路退回。\n",
    tags=["退款"],
    audience=Audience.INTERNAL,
    owner="客服部",
    effective_from=date(2026, 1, 1),
    effective_to=date(2026, 12, 31),
    review_due=date(2026, 6, 30),
    question="退款多久到账？",
    similar_questions=["钱什么时候退回来", "退款几天到"],
)

MARKDOWN = """---
id: policy-claims
type: policy
title: 理赔标准
lang: zh
audience: public
effective_from: 2026-02-01
---
# 保价快件

保价快件按保价金额赔偿。
"""


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF whose page shows ``text`` (ASCII) in Helvetica."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=300, height=200)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """One file of every supported kind in a directory (plus a skipped one)."""
    import docx

    root = tmp_path / "docs"
    root.mkdir()
    (root / "claims.md").write_text(MARKDOWN, encoding="utf-8")
    entries = [
        {
            "id": "faq-a",
            "question": "怎么取消订单？",
            "similar_questions": ["不想寄了"],
            "answer": "揽收前可免费取消。",
        },
        {"id": "faq-b", "question": "发票怎么开？", "answer": "订单完成后30天内在App申请。"},
    ]
    (root / "faq.jsonl").write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8"
    )
    (root / "notice.txt").write_text(
        "普通咨询5秒内响应。\n紧急工单4小时内处理。\n", encoding="utf-8"
    )
    (root / "page.html").write_text(
        "<html><head><title>退款政策</title></head><body><p>三天内退款。</p></body></html>",
        encoding="utf-8",
    )
    document = docx.Document()
    document.add_heading("保密制度", level=1)
    document.add_paragraph("不得向第三方透露客户的手机号。")
    document.save(str(root / "secret.docx"))
    (root / "english.pdf").write_bytes(pdf_bytes("Refunds are paid within seven days."))
    (root / "_draft.md").write_text("skipped", encoding="utf-8")
    return root


class TestArticleConverter:
    def test_init_validates(self) -> None:
        assert ArticleConverter().run(articles=[]) == {"documents": []}

    def test_to_dict(self) -> None:
        assert ArticleConverter().to_dict() == {
            "type": "ingest.convert.ArticleConverter",
            "init_parameters": {"progress": False},
        }

    def test_from_dict(self) -> None:
        restored = ArticleConverter.from_dict(ArticleConverter().to_dict())
        assert isinstance(restored, ArticleConverter)

    def test_run(self) -> None:
        (doc,) = ArticleConverter().run(articles=[(FAQ, 4)])["documents"]
        assert doc.content == FAQ.body
        assert set(doc.meta) == META_KEYS
        assert doc.meta["article_id"] == "faq-refund"
        assert doc.meta["version"] == 4
        assert doc.meta["type"] == "faq"
        assert doc.meta["audience"] == "internal"
        assert doc.meta["question"] == "退款多久到账？"
        assert doc.meta["similar_questions"] == ["钱什么时候退回来", "退款几天到"]
        assert (doc.meta["effective_from"], doc.meta["effective_to"]) == (
            "2026-01-01",
            "2026-12-31",
        )
        assert doc.meta["review_due"] == "2026-06-30"
        assert doc.id == "faq-refund@v4"

    def test_run_accepts_dicts_and_bare_content(self) -> None:
        record = {
            "article_id": "p1",
            "version": 2,
            "type": "policy",
            "title": "标题",
            "body": "正文。",
        }
        record["effective_from"] = "2027-01-01"
        docs = ArticleConverter().run(articles=[record, FAQ])["documents"]
        assert [(d.meta["article_id"], d.meta["version"]) for d in docs] == [
            ("p1", 2),
            ("faq-refund", 1),
        ]
        assert docs[0].meta["effective_from"] == "2027-01-01"
        assert docs[0].meta["effective_to"] is None
        assert docs[0].meta["audience"] == "public"

    def test_run_dict_round_trip_of_metadata(self) -> None:
        record = {"id": FAQ.id, "body": FAQ.body, "version": 3, **FAQ.metadata()}
        (from_dict,) = ArticleConverter().run(articles=[record])["documents"]
        (from_pair,) = ArticleConverter().run(articles=[(FAQ, 3)])["documents"]
        assert from_dict.meta == from_pair.meta
        assert from_dict.content == from_pair.content

    def test_run_rejects_bad_input(self) -> None:
        converter = ArticleConverter()
        with pytest.raises(InvalidInput, match="unknown field"):
            converter.run(articles=[{"id": "x", "title": "t", "colour": "red"}])
        with pytest.raises(InvalidInput, match="ISO date"):
            converter.run(articles=[{"id": "x", "title": "t", "effective_from": "soon"}])
        with pytest.raises(InvalidInput, match="needs a question"):
            converter.run(articles=[{"id": "x", "type": "faq", "title": "t"}])
        with pytest.raises(InvalidInput, match="version"):
            converter.run(articles=[(FAQ, -1)])
        with pytest.raises(InvalidInput, match="given twice"):
            converter.run(articles=[(FAQ, 1), (FAQ, 2)])
        with pytest.raises(InvalidInput, match="not str"):
            converter.run(articles=["faq-refund"])

    def test_run_in_pipeline(self) -> None:
        pipeline = Pipeline()
        pipeline.add_component("converter", ArticleConverter())
        restored = Pipeline.loads(pipeline.dumps(), allowed_modules=["ingest.convert"])
        out = restored.run({"converter": {"articles": [(FAQ, 2)]}})
        assert out["converter"]["documents"][0].meta["version"] == 2


class TestFileConverter:
    def test_init_validates(self) -> None:
        with pytest.raises(InvalidInput):
            FileConverter(version=-1)
        with pytest.raises(InvalidInput):
            FileConverter(default_type="memo")
        with pytest.raises(InvalidInput):
            FileConverter(max_bytes=0)
        with pytest.raises(InvalidInput):
            FileConverter(max_chars=0)

    def test_to_dict(self) -> None:
        assert FileConverter(version=0, default_type="regulation").to_dict() == {
            "type": "ingest.convert.FileConverter",
            "init_parameters": {
                "version": 0,
                "default_type": "regulation",
                "max_bytes": 20_000_000,
                "max_chars": 2_000_000,
                "progress": False,
            },
        }

    def test_from_dict(self) -> None:
        converter = FileConverter(version=0, default_type="faq", max_bytes=10, max_chars=5)
        restored = FileConverter.from_dict(converter.to_dict())
        assert (restored.version, restored.default_type, restored.max_bytes) == (0, "faq", 10)
        assert restored.max_chars == 5

    def test_run(self, files: Path) -> None:
        docs = FileConverter().run(sources=[files])["documents"]
        by_id = {d.meta["article_id"]: d for d in docs}
        assert set(by_id) == {
            "policy-claims",
            "faq-a",
            "faq-b",
            "notice",
            "page",
            "secret",
            "english",
        }
        for doc in docs:
            assert set(doc.meta) >= META_KEYS
            assert doc.meta["version"] == 1
            assert Path(doc.meta["source"]).parent == files
        claims = by_id["policy-claims"]
        assert claims.meta["effective_from"] == "2026-02-01"
        assert "保价快件按保价金额赔偿。" in claims.content
        assert by_id["faq-a"].meta["type"] == "faq"
        assert by_id["faq-a"].meta["question"] == "怎么取消订单？"
        assert by_id["faq-a"].meta["similar_questions"] == ["不想寄了"]
        assert by_id["faq-a"].content.strip() == "揽收前可免费取消。"
        assert "紧急工单4小时内处理。" in by_id["notice"].content
        assert by_id["page"].meta["title"] == "退款政策"
        assert "不得向第三方透露客户的手机号。" in by_id["secret"].content
        assert "Refunds are paid within seven days." in by_id["english"].content
        assert by_id["english"].meta["lang"] == "en"

    def test_run_single_files_and_default_type(self, files: Path) -> None:
        converter = FileConverter(version=0, default_type="regulation")
        docs = converter.run(sources=[files / "notice.txt", str(files / "claims.md")])["documents"]
        assert [(d.meta["article_id"], d.meta["type"], d.meta["version"]) for d in docs] == [
            ("notice", "regulation", 0),
            ("policy-claims", "policy", 0),
        ]

    def test_run_sample_articles(self) -> None:
        docs = FileConverter().run(sources=[REPO / "articles"])["documents"]
        assert len(docs) >= 60
        assert all(not d.meta["source"].split("/")[-2].startswith("_") for d in docs)
        faqs = [d for d in docs if d.meta["type"] == "faq"]
        assert faqs
        assert all(d.meta["question"] for d in faqs)

    def test_run_errors_name_the_file(self, files: Path) -> None:
        (files / "bad.jsonl").write_text("{not json\n", encoding="utf-8")
        with pytest.raises(InvalidInput, match=r"bad\.jsonl"):
            FileConverter().run(sources=[files])
        with pytest.raises(InvalidInput, match="no such file"):
            FileConverter().run(sources=[files / "missing.md"])
        with pytest.raises(InvalidInput, match="over the limit"):
            FileConverter(max_bytes=10).run(sources=[files / "claims.md"])

    def test_run_duplicate_ids(self, files: Path) -> None:
        (files / "copy.md").write_text(MARKDOWN, encoding="utf-8")
        with pytest.raises(InvalidInput, match="duplicate id 'policy-claims'"):
            FileConverter().run(sources=[files])

    def test_run_in_pipeline(self, files: Path) -> None:
        pipeline = Pipeline()
        pipeline.add_component("converter", FileConverter(version=7))
        restored = Pipeline.loads(pipeline.dumps(), allowed_modules=["ingest.convert"])
        out = restored.run({"converter": {"sources": [str(files / "claims.md")]}})
        docs: list[Document] = out["converter"]["documents"]
        assert [(d.meta["article_id"], d.meta["version"]) for d in docs] == [("policy-claims", 7)]
