"""Tests for ingest.normalize: search text beside untouched content."""

from __future__ import annotations

import pytest
from haystack import Document, Pipeline

from ingest.normalize import SEARCH_TEXT, TextNormalizer, normalize_query
from kb.errors import ConfigError
from kb.text import normalize_for_matching

TRADITIONAL = "中通客服工作培訓(xùn)體系：普通咨詢需在５秒內(nèi)響應(yīng)，VIP客戶優先。"


class TestTextNormalizer:
    def test_init(self) -> None:
        normalizer = TextNormalizer()
        assert normalizer.text_field is None
        assert normalizer.prefix_fields == []

    def test_init_rejects_empty_field(self) -> None:
        with pytest.raises(ConfigError):
            TextNormalizer(text_field="")

    def test_to_dict(self) -> None:
        assert TextNormalizer(text_field="faq_text", prefix_fields=["title"]).to_dict() == {
            "type": "ingest.normalize.TextNormalizer",
            "init_parameters": {"text_field": "faq_text", "prefix_fields": ["title"]},
        }

    def test_from_dict(self) -> None:
        data = TextNormalizer(text_field="faq_text", prefix_fields=["section"]).to_dict()
        normalizer = TextNormalizer.from_dict(data)
        assert normalizer.text_field == "faq_text"
        assert normalizer.prefix_fields == ["section"]

    def test_run(self) -> None:
        doc = Document(content=TRADITIONAL, meta={"article_id": "a1", "section": "標準"})
        out = TextNormalizer().run(documents=[doc])["documents"]
        assert len(out) == 1
        assert out[0].content == TRADITIONAL  # display and citations keep the original
        assert out[0].id == doc.id
        assert (
            out[0].meta[SEARCH_TEXT] == "中通客服工作培训体系:普通咨询需在5秒内响应,vip客户优先。"
        )
        assert out[0].meta["article_id"] == "a1"
        assert SEARCH_TEXT not in doc.meta  # input untouched

    def test_run_simplified_query_meets_traditional_text(self) -> None:
        doc = TextNormalizer().run(documents=[Document(content=TRADITIONAL)])["documents"][0]
        assert normalize_query("普通咨询需在5秒内响应") in doc.meta[SEARCH_TEXT]
        assert normalize_query("培训体系") in doc.meta[SEARCH_TEXT]

    def test_run_text_field_and_prefixes(self) -> None:
        doc = Document(
            content="可以，七天内无理由退货。",
            meta={"faq_text": "能退貨嗎\n怎麼退款\n可以，七天內無理由退貨。", "title": "退貨政策"},
        )
        plain = Document(content="正文", meta={"title": "標題"})
        normalizer = TextNormalizer(text_field="faq_text", prefix_fields=["title", "missing"])
        out = normalizer.run(documents=[doc, plain])["documents"]
        assert out[0].meta[SEARCH_TEXT] == "退货政策 能退货吗 怎么退款 可以,七天内无理由退货。"
        assert out[0].content == "可以，七天内无理由退货。"
        assert out[1].meta[SEARCH_TEXT] == "标题 正文"  # no faq_text: content is used

    def test_run_empty_and_none_content(self) -> None:
        docs = [Document(content=""), Document(content=None, meta={"k": 1})]
        out = TextNormalizer().run(documents=docs)["documents"]
        assert [d.meta[SEARCH_TEXT] for d in out] == ["", ""]
        assert TextNormalizer().run(documents=[])["documents"] == []

    def test_run_in_pipeline(self) -> None:
        pipeline = Pipeline()
        pipeline.add_component("normalize", TextNormalizer(prefix_fields=["title"]))
        restored = Pipeline.loads(pipeline.dumps(), allowed_modules=["ingest.normalize"])
        doc = Document(content="會(huì )員", meta={"title": "VIP"})
        result = restored.run({"normalize": {"documents": [doc]}})
        assert result["normalize"]["documents"][0].meta[SEARCH_TEXT] == "vip 会员"


def test_normalize_query_is_the_matching_form() -> None:
    assert normalize_query is normalize_for_matching
