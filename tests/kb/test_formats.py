"""File formats: Markdown front matter, bulk FAQ files, plain documents, encodings."""

from __future__ import annotations

import io
import os
import re
from datetime import date
from pathlib import Path

import pytest

from kb.errors import InvalidInput
from kb.formats.encoding import decode_text, read_text
from kb.formats.faq import parse_faq_file, render_faq_file
from kb.formats.markdown import parse_markdown, render_markdown
from kb.formats.plain import extract_plain, id_from_path
from kb.model import ArticleContent, ArticleType, Audience, distinct_questions
from kb.ui.errors import localize

FAQ_MD = """---
id: faq-refund-time
type: faq
title: 退款多久到账
lang: zh
tags: [退款, 售后]
audience: public
owner: 售后组
effective_from: 2025-01-01
effective_to: null
review_due: 2026-12-31
question: 退款多久能到账？
similar_questions:
  - 钱什么时候退回来
  - "退款: 怎么还没到"
---
退款审核通过后，**3-5个工作日**原路退回。
"""


class TestMarkdown:
    def test_parse_all_fields(self) -> None:
        article = parse_markdown(FAQ_MD, "a.md")
        assert article.id == "faq-refund-time"
        assert article.type is ArticleType.FAQ
        assert article.tags == ["退款", "售后"]
        assert article.audience is Audience.PUBLIC
        assert article.effective_from == date(2025, 1, 1)
        assert article.effective_to is None
        assert article.similar_questions == ["钱什么时候退回来", "退款: 怎么还没到"]
        assert article.body == "退款审核通过后，**3-5个工作日**原路退回。\n"

    def test_canonical_round_trip_is_byte_identical(self) -> None:
        article = parse_markdown(FAQ_MD, "a.md")
        rendered = render_markdown(article)
        assert parse_markdown(rendered, "b.md") == article
        assert render_markdown(parse_markdown(rendered, "b.md")) == rendered

    def test_policy_has_no_faq_fields(self) -> None:
        article = ArticleContent(id="p1", type=ArticleType.POLICY, title="T", body="# H\n\ntext\n")
        rendered = render_markdown(article)
        assert "question" not in rendered
        assert parse_markdown(rendered, "p.md") == article

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("---\nid: x\ntype: policy\n", "never closed"),
            ("---\nid: x\ntype: [policy\ntitle: t\n---\nbody", r"line \d+: malformed front matter"),
            ("---\nid: x\ntype: memo\ntitle: t\n---\nbody", "unknown type 'memo'"),
            ("---\nid: x\ntype: faq\ntitle: t\n---\nbody", "needs a question"),
            ("---\nid: x\ntitle: t\n---\nbody", "missing required field 'type'"),
            ("---\nid: x y\ntype: policy\ntitle: t\n---\nbody", "invalid id"),
            ("---\nid: x\ntype: policy\ntitle: t\nreview_due: soon\n---\nb", "review_due"),
            ("---\nid: x\ntype: policy\ntitle: t\ncolour: red\n---\nb", "unknown field"),
            ("---\n- a\n- b\n---\nb", "must be a mapping"),
            ("---\nid: x\ntype: policy\ntitle: t\nreview_due: 2026-13-01\n---\nb", "impossible"),
            ("---\nid: x\ntype: policy\ntitle: t\neffective_from: 2026-02-30\n---\nb", "impos"),
            ("---\nid: x\ntype: faq\ntitle: t\nquestion: [a, b]\n---\nb", "single value"),
            ("---\nid: x\ntype: policy\ntitle: {a: 1}\n---\nb", "title must be a single"),
            ("---\nid: " + "[" * 100_000 + "\n---\nb", r"front matter \(nested too deeply\)"),
            ("---\nid: x\ntype: policy\ntitle: [a, b]\n---\nb", "title must be a single"),
        ],
    )
    def test_bad_front_matter_is_a_clear_error(self, text: str, message: str) -> None:
        with pytest.raises(InvalidInput, match=message) as info:
            parse_markdown(text, "bad.md")
        assert "bad.md" in info.value.message

    def test_yaml_alias_bomb_is_refused_not_expanded(self) -> None:
        """A title built of nested aliases (a few hundred bytes, billions of items once
        printed) is refused at once instead of being turned into text."""
        names = ["&a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        names += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
        title = "{" + ", ".join(f"k{i}: {n}" for i, n in enumerate(names)) + "}"
        text = f"---\nid: lol\ntype: policy\ntitle: {title}\n---\nbody\n"
        # refused by the loader (an alias of a list), before any field is read
        with pytest.raises(InvalidInput, match=r"lol\.md.*alias \*a\d of a list or mapping"):
            parse_markdown(text, "lol.md")

    def test_yaml_is_loaded_safely(self) -> None:
        text = "---\nid: x\ntype: policy\ntitle: !!python/object/apply:os.system ['true']\n---\nb"
        with pytest.raises(InvalidInput, match="malformed"):
            parse_markdown(text, "evil.md")

    def test_aliases_of_lists_are_refused_before_they_expand(self) -> None:
        """A "billion laughs" front matter: 9 levels of aliases, 9**9 items as text."""
        levels = ["  - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        levels += [f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
        text = "---\nid: x\ntype: policy\ntitle:\n" + "\n".join(levels) + "\n---\nb"
        with pytest.raises(InvalidInput, match=r"evil.md line 6: .*alias \*a0"):
            parse_markdown(text, "evil.md")

    def test_a_control_character_is_refused_with_its_line(self) -> None:
        """Past the binary sniff (the first 8 KB), a NUL or an escape sequence is an error."""
        text = "---\nid: x\ntype: policy\ntitle: t\n---\n" + "a\n" * 5000 + "b\x00\x1b[2J\n"
        with pytest.raises(
            InvalidInput, match=r"nul.md line 5006 has a control character \(U\+0000\)"
        ):
            parse_markdown(text, "nul.md")

    def test_an_alias_of_a_plain_value_is_still_read(self) -> None:
        text = "---\nid: x\ntype: policy\ntitle: &t Returns\nowner: *t\n---\nb"
        assert parse_markdown(text, "ok.md").owner == "Returns"


class TestFaqFiles:
    def test_bq_faq_style_jsonl_round_trips(self) -> None:
        text = (
            '{"id": "bqdev-faq-00001", "question": "%0.05利率是多少"}\n'
            '{"id": "bqdev-faq-00002", "question": "开户处理失败是为什么"}\n'
        )
        articles = parse_faq_file(text, "c.jsonl", ".jsonl")
        assert [a.id for a in articles] == ["bqdev-faq-00001", "bqdev-faq-00002"]
        assert articles[0].type is ArticleType.FAQ
        assert articles[0].title == "%0.05利率是多少"
        assert render_faq_file(articles, ".jsonl") == text

    def test_full_entries_in_every_format(self) -> None:
        entry = {
            "id": "f1",
            "question": "怎么退货",
            "similar_questions": ["退货流程", "想退"],
            "answer": "七天无理由退货。",
            "tags": ["退货"],
            "audience": "internal",
            "review_due": "2026-01-01",
        }
        import json

        jsonl = json.dumps(entry, ensure_ascii=False) + "\n"
        base = parse_faq_file(jsonl, "x.jsonl", ".jsonl")
        for suffix in (".csv", ".yaml"):
            text = render_faq_file(base, suffix)
            again = parse_faq_file(text, f"x{suffix}", suffix)
            assert again == base, suffix
            assert render_faq_file(again, suffix) == text
        assert base[0].similar_questions == ["退货流程", "想退"]
        assert base[0].audience is Audience.INTERNAL

    @pytest.mark.parametrize(
        ("text", "suffix", "message"),
        [
            (
                '{"id": "a", "question": "q"}\n{"id": "b", "question"\n',
                ".jsonl",
                "line 2: invalid JSON",
            ),
            ('{"id": "a"}\n', ".jsonl", "line 1: missing required field 'question'"),
            ('{"id": "a", "question": "q", "colour": 1}\n', ".jsonl", "unknown field"),
            ("question,answer\nq,a\n", ".csv", "header"),
            ("id: a\n", ".yaml", "must be a list"),
            ("- id: a\n  question: [\n", ".yaml", "malformed YAML"),
            ("- id: a\n  question: q\n  review_due: 2026-13-01\n", ".yaml", "impossible value"),
            ('{"id": "a", "question": "q", "answer": ["x"]}\n', ".jsonl", "answer must be a sin"),
            ('{"id": "a", "question": {"q": 1}}\n', ".jsonl", "question must be a single"),
            (
                '{"id": "a", "question": "q"}\n{"id": "b", "question": "q", "answer": "a\\u0000"}',
                ".jsonl",
                r"line 2: answer has a control character \(U\+0000\)",
            ),
            ('{"id": "a", "question": "q\\u001b[2J"}', ".jsonl", r"question has a control"),
            ("id,question,tags\na,q,x|\x07\n", ".csv", r"line 2: tags has a control"),
            (
                'id,question,answer\na,q,"never closed\n' + ("x" * 100 + "\n") * 1400,
                ".csv",
                r"bad.csv line \d+: malformed CSV \(field larger than field limit",
            ),
            ("id,id,question\na,b,q\n", ".csv", "line 1: CSV header names id twice"),
            ('{"id": "a"}\n' + "[" * 100_000, ".jsonl", r"line 2: invalid JSON \(nested too deep"),
            ("- " + "[" * 100_000, ".yaml", r"bad.yaml: malformed YAML \(nested too deeply\)"),
            (
                "- id: a\n  question: q\n  answer:\n    - one\n    - two\n",
                ".yaml",
                "entry 1: answer must be a single value",
            ),
            ('{"id": "a", "question": {"zh": "q"}}', ".jsonl", "question must be a single"),
            ("- id: a\n  question: q\n  owner: [a, b]\n", ".yaml", "owner must be a single"),
            (
                "- id: a\n  question: &q [lol, lol]\n- id: b\n  question: [*q, *q]\n",
                ".yaml",
                r"line 4: malformed YAML \(alias \*q of a list or mapping",
            ),
        ],
    )
    def test_bad_faq_files(self, text: str, suffix: str, message: str) -> None:
        with pytest.raises(InvalidInput, match=message):
            parse_faq_file(text, f"bad{suffix}", suffix)


class TestEncodings:
    TEXT = "客服响应时间：普通咨询5秒内响应。"

    @pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
    def test_decodes_common_chinese_encodings(self, encoding: str) -> None:
        assert decode_text(self.TEXT.encode(encoding), "f.txt") == self.TEXT

    def test_binary_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="binary"):
            decode_text(b"\x89PNG\r\n\x1a\n\x00\x00", "f.txt")

    @pytest.mark.parametrize(
        ("encoding", "named"),
        [
            ("utf-16", "UTF-16"),  # with a byte-order mark, like Excel's "Unicode text"
            ("utf-16-le", "UTF-16"),
            ("utf-16-be", "UTF-16"),
            ("utf-32", "UTF-32"),
        ],
    )
    def test_wide_unicode_is_named_not_called_binary(self, encoding: str, named: str) -> None:
        data = ("id,question\nq1," + self.TEXT + "\n").encode(encoding)
        with pytest.raises(InvalidInput, match=f"f.csv: {named} text, .*save it as UTF-8"):
            decode_text(data, "f.csv")

    # A few lines of policy-like text each: short texts are where detectors fail.
    SIMPLIFIED = (
        "运费",
        "停运通知\n春节期间暂停揽收。\n",
        "第3条 退款 refund 5元以内免运费",
        "保价服务：声明价值的1%收取保价费，最低1元。",
        "客服热线400-123-4567，工作时间9:00-18:00。",
        "网点营业时间调整公告",
        "鲸驿速运理赔规定\n1. 丢失按声明价值赔偿。\n2. 破损按实际损失赔偿。\n",
    )
    TRADITIONAL = (
        "運費",
        "停運通知\n春節期間暫停攬收。\n",
        "第3條 退款 refund 5元以內免運費",
        "保價服務：聲明價值的1%收取保價費，最低1元。",
        "客服熱線400-123-4567，工作時間9:00-18:00。",
        "網點營業時間調整公告",
        "鯨驛速運理賠規定\n1. 遺失按聲明價值賠償。\n2. 破損按實際損失賠償。\n",
    )

    @pytest.mark.parametrize("text", SIMPLIFIED + TRADITIONAL)
    def test_short_gbk_texts(self, text: str) -> None:
        assert decode_text(text.encode("gbk"), "f.txt") == text

    @pytest.mark.parametrize("text", TRADITIONAL)
    def test_short_big5_texts(self, text: str) -> None:
        assert decode_text(text.encode("big5"), "f.txt") == text

    JAPANESE = (
        "返金ポリシー\nお客様は受け取り後七日以内に返品を申請できます。\n",
        "配送料金は全国一律です。お問い合わせは平日9時から18時まで受け付けます。",
    )

    # Kana-free EUC-JP ("返品") is valid GB2312 made of common characters: not tested.
    @pytest.mark.parametrize(
        ("text", "encoding"),
        [("返品", "shift_jis")] + [(t, e) for t in JAPANESE for e in ("shift_jis", "euc_jp")],
    )
    def test_japanese_is_refused_not_imported_as_chinese(self, text: str, encoding: str) -> None:
        with pytest.raises(InvalidInput, match=r"^notice\.txt: not UTF-8, GB18030/GBK or Big5"):
            decode_text(text.encode(encoding), "notice.txt")

    def test_refusal_names_the_detected_encoding(self) -> None:
        data = "返金ポリシー\nお客様は受け取り後七日以内に返品を申請できます。\n".encode(
            "shift_jis"
        )
        with pytest.raises(InvalidInput, match="best guess: cp932"):
            decode_text(data, "notice.txt")

    def test_latin1_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="not UTF-8"):
            decode_text("Café crème: refunds within 7 days.".encode("cp1252"), "en.txt")

    def test_private_use_characters_are_refused(self) -> None:
        # GB18030 maps its user-defined codes (here 0xAAA1) to the private-use area.
        data = "退款政策：七日内可以申请退款".encode("gbk") + b"\xaa\xa1\n"
        assert "\ue000" in data.decode("gb18030")
        with pytest.raises(InvalidInput, match=r"^p\.txt: read as GB18030/GBK, line 1 .*U\+E000"):
            decode_text(data, "p.txt")

    def test_replacement_character_is_refused(self) -> None:
        data = "退款政策\n七日内可以申请退款\ufffd".encode("gb18030")
        with pytest.raises(InvalidInput, match=r"line 2 .*U\+FFFD"):
            decode_text(data, "p.txt")

    def test_unreadable_paths_are_clear_errors(self, tmp_path: Path) -> None:
        """A missing file, a directory, a device or a pipe: one error naming the path, and
        nothing read (a device like /dev/zero would be read forever, a pipe wait forever)."""
        pipe = tmp_path / "pipe.md"
        os.mkfifo(pipe)
        cases = [
            (tmp_path / "missing.md", "cannot read"),
            (tmp_path, "cannot read|not a regular file"),
            (Path("/dev/zero"), "not a regular file"),
            (pipe, "not a regular file"),
        ]
        for path, message in cases:
            with pytest.raises(InvalidInput, match=message) as info:
                read_text(path, max_bytes=1000)
            assert str(path) in info.value.message

    def test_size_limit(self, tmp_path: Path) -> None:
        path = tmp_path / "big.txt"
        path.write_text("字" * 100, encoding="utf-8")
        with pytest.raises(InvalidInput, match="over the limit"):
            read_text(path, max_bytes=50)


