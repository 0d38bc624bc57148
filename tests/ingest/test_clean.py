"""Tests for ingest.clean: boilerplate goes, content stays, on the four real seed pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from haystack import Document, Pipeline
from hypothesis import given
from hypothesis import strategies as st

from ingest.clean import TextCleaner, clean_text
from kb.text import normalize_for_eval, strip_pinyin_annotations
from tests.conftest import SHARED
from tests.shared import require

SEEDS = SHARED / "seeds"
SEED_000 = "000_fc887c7ab885350d.txt"
SEED_001 = "001_e617dacae824e584.txt"
SEED_002 = "002_0d14c75ee76f7379.txt"
SEED_003 = "003_2922e10f2492373f.txt"
ALL_SEEDS = [SEED_000, SEED_001, SEED_002, SEED_003]

# Fragments found in each seed that are site boilerplate (compared after normalize_for_eval,
# so Simplified spellings cover the Traditional pages).
BOILERPLATE = {
    SEED_000: ["首页正文", "作者:刘嘉映", "人气:15"],
    SEED_001: [
        "体系_第1页", "体系_第5页", "已阅读5页", "还剩21页未读", "继续免费阅读", "下载本文档",
        "版权说明", "本文档由用户提供并上传", "收益归属内容提供方", "文档简介", "温馨提示",
        "本站所有资源如无特殊说明", "OFFICE2007", "WinRAR", "请联系上传者", "图纸预览",
        "未经权益所有人同意", "人人文库网", "请与我们联系,我们立即纠正",
        "不承担用户因使用这些下载资源",
        "最新文档", "提交评论", "0/150", "演讲人", "日期:", "CATALOGUE",
    ],
    SEED_002: [
        ".docx", "docxVIP", "本文档共6页", "足球投注网站", "book118", "侵权必究",
        "本站所有内容均由合作方或网友上传", "如何避免下载的几个坑", "版权申诉", "400-050-0827",
        "成为VIP会员后", "下载权益", "八大权益", "给予高额补贴", "查看更多", "文档评论(0)",
        "张恒+关注", "实名认证", "文档贡献者", "互联网专业", "1亿VIP精品文档", "相关文档",
    ],
    SEED_003: [
        "相关推荐", "相关文章", "个人特点怎样影响员工职业生涯发展08-28",
        "物业管理企业服务品质的提升",
        "网络技术的发展及特点01-29", "客户服务分类10-13", "今天小编为大家带来", "希望对您有帮助",
    ],
}  # fmt: skip

# Real content sentences that must survive (at least three per seed).
CONTENT = {
    SEED_000: [
        "晋升管理岗位:凭借丰富经验和能力,带领客服团队,提升整体服务水平。",
        "客户咨询解答:及时、准确地回复乘客和司机关于平台使用、功能、规则、计费等方面的问题咨询。",
        "协助乘客和司机处理订单相关问题,如订单取消、行程变更、物品遗失等。",
        "模拟演练:通过模拟复杂场景,锻炼客服人员的应对能力。",
        "(如电话、在线聊天、电子邮件等)",
    ],
    SEED_001: [
        "普通咨询需在5秒内响应,紧急问题需在10秒内响应。",
        "普通工单需在24小时内处理完毕,紧急工单需在4小时内处理完毕。",
        "接到投诉后,需在2小时内安抚客户情绪,并在24小时内给出初步解决方案。",
        "确认快递丢失后,与客户协商赔偿方案,提供快速理赔通道。",
        "针对客服态度不佳导致的投诉,需向客户致歉,并承诺加强培训,提升服务质量。",
        "严格保护客户隐私,不得泄露客户个人信息,如姓名、电话、地址等",
        "对于无法解决的投诉,及时升级至相关部门或领导,确保问题得到妥善解决",
        "中通快递的核心价值观是“诚信、责任、创新、共赢”",
        "知识库动态更新流程新知识入库",
        "中通客服工作培训体系",
    ],
    SEED_002: [
        "电商平台客服岗位职责与培训方案",
        "针对客户的投诉和纠纷,客服需具备良好的沟通能力,耐心倾听客户的诉求,妥善处理问题,确保客户满意度。",
        "案例分享:定期组织优秀客服分享处理案例,学习成功经验和教训。",
        "在处理客户咨询与投诉时,客服需始终保持专业态度,传达品牌的价值观,维护企业形象",
        "3.订单管理",
        "客服岗位在电商平台的运作中扮演着至关重要的角色",
    ],
    SEED_003: [
        "客户服务代表职业发展阶段性特点及管理提升",
        "挫折期一般出现在客户服务代表入职后的4-6个月",
        "工作积极性大幅下降;",
        "一直以来,公司都以微笑服务为己任,以顾客满意为宗旨",
        "态度诚恳,礼貌热情是一个合格客户服务人员的基本要求。",
        "(一)、新鲜期",
        "实施“员工帮助计划”(eap)",
        "(1)鉴于承担责任客服部的重要性",
        "当代心理学研究以及管理实践证实员工的职业发展是动态的并呈现出一定的阶段性。",
    ],
}

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_ANNOTATION_AFTER_HAN = re.compile(
    rf"[\u4e00-\u9fff]\s*[(（][a-z{_TONED} ]*[{_TONED}][a-z{_TONED} ]*[)）]"
)

CLEAN_MARKDOWN = """\
# 退款政策

