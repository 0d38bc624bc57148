"""Tests for ingest.chunk.ArticleChunker, on hand-made articles and the real seeds."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from haystack import Document, Pipeline
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunk import ArticleChunker
from kb.errors import ConfigError, InvalidInput
from tests.shared import require

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
LONG_LINE_SEED = SEEDS / "001_e617dacae824e584.txt"
ENDS = "。！？；!?;"
CLOSERS = "”’\"')）]】」』》〕"


def article(content: str | None, **meta: object) -> Document:
    """An input document for one article version, with the usual meta."""
    base: dict[str, object] = {
        "article_id": "refund-policy",
        "version": 1,
        "title": "退款政策",
        "type": "policy",
        "lang": "zh",
        "audience": "public",
        "tags": ["退款"],
        "effective_from": "2024-01-01",
        "effective_to": None,
        "review_due": None,
    }
    base.update(meta)
    return Document(content=content, meta=base)


def chunk(text: str, size: int = 300, overlap: int = 60, **meta: object) -> list[Document]:
    """Chunk one article and return its chunks."""
    return ArticleChunker(size, overlap).run([article(text, **meta)])["documents"]


def seed(name: str) -> str:
    """The text of a seed document, read from ../shared at run time."""
    return require(SEEDS / name).read_text(encoding="utf-8")


def boundaries(text: str) -> list[int]:
    """Sentence boundaries by a simpler rule than the chunker's (a superset of them)."""
    found = {0, len(text)}
    found.update(m.end() for m in re.finditer(rf"[{ENDS}]+[{re.escape(CLOSERS)}]*", text))
    found.update(m.end() for m in re.finditer(r"\.(?=\s|[\u4e00-\u9fff])", text))
    for m in re.finditer(r"\n", text):
        found.update((m.start(), m.end()))
    return sorted(found)


def sentence_length_at(bounds: list[int], pos: int) -> int:
    """Length of the sentence (between test boundaries) that contains position pos."""
    before = max(b for b in bounds if b <= pos)
    after = min(b for b in bounds if b > pos)
    return after - before


def at_boundary(text: str, pos: int, bounds: set[int]) -> bool:
    """Whether pos is a boundary, ignoring whitespace around it."""
    left = pos
    while left > 0 and text[left - 1].isspace():
        left -= 1
    right = pos
    while right < len(text) and text[right].isspace():
        right += 1
    return any(b in bounds for b in range(left, right + 1))


def assert_invariants(text: str, chunks: list[Document], size: int) -> None:
    """Spans exact, stripped, sized, indexed, sentence-aligned and covering the text."""
    bounds = boundaries(text)
    bound_set = set(bounds)
    for i, doc in enumerate(chunks):
        start, end = doc.meta["char_start"], doc.meta["char_end"]
        assert text[start:end] == doc.content
        assert doc.content == doc.content.strip()
        assert doc.content
        assert len(doc.content) <= size
        assert doc.meta["chunk_index"] == i
        assert doc.meta["chunk_count"] == len(chunks)
        for pos in (start, end):
            if not at_boundary(text, pos, bound_set):
                assert sentence_length_at(bounds, pos) > size, (pos, doc.content)
    pieces, done = [], 0
    for doc in chunks:
        start, end = doc.meta["char_start"], doc.meta["char_end"]
        assert start <= done or not text[done:start].strip(), "text between chunks lost"
        pieces.append(doc.content[max(0, done - start) :])
        done = max(done, end)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", text)