class TestPlainDocuments:
    def test_id_from_path(self) -> None:
        assert id_from_path(Path("001_e617dacae824e584.txt")) == "001_e617dacae824e584"
        assert id_from_path(Path("退款 政策.txt")).startswith("doc-")

    def test_html(self) -> None:
        html = (
            "<html><head><title>退款政策</title><script>alert(1)</script></head>"
            "<body><nav>首页</nav><h1>退款</h1><p>三天内退款。</p></body></html>"
        ).encode()
        title, text = extract_plain(html, Path("r.html"))
        assert title == "退款政策"
        assert "三天内退款。" in text
        assert "alert" not in text and "首页" not in text

    def test_docx(self) -> None:
        import docx

        document = docx.Document()
        document.add_heading("理赔标准", level=1)
        document.add_paragraph("保价快件按保价金额赔偿。")
        buffer = io.BytesIO()
        document.save(buffer)
        title, text = extract_plain(buffer.getvalue(), Path("c.docx"))
        assert "# 理赔标准" in text and "保价快件按保价金额赔偿。" in text
        assert title == "理赔标准"

    def test_corrupt_docx_is_a_clear_error(self) -> None:
        with pytest.raises(InvalidInput, match=r"not a readable \.docx"):
            extract_plain(b"PK\x03\x04 not really", Path("c.docx"))

    def test_pdf(self) -> None:
        from pypdf import PdfWriter

        writer = PdfWriter()
        writer.add_blank_page(width=200, height=200)
        buffer = io.BytesIO()
        writer.write(buffer)
        with pytest.raises(InvalidInput, match="no text"):
            extract_plain(buffer.getvalue(), Path("blank.pdf"))

    def test_corrupt_pdf(self) -> None:
        with pytest.raises(InvalidInput, match=r"c\.pdf"):
            extract_plain(b"%PDF-1.4 garbage", Path("c.pdf"))


