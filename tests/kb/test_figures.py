"""Figures in text (kb.figures): kinds, base units, Chinese numerals, bounds, and the
words that say what a figure is about."""

from __future__ import annotations

import pytest

from kb.figures import cn_to_number, extract_figures


def only(text: str):
    (figure,) = extract_figures(text)
    return figure


@pytest.mark.parametrize(
    ("text", "kind", "value", "unit"),
    [
        ("退货期限为7天。", "duration", (168.0,), "hour"),
        ("签收后十五日内可以申请退货。", "duration", (360.0,), "hour"),
        ("二十四小时内处理完毕。", "duration", (24.0,), "hour"),
        ("材料齐全后 3 个工作日内给出结论。", "duration", (3.0,), "working day"),
        ("退款 3-5 个工作日到账。", "duration", (3.0, 5.0), "working day"),
        ("保管 6 个月。", "duration", (4320.0,), "hour"),
        ("单票声明价值最高 30,000 元。", "amount", (30000.0,), "yuan"),
        ("保价上限 1.5 万元。", "amount", (15000.0,), "yuan"),
        ("保价费为声明价值的 0.5%。", "percent", (0.5,), "%"),
        ("抵扣不超过实付金额的百分之三十。", "percent", (30.0,), "%"),
        ("最高不超过本票运费的两倍。", "multiple", (2.0,), "x"),
        ("单件重量超过 30 公斤的须预约。", "weight", (30.0,), "kg"),
        ("每月 2 次免运费退货。", "count", (2.0,), "次"),
        ("自 2027 年 1 月 1 日起施行。", "date", (2027.0, 1.0, 1.0), "date"),
        ("Refunds arrive within 5 working days.", "duration", (5.0,), "working day"),
        ("You may return goods within 7 days.", "duration", (168.0,), "hour"),
    ],
)
def test_kinds_and_base_units(text: str, kind: str, value: tuple, unit: str) -> None:
    figure = only(text)
    assert (figure.kind, figure.value, figure.unit) == (kind, value, unit)


def test_chinese_numerals() -> None:
    assert [cn_to_number(t) for t in ("七", "十", "十五", "二十四", "一百零八", "两万")] == [
        7,
        10,
        15,
        24,
        108,
        20000,
    ]


def test_ceilings_and_floors() -> None:
    assert only("7天内可以退货").bound == "upper"
    assert only("最高500元").bound == "upper"
    assert only("超出承诺时效 48 小时以上的退还运费").bound == "lower"
    assert only("至少 3 次").bound == "lower"


def test_years_ordinals_and_phone_numbers_are_not_quantities() -> None:
    assert [f.kind for f in extract_figures("2025年的规则：第3次投诉升级。")] == []
    assert extract_figures("热线 400-000-1234") == []


def test_terms_say_what_a_figure_is_about() -> None:
    figure = only("鲸驿优选商品自签收次日起 15 日内可以申请无理由退货。")
    assert {"退货", "无理由", "申请"} <= figure.terms
    assert {"退货", "申请"} <= figure.after
    first, second = extract_figures("普通会员退货期限为7天，金卡会员为15天。")
    assert "普通会员" in first.terms and "金卡会员" not in first.terms
    assert "金卡会员" in second.terms


def test_a_thousands_comma_does_not_split_the_clause() -> None:
    figure = only("金卡享每单 1,000 元免费保价")
    assert figure.value == (1000.0,) and "金卡" in figure.terms


def test_the_clause_segmenter_shares_the_search_dictionary() -> None:
    """One jieba dictionary per process (issue 16): the figures' segmenter is the search
    tokenizer's dictionary plus the domain words, and segments exactly as a private copy
    of jieba's dictionary with the domain words did."""
    import json
    from pathlib import Path

    import jieba

    from kb.figures import DOMAIN_WORDS, _tokenizer

    private = jieba.Tokenizer()
    for word in DOMAIN_WORDS:
        private.add_word(word, freq=100_000)
    shared = _tokenizer()
    assert dict.__len__(shared.FREQ) < 200  # its own entries: the domain words and prefixes
    assert shared.total == private.total
    data = Path(__file__).parents[1] / "data" / "sample_questions.jsonl"
    texts = [json.loads(line)["query"] for line in data.read_text("utf-8").splitlines()]
    texts += ["金卡会员的无理由退货期限为7天", "保价费按声明价值的1%收取，闪赔24小时到账"]
    texts += [" ".join(DOMAIN_WORDS), "钻石会员寄件券与运费险"]
    for text in texts:
        assert shared.lcut_for_search(text, HMM=False) == private.lcut_for_search(text, HMM=False)
        assert shared.lcut(text, HMM=False) == private.lcut(text, HMM=False)
