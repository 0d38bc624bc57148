"""Practice scoring (kb.quality.practice_scoring): facts of an answer, and verdicts on replies."""

from __future__ import annotations

import json
from pathlib import Path

from kb.formats.markdown import parse_markdown
from kb.quality.practice_scoring import key_facts, score_reply

ROOT = Path(__file__).resolve().parents[3]
INSURED = (
    "保价费为声明价值的 0.5%，最低 2 元，单票最高可保 30,000 元。"
    "如有疑问请拨打 400-000-1234。贵重物品请使用贵重物品专递寄送。"
)


def test_key_facts_are_figures_contacts_and_points():
    facts = key_facts(INSURED)
    assert [(f.kind, f.text) for f in facts] == [
        ("figure", "0.5%"),
        ("figure", "2 元"),
        ("figure", "30,000 元"),
        ("contact", "400-000-1234"),
        ("point", "贵重物品请使用贵重物品专递寄送"),
    ]
    assert facts[0].label == "保价费为声明价值"


def test_each_fact_is_given_missing_or_wrong():
    scored = score_reply(INSURED, "保价费是声明价值的1%，最低2元，电话400-000-1234。")
    status = {f.text: (f.status, f.said) for f in scored.facts}
    assert status["0.5%"] == ("wrong", "1%")
    assert status["2 元"] == ("given", "")
    assert status["30,000 元"] == ("missing", "")
    assert status["400-000-1234"] == ("given", "")
    assert scored.verdict == "wrong_figure"
    assert scored.score < 50


def test_verdicts():
    good = "保价费是声明价值的0.5%，最低2元，最高保3万元，电话400-000-1234，贵重物品用专递。"
    assert score_reply(INSURED, good).verdict == "good"
    assert score_reply(INSURED, good).score == 100
    assert score_reply(INSURED, "保价费是声明价值的0.5%。").verdict == "partial"
    assert score_reply(INSURED, "请拨打400-000-9999咨询保价。").verdict == "wrong_figure"
    off = score_reply(INSURED, "积分100分可以抵扣1元。")
    assert (off.verdict, off.score) == ("off_topic", 0.0)


def _agreement(name: str) -> float:
    bodies = {}
    for path in (ROOT / "articles").glob("*/*.md"):
        article = parse_markdown(path.read_text(encoding="utf-8"), path.name)
        bodies[article.id] = article.body
    lines = (ROOT / "tests" / "data" / name).read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines]
    hits = sum(
        score_reply(bodies[c["article_id"]], c["reply"]).verdict == c["expected"] for c in cases
    )
    return hits / len(cases)


def test_agreement_with_the_written_replies_stays_high():
    """The measured figures of docs/benchmarks.md (96 % dev, 100 % holdout) as floors."""
    assert _agreement("practice_replies.jsonl") >= 0.9
    assert _agreement("practice_replies_holdout.jsonl") >= 0.9