class TestArticleChunker:
    """ArticleChunker: spans, sizes, overlap, sentences, sections, FAQ, ids, serialisation."""

    def test_spans_exact(self) -> None:
        text = "  \n普通咨询5秒内响应。紧急工单4小时内处理！\n\n  投诉需在24小时内回复？  \n"
        chunks = chunk(text, 25, 0)
        assert [d.content for d in chunks] == [
            "普通咨询5秒内响应。紧急工单4小时内处理！",
            "投诉需在24小时内回复？",
        ]
        for doc in chunks:
            assert text[doc.meta["char_start"] : doc.meta["char_end"]] == doc.content

    def test_size_bound(self) -> None:
        text = "。".join("客服需要耐心倾听客户的问题并及时给出解决方案" for _ in range(40)) + "。"
        chunks = chunk(text, 100, 20)
        assert len(chunks) > 5
        assert all(len(d.content) <= 100 for d in chunks)
        assert_invariants(text, chunks, 100)

    def test_overlap(self) -> None:
        text = "一二三四五六七八九。" * 12
        chunks = chunk(text, 50, 25)
        spans = [(d.meta["char_start"], d.meta["char_end"]) for d in chunks]
        assert spans[0] == (0, 50)
        for (_, prev_end), (start, _) in itertools.pairwise(spans):
            assert prev_end - start == 20  # two whole 10-char sentences fit in 25, three don't
        assert spans[-1][1] == len(text)

    def test_overlap_is_whole_sentences(self) -> None:
        text = seed("003_2922e10f2492373f.txt")
        chunks = chunk(text, 300, 60)
        overlaps = 0
        for prev, nxt in itertools.pairwise(chunks):
            shared = prev.meta["char_end"] - nxt.meta["char_start"]
            if shared <= 0 or prev.meta["section"] != nxt.meta["section"]:
                continue
            overlaps += 1
            assert shared <= 60
            assert prev.content.endswith(nxt.content[:shared])
            before = text[: nxt.meta["char_start"]].rstrip()
            assert before[-1] in ENDS + CLOSERS + "\n" or text[nxt.meta["char_start"] - 1] == "\n"
        assert overlaps > 5

    def test_zero_overlap(self) -> None:
        chunks = chunk("一二三四五六七八九。" * 12, 50, 0)
        for prev, nxt in itertools.pairwise(chunks):
            assert prev.meta["char_end"] <= nxt.meta["char_start"]

    def test_sentence_boundaries(self) -> None:
        text = (
            "客服应当在五秒内响应。" * 3 + "投诉处理需要记录客户姓名、电话和诉求；" * 3 + "谢谢！"
        )
        chunks = chunk(text, 40, 0)
        for doc in chunks:
            assert doc.content[-1] in "。；！", doc.content
        assert_invariants(text, chunks, 40)

    def test_long_sentence_splits_on_commas_then_hard(self) -> None:
        clauses = "，".join(f"第{i}项规定适用于所有订单" for i in range(30)) + "。"
        chunks = chunk(clauses, 60, 0)
        assert all(d.content.endswith(("，", "。")) for d in chunks)
        assert_invariants(clauses, chunks, 60)
        no_marks = "客" * 250
        hard = chunk(no_marks, 100, 0)
        assert [len(d.content) for d in hard] == [100, 100, 50]

    def test_headings_set_section(self) -> None:
        text = (
            "前言一句。\n\n# 退款政策\n\n## 时限\n普通咨询5秒内响应。\n\n```\n# 不是标题\n```\n\n"
            "## 空节\n\n### 子节\n子节内容。\n\n标题二\n---\n正文二。\n"
        )
        chunks = chunk(text)
        assert [(d.meta["section"], d.content) for d in chunks] == [
            ("", "前言一句。"),
            ("时限", "普通咨询5秒内响应。\n\n```\n# 不是标题\n```"),
            ("子节", "子节内容。"),
            ("标题二", "正文二。"),
        ]

    def test_chunks_never_cross_headings(self) -> None:
        body = "这是一个用于测试的句子。" * 30
        text = f"# 甲\n{body}\n# 乙\n{body}"
        chunks = chunk(text, 100, 30)
        second = text.index("# 乙")
        for doc in chunks:
            assert "#" not in doc.content
            inside_first = doc.meta["char_end"] <= second
            assert doc.meta["section"] == ("甲" if inside_first else "乙")

    def test_faq_single_unit(self) -> None:
        answer = "您可以在订单页面申请退款，" * 40 + "审核通过后三个工作日内到账。"
        meta = {
            "type": "faq",
            "article_id": "faq-refund",
            "question": "怎么申请退款？",
            "similar_questions": ["退款怎么操作", "如何退钱"],
        }
        chunks = chunk(f"\n {answer} \n", 100, 20, **meta)
        assert len(chunks) == 1
        doc = chunks[0]
        assert doc.content == answer
        assert doc.meta["section"] == "怎么申请退款？"
        assert doc.meta["faq_text"] == f"怎么申请退款？\n退款怎么操作\n如何退钱\n{answer}"
        assert (doc.meta["char_start"], doc.meta["char_end"]) == (2, 2 + len(answer))

    @pytest.mark.parametrize("answer", ["", "  \n ", None])
    def test_faq_without_answer_is_one_chunk_of_its_questions(self, answer: str | None) -> None:
        meta = {"type": "faq", "question": "怎么改地址", "similar_questions": ["地址写错了"]}
        chunks = ArticleChunker().run([article(answer, **meta)])["documents"]
        assert len(chunks) == 1
        assert chunks[0].content == ""
        assert (chunks[0].meta["char_start"], chunks[0].meta["char_end"]) == (0, 0)
        assert chunks[0].meta["faq_text"] == "怎么改地址\n地址写错了"
        assert chunks[0].meta["section"] == "怎么改地址"

    def test_decimals_not_split(self) -> None:
        text = "费率为0.05元。保费3.5%起。版本2.0已发布。"
        chunks = chunk(text, 12, 0)
        assert [d.content for d in chunks] == ["费率为0.05元。", "保费3.5%起。", "版本2.0已发布。"]

    def test_english_splits_on_period_space(self) -> None:
        text = "The refund takes 3 days. Call us e.g. by phone. Mr. Li will help."
        chunks = chunk(text, 30, 0, lang="en")
        assert [d.content for d in chunks] == [
            "The refund takes 3 days.",
            "Call us e.g. by phone.",
            "Mr. Li will help.",
        ]

    def test_list_numbers_are_not_sentences(self) -> None:
        text = "1. 深入了解业务。\n2. 提升沟通技巧。"
        chunks = chunk(text, 10, 0)
        assert [d.content for d in chunks] == ["1. 深入了解业务。", "2. 提升沟通技巧。"]

    def test_long_line_seed(self) -> None:
        text = seed(LONG_LINE_SEED.name)
        assert max(len(line) for line in text.split("\n")) > 4000
        chunks = chunk(text, 300, 60)
        assert len(chunks) > 20
        assert all(d.meta["section"] == "" for d in chunks)
        assert_invariants(text, chunks, 300)

    @pytest.mark.parametrize(
        "name",
        ["000_fc887c7ab885350d.txt", "002_0d14c75ee76f7379.txt", "003_2922e10f2492373f.txt"],
    )
    def test_other_seeds(self, name: str) -> None:
        text = seed(name)
        chunks = chunk(text, 300, 60)
        assert chunks
        assert_invariants(text, chunks, 300)

    def test_meta_copied(self) -> None:
        doc = article("第一句。第二句。", search_text="stale", tags=["退款"])
        chunks = ArticleChunker(300, 60).run([doc])["documents"]
        assert len(chunks) == 1
        meta = chunks[0].meta
        assert "search_text" not in meta
        assert "search_text" in doc.meta
        assert meta["tags"] == ["退款"]
        assert meta["tags"] is not doc.meta["tags"]
        assert meta["article_id"] == "refund-policy"
        assert meta["version"] == 1
        assert (meta["section"], meta["chunk_index"], meta["chunk_count"]) == ("", 0, 1)
        assert "faq_text" not in meta

    def test_deterministic_ids(self) -> None:
        text = seed("000_fc887c7ab885350d.txt")
        first = [d.id for d in chunk(text)]
        assert first == [d.id for d in chunk(text)]
        assert len(set(first)) == len(first)
        assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in first)

    def test_unchanged_chunk_keeps_id_across_versions(self) -> None:
        v1 = "# 时限\n普通咨询5秒内响应。\n# 投诉\n投诉24小时内回复。"
        v2 = "# 时限\n普通咨询5秒内响应。\n# 投诉\n投诉12小时内回复。"
        old = chunk(v1, version=1)
        new = chunk(v2, version=2)
        assert old[0].id == new[0].id
        assert new[0].meta["version"] == 2
        assert old[1].id != new[1].id
        assert chunk(v1, title="新标题")[0].id != old[0].id

    def test_repeated_text_gets_distinct_ids(self) -> None:
        chunks = chunk("同一句话。\n\n" + "x" * 300 + "\n\n同一句话。", 50, 0)
        same = [d for d in chunks if d.content == "同一句话。"]
        assert len(same) == 2
        assert same[0].id != same[1].id

    def test_to_dict_from_dict(self) -> None:
        chunker = ArticleChunker(chunk_size=200, overlap=40)
        data = chunker.to_dict()
        assert data["init_parameters"] == {"chunk_size": 200, "overlap": 40, "progress": False}
        restored = ArticleChunker.from_dict(data)
        assert (restored.chunk_size, restored.overlap) == (200, 40)
        pipeline = Pipeline()
        pipeline.add_component("chunker", restored)
        loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=["ingest.chunk"])
        result = loaded.run({"chunker": {"documents": [article("一句话。")]}})
        assert [d.content for d in result["chunker"]["documents"]] == ["一句话。"]

    @pytest.mark.parametrize(("size", "overlap"), [(0, 0), (300, 300), (300, -1), (5, 0)])
    def test_invalid_settings(self, size: int, overlap: int) -> None:
        with pytest.raises(ConfigError):
            ArticleChunker(size, overlap)

    def test_missing_article_id(self) -> None:
        with pytest.raises(InvalidInput):
            ArticleChunker().run([Document(content="一句话。", meta={"type": "policy"})])

    def test_empty_doc(self) -> None:
        docs = [article(""), article("  \n\u3000 \n"), article(None), article("有内容。")]
        chunks = ArticleChunker().run(docs)["documents"]
        assert [d.content for d in chunks] == ["有内容。"]
        assert ArticleChunker().run([])["documents"] == []

    @settings(max_examples=150, deadline=None)
    @given(data=st.data())
    def test_property_spans_and_coverage(self, data: st.DataObject) -> None:
        cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF)
        sentence = st.builds(
            lambda body, end: body + end,
            st.text(cjk, min_size=1, max_size=80),
            st.sampled_from(["。", "！", "？", "；", "，", ""]),
        )
        paragraph = st.lists(sentence, min_size=1, max_size=6).map("".join)
        heading = st.builds(
            lambda level, title: "#" * level + " " + title,
            st.integers(1, 6),
            st.text(cjk, min_size=1, max_size=10),
        )
        blocks = data.draw(st.lists(st.one_of(paragraph, heading), min_size=1, max_size=10))
        seps = data.draw(st.lists(st.sampled_from(["\n", "\n\n", " \n \n"]), min_size=len(blocks)))
        text = "".join(b + s for b, s in zip(blocks, seps, strict=False))
        size = data.draw(st.integers(20, 200))
        overlap = data.draw(st.integers(0, size // 3))
        chunks = chunk(text, size, overlap)

        heading_chars: set[int] = set()
        for m in re.finditer(r"^#{1,6} .*$", text, flags=re.MULTILINE):
            heading_chars.update(range(m.start(), m.end()))
        covered: set[int] = set()
        for doc in chunks:
            start, end = doc.meta["char_start"], doc.meta["char_end"]
            assert text[start:end] == doc.content
            assert len(doc.content) <= size
            covered.update(range(start, end))
        assert not covered & heading_chars
        wanted = {i for i, ch in enumerate(text) if not ch.isspace()} - heading_chars
        assert wanted <= covered