## 一、适用范围

本政策适用于在平台购买商品的所有客户（普通会员与VIP会员）。

1. 订单金额满 100 元可申请 **7 天无理由退货**。
2. 退款将在 3-5 个工作日内原路返回：
   - 微信支付：1 个工作日
   - 银行卡：3–5 个工作日

| 问题类型 | 响应时限 |
|---|---|
| 普通咨询 | 5秒内响应 |
| 紧急工单 | 4小时内处理 |

> 温馨提示：客户信息不得泄露，如姓名、电话、地址等。

### 第3章 下载与上传

客户可在 App 中下载电子发票，或上传付款凭证（JPG/PNG，2MB 以内）。
服务时间：9:00-18:30，热线 400-050-0827。
详见 [投诉处理流程](complaints.md)（2024 版），参见第(二)节。

```
code  block   spacing
```
"""


def _seed(name: str) -> str:
    return require(SEEDS / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cleaned() -> dict[str, str]:
    """Every seed, cleaned once."""
    return {name: clean_text(_seed(name)) for name in ALL_SEEDS}


def _eval_cases() -> list:
    path = SHARED / "eval" / "seeds_dev.jsonl"
    if not path.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason="no seeds_dev.jsonl"))]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [pytest.param(row, id=row["id"]) for row in rows]


class TestCleanTextOnSeeds:
    @pytest.mark.parametrize("name", ALL_SEEDS)
    def test_boilerplate_removed(self, cleaned: dict[str, str], name: str) -> None:
        text = normalize_for_eval(cleaned[name])
        survivors = [f for f in BOILERPLATE[name] if normalize_for_eval(f) in text]
        assert survivors == []

    @pytest.mark.parametrize("name", ALL_SEEDS)
    def test_boilerplate_fragments_were_in_the_seed(self, name: str) -> None:
        """Guards the test above: every listed fragment really is in the raw page."""
        raw = normalize_for_eval(_seed(name))
        assert [f for f in BOILERPLATE[name] if normalize_for_eval(f) not in raw] == []

    @pytest.mark.parametrize("name", ALL_SEEDS)
    def test_content_kept(self, cleaned: dict[str, str], name: str) -> None:
        text = normalize_for_eval(cleaned[name])
        assert [s for s in CONTENT[name] if normalize_for_eval(s) not in text] == []

    @pytest.mark.parametrize("name", ALL_SEEDS)
    def test_idempotent(self, cleaned: dict[str, str], name: str) -> None:
        assert clean_text(cleaned[name]) == cleaned[name]

    @pytest.mark.parametrize("name", ALL_SEEDS)
    def test_no_pinyin_annotation_after_han(self, cleaned: dict[str, str], name: str) -> None:
        assert _ANNOTATION_AFTER_HAN.findall(cleaned[name]) == []

    @pytest.mark.parametrize("name", ALL_SEEDS)
    def test_keeps_the_original_script(self, cleaned: dict[str, str], name: str) -> None:
        raw_han = {c for c in _seed(name) if "\u4e00" <= c <= "\u9fff"}
        assert {c for c in cleaned[name] if "\u4e00" <= c <= "\u9fff"} <= raw_han

    def test_seed_001_page_lines_and_comment_box_gone(self, cleaned: dict[str, str]) -> None:
        lines = cleaned[SEED_001].splitlines()
        assert not any(re.search(r"第\d+頁", line) for line in lines)
        assert not {"評論", "溫馨提示", "文檔簡介", "下載本文檔"} & set(lines)
        assert "\ue077" not in cleaned[SEED_001]
        assert lines[0].startswith("中通客服工作培訓體系目錄客服崗位認知")

    def test_seed_000_keeps_paragraphs_and_lists(self, cleaned: dict[str, str]) -> None:
        raw_paragraphs = _seed(SEED_000).strip().split("\n\n")
        paragraphs = cleaned[SEED_000].split("\n\n")
        assert len(paragraphs) == len(raw_paragraphs) - 2  # 首页正文, 作者/人气
        assert paragraphs[0] == "滴滴客服岗位如何进行有效的职业规划与发展"
        assert "1. 深入了解业务:熟练掌握滴滴的各项产品、服务流程和常见问题解决方案。" in paragraphs
        assert (
            "10. 持续学习:不断学习平台业务知识、服务技巧等,提升自身服务水平和工作能力。"
            in (paragraphs[-1])
        )

    def test_seed_002_title_and_end(self, cleaned: dict[str, str]) -> None:
        lines = cleaned[SEED_002].splitlines()
        assert lines[0] == "电商平台客服岗位职责与培训方案"
        assert lines[-1].startswith("客服岗位在电商平台的运作中扮演着至关重要的角色")

    def test_seed_003_list_lines_lose_stray_commas(self, cleaned: dict[str, str]) -> None:
        lines = cleaned[SEED_003].splitlines()
        assert "工作積極性大幅下降;" in lines
        assert not any(line.startswith("、") for line in lines)
        assert lines[-1].startswith("十月份,已經是下半年一個黃金的階段了")


@pytest.mark.parametrize("row", _eval_cases())
def test_eval_expectations_survive_cleaning(row: dict) -> None:
    text = normalize_for_eval(clean_text(_seed(row["source"])))
    assert any(normalize_for_eval(e) in text for e in row["expect_any"]), row["expect_any"]


ARTICLES = Path(__file__).resolve().parents[2] / "articles"


def test_sample_articles_unchanged() -> None:
    """The editors' own Markdown knowledge base has no boilerplate: cleaning is a no-op."""
    files = sorted(p for p in ARTICLES.rglob("*") if p.is_file() and p.suffix in {".md", ".yaml"})
    assert len(files) >= 60  # the sample knowledge base ships with the repository
    changed = [str(p) for p in files if clean_text(t := p.read_text("utf-8")) != t]
    assert changed == []


