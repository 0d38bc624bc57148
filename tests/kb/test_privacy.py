"""Tests for kb.privacy: personal data masked in any width, spacing or script.

The labelled sets in tests/data (``pii_tune.jsonl``, ``pii_holdout.jsonl``) are scored
with the benchmark's own scorer (benchmarks/pii_masking.py, span-level) against floors
set from the measured figures minus a margin.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.pii_masking import OVERALL, SETS, load, score
from kb.config import load_config
from kb.errors import ConfigError
from kb.privacy import (
    TAGS,
    MaskingPolicy,
    active_policy,
    configure_masking,
    find_personal_data,
    mask_personal_data,
    matching_form,
)

#: Measured on every set: recall 1.000 and precision 1.000 overall, lowest class recall
#: 0.833 (docs/benchmarks.md); the floors leave a margin for a rule change that trades
#: one case for another.
RECALL_FLOOR = 0.95
PRECISION_FLOOR = 0.95
CLASS_RECALL_FLOOR = 0.8


@pytest.fixture(autouse=True)
def default_policy() -> None:
    """Each test starts (and leaves the process) with the default masking policy."""
    configure_masking(MaskingPolicy())
    yield
    configure_masking(MaskingPolicy())


class TestMasks:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("我的手机13812345678", "我的手机[手机号]"),
            ("手机：138 1234 5678。", "手机：[手机号]。"),
            ("电话 +86 138-1234-5678 谢谢", "电话 [手机号] 谢谢"),
            ("(+86)15012345678", "[手机号]"),
            ("请打１３８１２３４５６７８找我", "请打[手机号]找我"),
            ("tel13812345678", "tel[手机号]"),
            ("138.1234.5678", "[手机号]"),
            ("手机号一三八一二三四五六七八", "手机号[手机号]"),
            ("号码幺三八幺二三四五六七八。", "号码[手机号]。"),
            ("分机(021)87654321-123", "分机[电话]"),
            ("office （０２１）６２３４５６７８", "office [电话]"),
            ("证件号11010119900307123X。", "证件号[身份证号]。"),
            ("身份证 110101 19900307 123X", "身份证 [身份证号]"),
            ("旧身份证110101900307123", "旧身份证[身份证号]"),
            ("CARD6222600260001072444", "CARD[银行卡号]"),
            ("卡号6222 0212 3456 7890 123", "卡号[银行卡号]"),
            ("发到ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ，谢谢", "发到[邮箱]，谢谢"),
            ("邮箱是 abc123 @ 163.com", "邮箱是 [邮箱]"),
            ("护照号码：EA1234567", "护照号码：[护照号]"),
            ("My passport number is C01X00T47", "My passport number is [护照号]"),
            ("放在阳光小区5栋1203门口", "放在[地址]门口"),
            ("送到A座1201", "送到[地址]"),
            ("地址是3单元502室", "地址是[地址]"),
            ("我住在北京市朝阳区建国路88号", "我住在[地址]"),
            ("deliver to 221 Baker Street please", "deliver to [地址] please"),
            ("运单号SF1402348812345查不到", "运单号[单号]查不到"),
            ("我的QQ号 123456789，加一下", "我的QQ号 [账号]，加一下"),
            ("微信是zhangsan_1990", "微信是[账号]"),
            ("家里电话 8765 4321", "家里电话 [电话]"),
            ("收件人：王小明 13800001111", "收件人：[姓名] [手机号]"),
            ("Name: John Smith, phone 13912345678", "Name: [姓名], phone [手机号]"),
            ("order #A2023111500098 has not arrived", "order #[单号] has not arrived"),
            # dashes NFKC keeps, blanks doubled or tabbed, invisible characters inside
            ("手机138–1234–5678", "手机[手机号]"),
            ("手机138—1234—5678", "手机[手机号]"),
            ("手机 138  1234  5678 谢谢", "手机 [手机号] 谢谢"),
            ("手机138\t1234\t5678", "手机[手机号]"),
            ("手机138\u200b1234\u200b5678", "手机[手机号]"),
            ("身份证110101\u200d19900307\u2060123X", "身份证[身份证号]"),
            ("卡号6222\u00a0\u00a00212\u00a0\u00a03456 7890 123", "卡号[银行卡号]"),
            ("身份证 110101–19900307–123X", "身份证 [身份证号]"),
            ("手机号码是壹叁捌壹贰叁肆伍陆柒捌", "手机号码是[手机号]"),
        ],
    )
    def test_masks(self, raw: str, expected: str) -> None:
        assert mask_personal_data(raw) == expected

    @pytest.mark.parametrize(
        "kept",
        [
            "订单金额1299.00元，优惠券-20元",
            "普通咨询需在5秒内响应",
            "日期2024-03-15，时间9:00-18:30",
            "举报电话:400-050-0827",
            "客服热线95311",
            "根据第12条第3款处理",
            "折扣是85%，满200减30",
            "版本1.13.0",
            "第2024031512345号通知",
            "12345678901",  # eleven digits, but no mobile prefix
            "地铁2号线",
            "3号楼在哪里",
            "10楼会议室",
            "我买了三件，一共二百五十元",
            "客服工号 10086 的同事",
            "订单满99元包邮",
            "电话 400 820 8820 打不通",
            "微信支付了50元没到账",
            "条形码 6901234567892",
            "收件人：请填写完整",
            "客户：高兴地说收到了",
            "Name: Interim Regulations on Express Delivery",
            "王芳说快递丢了",  # names in running text are not masked (docs/privacy.md)
            "银行卡 3–7 个工作日到账，运费—共 12 元",
            "金额壹仟贰佰元整",
        ],
    )
    def test_keeps_ordinary_numbers_and_text(self, kept: str) -> None:
        assert mask_personal_data(kept) == kept

    def test_full_width_id_is_an_id_not_a_card(self) -> None:
        [found] = find_personal_data("身份证号１１０１０１１９９００３０７１２３４")
        assert found.kind == "id"

    def test_the_rest_of_the_text_is_kept_as_written(self) -> None:
        raw = "（急）请打１３８１２３４５６７８，ＶＩＰ客户！"
        assert mask_personal_data(raw) == "（急）请打[手机号]，ＶＩＰ客户！"

    def test_idempotent(self) -> None:
        once = mask_personal_data("手机13812345678 地址北京市朝阳区建国路88号5栋301室")
        assert mask_personal_data(once) == once

    @settings(max_examples=300, deadline=None)
    @given(
        st.text(
            alphabet="0123456789１３８ -.+()（）Xx@＠abEG路号栋单元室座小区一三八卡电话订单QQ微信"
        )
    )
    def test_masking_twice_changes_nothing(self, text: str) -> None:
        once = mask_personal_data(text)
        assert mask_personal_data(once) == once

    def test_matching_form_maps_every_character_back(self) -> None:
        form, origin = matching_form("ａ＠ｂ．ｃｎ ㈠")
        assert form == "a@b.cn (一)"
        assert origin == [0, 1, 2, 3, 4, 5, 6, 7, 7, 7]
        assert matching_form("电话一三八 一二三四 五六七八")[0] == "电话138 1234 5678"
        assert matching_form("一二三四五六")[0] == "一二三四五六"  # shorter than a number


class TestReferenceNumbers:
    def test_masked_by_default(self) -> None:
        assert mask_personal_data("订单号2024031512") == "订单号[单号]"

    def test_kept_when_the_setting_is_off(self) -> None:
        configure_masking(MaskingPolicy(mask_reference_numbers=False))
        assert mask_personal_data("运单号75123456789012查不到") == "运单号75123456789012查不到"
        assert mask_personal_data("运单号SF1402348812345") == "运单号SF1402348812345"
        assert mask_personal_data("手机13812345678") == "手机[手机号]"

    def test_extra_pattern_from_the_settings(self, kb_home: Path) -> None:
        kb_home.mkdir(parents=True, exist_ok=True)
        load_config(env={"KB_HOME": str(kb_home), "KB_REFERENCE_NUMBER_PATTERNS": r"WX-\d{6}"})
        assert active_policy().reference_number_patterns == r"WX-\d{6}"
        assert mask_personal_data("工单 WX-123456 已处理") == "工单 [单号] 已处理"

    def test_extra_pattern_applies_with_reference_numbers_kept(self) -> None:
        configure_masking(MaskingPolicy(False, r"WX-\d{6}"))
        assert mask_personal_data("WX-123456 和 运单号SF1402348812345") == (
            "[单号] 和 运单号SF1402348812345"
        )

    def test_bad_pattern_is_a_config_error_naming_the_setting(self) -> None:
        before = active_policy()
        with pytest.raises(
            ConfigError,
            match=r"^setting .reference_number_patterns. from .* must be empty or a valid regular",
        ):
            load_config(env={"KB_REFERENCE_NUMBER_PATTERNS": "WX-(\\d"})
        assert active_policy() == before  # nothing changed


class TestLabelledSets:
    @pytest.mark.parametrize("name", sorted(SETS))
    def test_recall_and_precision_stay_above_the_floor(self, name: str) -> None:
        items = load(SETS[name])
        scores = score(items)
        overall = scores[OVERALL]
        assert overall.recall >= RECALL_FLOOR, overall.misses
        assert overall.precision >= PRECISION_FLOOR, overall.misses
        for kind, s in scores.items():
            assert s.recall >= CLASS_RECALL_FLOOR, (kind, s.misses)

    def test_the_sets_cover_every_class_and_look_alikes(self) -> None:
        items = load(SETS["tune"]) + load(SETS["holdout"])
        assert len(items) >= 120
        kinds = {p["type"] for item in items for p in item["pii"]}
        assert kinds == set(TAGS)
        assert sum(not item["pii"] for item in items) >= 40


def test_a_long_run_of_digits_is_masked_in_bounded_time() -> None:
    """4,000 characters of digits and separators (2,000 groups) are masked without a hang.

    Looking for a number across all groups of a run was cubic: 1.35 s for 500 groups,
    so about 90 s for these 2,000; it is ~0.35 s now. The 10 s bound only catches the
    cubic search coming back (a hang), it is not a speed target.
    """
    started = time.perf_counter()
    mask_personal_data("1-" * 2000)
    assert time.perf_counter() - started < 10
