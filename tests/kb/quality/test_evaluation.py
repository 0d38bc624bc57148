"""``kb.quality.evaluation``: label styles, deduplication, metrics computed by hand on tiny sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.errors import InvalidInput
from kb.quality.evaluation import (
    EvalQuery,
    Hit,
    evaluate,
    first_hit_rank,
    load_queries,
    metrics,
    percentile,
    run_files,
)
from kb.search.filters import SearchFilters


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


class TestLoading:
    def test_reads_both_label_styles(self, tmp_path: Path) -> None:
        path = write_jsonl(
            tmp_path / "mixed.jsonl",
            [
                {"id": "q1", "query": "退款几天到", "relevant": ["faq-refund"]},
                {"id": "q2", "query": "响应标准", "expect_any": ["5秒内响应"], "source": "x.txt"},
                {"id": "q3", "query": "升级", "relevant": ["p"], "audience": "internal"},
            ],
        )
        q1, q2, q3 = load_queries(path)
        assert (q1.style, q1.relevant, q1.audience) == ("id", ("faq-refund",), "public")
        assert (q2.style, q2.expect_any, q2.source) == ("text-span", ("5秒内响应",), "x.txt")
        assert q3.audience == "internal"

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            ("not json", "line 2: not valid JSON"),
            ('{"query": "q"}', "exactly one of"),
            ('{"query": "q", "relevant": [], "id": "x"}', "non-empty list"),
            ('{"relevant": ["a"]}', "missing 'query'"),
            ('{"query": "q", "relevant": ["a"], "audience": "all"}', "audience"),
        ],
    )
    def test_bad_lines_name_the_line(self, tmp_path: Path, line: str, message: str) -> None:
        path = tmp_path / "bad.jsonl"
        path.write_text('{"query": "ok", "relevant": ["a"]}\n' + line + "\n", encoding="utf-8")
        with pytest.raises(InvalidInput, match=message):
            load_queries(path)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidInput, match="cannot read"):
            load_queries(tmp_path / "nope.jsonl")


def ranked(*article_ids: str) -> list[Hit]:
    return [Hit(a, f"passage of {a}", f"{a}#{i}") for i, a in enumerate(article_ids)]


class TestRanks:
    def test_id_labels_count_each_article_once(self) -> None:
        q = EvalQuery("q", "x", relevant=("c",))
        # b appears three times before c: removed per article, c is at rank 2, not 4
        assert first_hit_rank(q, ranked("b", "b", "b", "c")) == 2
        assert first_hit_rank(q, ranked("a", "b")) is None

    def test_only_the_top_ten_count(self) -> None:
        q = EvalQuery("q", "x", relevant=("hit",))
        others = [f"n{i}" for i in range(10)]
        assert first_hit_rank(q, ranked(*others, "hit")) is None
        assert first_hit_rank(q, ranked(*others[:9], "hit")) == 10

    def test_text_spans_are_matched_after_normalisation(self) -> None:
        q = EvalQuery("q", "x", expect_any=("普通咨询5秒内响应",))
        hits = [
            Hit("doc", "无关的段落", "c1"),
            Hit("doc", "普 通 諮 詢(zī xún) 5 秒內響應，紧急工单4小时内处理", "c2"),
        ]
        # passages of the same article are ranked separately for span labels
        assert first_hit_rank(q, hits) == 2
        assert first_hit_rank(q, [Hit("doc", "普通咨询10秒内响应", "c3")]) is None


class TestMetrics:
    def test_hand_computed(self) -> None:
        # ranks 1, 2, 6, none  ->  hit@1 1/4, hit@5 2/4, MRR@10 (1 + 1/2 + 1/6 + 0) / 4
        m = metrics([1, 2, 6, None])
        assert m["hit_at_1"] == pytest.approx(0.25)
        assert m["hit_at_5"] == pytest.approx(0.5)
        assert m["mrr_at_10"] == pytest.approx((1 + 0.5 + 1 / 6) / 4)

    def test_percentiles(self) -> None:
        values = [float(v) for v in range(1, 101)]
        assert percentile(values, 50) == pytest.approx(50.5)
        assert percentile(values, 95) == pytest.approx(95.05)
        assert percentile([], 95) == 0.0

    def test_evaluate_a_tiny_labelled_set(self, tmp_path: Path) -> None:
        answers = {
            "退款几天到": ranked("faq-refund", "policy-refund"),  # rank 1
            "积分咋用": ranked("faq-vip", "faq-vip", "policy-points"),  # rank 2 after dedup
            "改地址": ranked("a", "b", "c", "d", "e", "faq-address"),  # rank 6
            "天气": ranked("a", "b"),  # miss
        }
        seen_filters: list[SearchFilters] = []

        def retrieve(query: EvalQuery, filters: SearchFilters, passages: bool) -> list[Hit]:
            seen_filters.append(filters)
            assert passages is False
            return answers[query.query]

        path = write_jsonl(
            tmp_path / "tiny.jsonl",
            [
                {"id": "1", "query": "退款几天到", "relevant": ["faq-refund"]},
                {"id": "2", "query": "积分咋用", "relevant": ["policy-points"]},
                {"id": "3", "query": "改地址", "relevant": ["faq-address"]},
                {"id": "4", "query": "天气", "relevant": ["faq-weather"], "audience": "internal"},
            ],
        )
        (report,) = run_files([path], retrieve, as_of="2026-11-22")
        assert report.queries == 4
        assert report.label_style == "id"
        assert report.hit_at_1 == pytest.approx(0.25)
        assert report.hit_at_5 == pytest.approx(0.5)
        assert report.mrr_at_10 == pytest.approx(round((1 + 0.5 + 1 / 6) / 4, 4))
        assert [o.rank for o in report.outcomes] == [1, 2, 6, None]
        assert report.latency_p95_ms >= report.latency_p50_ms >= 0
        assert [f.audience for f in seen_filters] == ["public", "public", "public", "internal"]
        assert {f.as_of.isoformat() for f in seen_filters} == {"2026-11-22"}
        assert "outcomes" not in report.to_dict()
        assert len(report.to_dict(with_outcomes=True)["outcomes"]) == 4

    def test_span_labels_ask_for_passages(self) -> None:
        asked: list[bool] = []

        def retrieve(query: EvalQuery, filters: SearchFilters, passages: bool) -> list[Hit]:
            asked.append(passages)
            return [Hit("doc", "客服须在5秒内响应", "c1")]

        q = EvalQuery("s", "响应时间", expect_any=("5秒内响应",))
        report = evaluate("spans", [q], retrieve)
        assert asked == [True]
        assert report.hit_at_1 == 1.0