class TestCleanTextRules:
    def test_empty(self) -> None:
        assert clean_text("") == ""
        assert clean_text(" \n\n\t\n") == ""

    def test_clean_markdown_unchanged(self) -> None:
        assert clean_text(CLEAN_MARKDOWN) == CLEAN_MARKDOWN

    def test_broken_characters_removed(self) -> None:
        assert clean_text("客户\ufffd信息\ue077保密\u200b。\x07") == "客户信息保密。"

    def test_line_ends_and_blank_lines(self) -> None:
        assert clean_text("第一段\r\n\r\n\r\n\r\n第二段  \r\n") == "第一段\n\n第二段\n"

    def test_space_runs_between_chinese_collapsed_but_not_indentation(self) -> None:
        text = "客服    需要\u3000\u3000耐心\n    缩进的代码"
        assert clean_text(text) == "客服 需要 耐心\n    缩进的代码"

    def test_ideographic_indent_removed(self) -> None:
        assert clean_text("\u3000\u3000客服需在5秒内响应。") == "客服需在5秒内响应。"

    def test_pinyin_annotations_removed(self) -> None:
        assert clean_text("培訓(xùn)體系 會(huì )議 機(jī)構(gòu)") == "培訓體系 會議 機構"

    def test_inline_reading_counter_removed(self) -> None:
        text = "前言已閱讀5頁,還剩21頁未讀, 繼續(xù)免費(fèi)閱讀正文"
        assert clean_text(text) == "前言正文"

    @pytest.mark.parametrize(
        "line",
        [
            "客户可在App中下载电子发票，或上传付款凭证。",
            "温馨提示：请勿向他人透露验证码。",
            "时间：9:00-18:00",
            "本文档适用于全体客服人员。",
            "作者应在提交前自查。",
            "相关文章请见知识库。",
            "请在第3页填写客户信息。",
            "评论区的差评需在24小时内回复。",
            "用户上传的凭证需在24小时内审核。",
        ],
    )
    def test_content_lines_that_look_like_boilerplate_kept(self, line: str) -> None:
        text = f"第一段。\n\n{line}\n\n最后一段内容在这里，说明处理流程。"
        assert clean_text(text) == text

    def test_notice_block_with_label_removed(self) -> None:
        text = (
            "正文第一段。\n\n温馨提示\n\n"
            "1. 本站所有资源如无特殊说明，都需要安装PDF阅读器。\n"
            "2. 下载文件中如有侵权，请联系上传者。\n"
            "3. 未经同意不得挪作商业用途。\n\n正文最后一段。"
        )
        assert clean_text(text) == "正文第一段。\n\n正文最后一段。"

    def test_footer_tail_removed_from_first_marker(self) -> None:
        text = "正文内容，说明处理流程。\n联系电话：95311\n文档评论(3)\n李四 + 关注\n专业客服"
        assert clean_text(text) == "正文内容，说明处理流程。\n联系电话：95311"

    def test_related_list_needs_dated_items(self) -> None:
        text = "正文。\n相关文章:\n退款流程说明03-12\n下一段正文，不是链接。"
        assert clean_text(text) == "正文。\n下一段正文，不是链接。"

    def test_meta_line_removed(self) -> None:
        assert clean_text("作者:张三 来源:客服部 浏览:120\n正文。") == "正文。"

    def test_file_title_suffix(self) -> None:
        assert clean_text("退款政策.pdf\n\n正文。") == "退款政策\n\n正文。"
        assert clean_text("正文。\n\n附件：申请表.docx") == "正文。\n\n附件：申请表.docx"