class TestArticleContent:
    def test_metadata_names_every_field_but_id_and_body(self) -> None:
        from dataclasses import fields

        article = ArticleContent(id="a", type=ArticleType.POLICY, title="T", body="b")
        every = {f.name for f in fields(ArticleContent)} - {"id", "body"}
        # translation_of only when set: the hashes of articles without a link stay the same
        assert set(article.metadata()) == every - {"translation_of"}
        article.translation_of = "b"
        assert set(article.metadata()) == every

    def test_content_hash_changes_with_any_field(self) -> None:
        article = ArticleContent(id="a", type=ArticleType.FAQ, title="T", body="b", question="q")
        other = ArticleContent(
            id="a", type=ArticleType.FAQ, title="T", body="b", question="q", tags=["x"]
        )
        assert article.content_hash() != other.content_hash()
        assert article.content_hash() == ArticleContent(**article.__dict__).content_hash()


def _faq(question: str = "怎么退款", similar: list[str] | None = None, **fields) -> ArticleContent:
    return ArticleContent(
        id="f1",
        type=ArticleType.FAQ,
        title=fields.pop("title", "退款"),
        body="答案\n",
        question=question,
        similar_questions=similar or [],
        **fields,
    )


class TestQuestions:
    """An FAQ's questions and the bounded fields: one clear error naming the article,
    never a question stored twice or a field of any size."""

    @pytest.mark.parametrize(
        ("similar", "message"),
        [
            (["怎么退款"], "similar question '怎么退款' repeats '怎么退款'"),
            (["怎么 退款"], "similar question '怎么 退款' repeats '怎么退款'"),
            (["如何退款", "如何退款"], "similar question '如何退款' repeats '如何退款'"),
            (
                ["How to refund", "How  to refund "],
                "similar question 'How  to refund ' repeats 'How to refund'",
            ),
            (["ＡＢＣ", "ABC"], "similar question 'ABC' repeats 'ＡＢＣ'"),
            (["如何退款", " "], "a similar question is empty"),
        ],
    )
    def test_a_question_given_twice_is_refused(self, similar: list[str], message: str) -> None:
        with pytest.raises(InvalidInput, match=re.escape(f"article f1: {message}")):
            _faq(similar=similar).validate()

    def test_different_questions_are_kept(self) -> None:
        similar = [
            "运费15元吗",
            "运费1.5元吗",
            "怎么退货",
            "退款多久到账",
            "运费多少？",
            "APP运费多少",
        ]
        assert _faq("app运费多少", similar).validate().similar_questions == similar

    def test_a_file_with_a_repeated_similar_question_names_the_file(self) -> None:
        text = (
            "---\nid: f1\ntype: faq\ntitle: t\nquestion: 怎么退款\n"
            "similar_questions: [怎么 退款]\n---\na\n"
        )
        with pytest.raises(InvalidInput, match=r"f1\.md: article f1: similar question"):
            parse_markdown(text, "f1.md")

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (lambda: _faq(title="长" * 1001), "title is longer than 1000 characters"),
            (lambda: _faq("问" * 1001), "the question is longer than 1000 characters"),
            (lambda: _faq(similar=["问" * 1001]), "is longer than 1000 characters"),
            (lambda: _faq(similar=[f"问题{i}" for i in range(1001)]), "more than 1000 similar"),
        ],
    )
    def test_huge_fields_are_refused(self, content, message: str) -> None:
        with pytest.raises(InvalidInput, match=message):
            content().validate()

    def test_the_refusals_are_said_in_chinese(self) -> None:
        cases = [
            (_faq(similar=["怎么 退款"]), "相似问 “怎么 退款” 与 “怎么退款” 重复"),
            (_faq(similar=[" "]), "有一个相似问为空"),
            (_faq(title="长" * 1001), "标题超过 1000 个字符"),
            (_faq("问" * 1001), "标准问超过 1000 个字符"),
            (_faq(similar=[f"问题{i}" for i in range(1001)]), "相似问超过 1000 个"),
        ]
        for content, chinese in cases:
            with pytest.raises(InvalidInput) as info:
                content.validate()
            said = localize(info.value.message, "zh")
            assert said is not None and chinese in said, info.value.message

    def test_distinct_questions_of_an_unanswered_group(self) -> None:
        asked = ["怎么退款", "怎么 退款", " ", "如何退款", "如何 退款", "退款多久到账"]
        assert distinct_questions("怎么退款", asked) == ["如何退款", "退款多久到账"]
        assert _faq(similar=distinct_questions("怎么退款", asked)).validate()