_LINE_POOL = [
    "",
    "",
    "正文第一段，说明处理流程。",
    "客服需在5秒内响应。",
    "1. 订单处理",
    "查看更多",
    "评论",
    "0/150",
    "相关文章:",
    "退款流程说明03-12",
    "温馨提示",
    "本站所有资源如无特殊说明，请下载阅读器。",
    "下载文件中如有侵权，请联系上传者。",
    "作者:张三 人气:15",
    "标题_第2页",
    "张三 + 关注",
    "退款政策.pdf",
    "、、努力学习",
    "培訓(xùn)體系",
    "已阅读5页,还剩2页未读",
    "   缩进  的   行  ",
]


@given(st.lists(st.sampled_from(_LINE_POOL), max_size=12))
def test_idempotent_on_mixed_lines(lines: list[str]) -> None:
    once = clean_text("\n".join(lines))
    assert clean_text(once) == once


class TestTextCleaner:
    def test_init(self) -> None:
        assert TextCleaner().keep_id is False
        assert TextCleaner(keep_id=True).keep_id is True

    def test_to_dict(self) -> None:
        assert TextCleaner(keep_id=True).to_dict() == {
            "type": "ingest.clean.TextCleaner",
            "init_parameters": {"keep_id": True},
        }

    def test_from_dict(self) -> None:
        cleaner = TextCleaner.from_dict(TextCleaner(keep_id=True).to_dict())
        assert cleaner.keep_id is True

    def test_run(self) -> None:
        doc = Document(content="首页正文\n\n培訓(xùn)內容", meta={"source": "a.txt", "tags": ["x"]})
        out = TextCleaner().run(documents=[doc])["documents"]
        assert len(out) == 1
        assert out[0].content == "培訓內容"
        assert out[0].meta == doc.meta
        assert out[0].meta is not doc.meta
        assert out[0].id != doc.id
        assert out[0].id == Document(content="培訓內容", meta=doc.meta).id
        assert doc.content == "首页正文\n\n培訓(xùn)內容"  # input untouched

    def test_run_keep_id_and_none_content(self) -> None:
        doc = Document(content="正文。\n\n\n\n结尾。", embedding=[0.1, 0.2])
        empty = Document(content=None, meta={"kind": "blob"})
        out = TextCleaner(keep_id=True).run(documents=[doc, empty])["documents"]
        assert out[0].id == doc.id
        assert out[0].content == "正文。\n\n结尾。"
        assert out[0].embedding is None  # it described the old text
        assert out[1] is empty

    def test_run_in_pipeline(self) -> None:
        pipeline = Pipeline()
        pipeline.add_component("clean", TextCleaner())
        restored = Pipeline.loads(pipeline.dumps(), allowed_modules=["ingest.clean"])
        result = restored.run({"clean": {"documents": [Document(content="下載本文檔\n正文")]}})
        assert [d.content for d in result["clean"]["documents"]] == ["正文"]


def test_strip_pinyin_is_what_cleaning_uses() -> None:
    raw = _seed(SEED_001)
    assert "培訓(xùn)" in raw
    assert "培訓(xùn)" not in clean_text(raw)
    assert strip_pinyin_annotations("培訓(xùn)") == "培訓"
