"""Tests of the insights figures and page: grouped unanswered questions, feedback, stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kb.embedders import EmbedderSpec, create_backend
from kb.quality import insights as analytics
from kb.quality.unanswered import QuestionVectors
from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.tables import Feedback, QueryLog


def log(session, request_id, question, *, handoff, cited=(), ts=None):
    session.add(
        QueryLog(
            request_id=request_id,
            ts=ts or utcnow(),
            channel="app",
            requester="dave",
            audience="internal",
            question=question,
            answered=not handoff,
            handoff=handoff,
            confidence=0.2 if handoff else 0.9,
            reason="",
            cited_article_ids=list(cited),
        )
    )


def seed(home) -> None:
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with db.session() as session:
        log(session, "q1", "发票怎么开", handoff=True, ts=yesterday)
        log(session, "q2", "发票怎么开？", handoff=True)
        log(session, "q3", "发票怎么开具", handoff=True)
        log(session, "q4", "怎么修改收货地址", handoff=True)
        log(session, "a1", "快递丢了", handoff=False, cited=["faq-lost-parcel"])
        log(session, "a2", "延误赔偿", handoff=False, cited=["delay-compensation"])
        log(session, "a3", "包裹丢了", handoff=False, cited=["faq-lost-parcel"])
        session.flush()
        feedback = (("a1", True, None), ("a2", False, "faq-lost-parcel"), ("q4", True, None))
        for rid, helpful, correct in feedback:  # q4: a "helpful" on a hand-off, not counted
            session.add(
                Feedback(request_id=rid, ts=utcnow(), helpful=helpful, correct_article_id=correct)
            )
    db.dispose()


def test_group_questions_without_a_model_groups_identical_ones():
    groups = analytics.group_questions(
        [("发票怎么开", None), ("发票怎么开", None), ("改地址", None)], None
    )
    assert [(g.example, g.count) for g in groups] == [("发票怎么开", 2), ("改地址", 1)]


@pytest.mark.slow
def test_group_questions_merges_paraphrases_not_other_topics():
    backend = QuestionVectors(create_backend(EmbedderSpec()))
    questions = [
        "快递丢了怎么办",
        "我的快递丢了怎么办",
        "包裹丢失了咋办",
        "发票怎么开",
        "快递延误了怎么赔偿",
    ]
    groups = analytics.group_questions([(q, None) for q in questions], backend)
    assert groups[0].count == 3
    assert set(groups[0].questions) == {"快递丢了怎么办", "我的快递丢了怎么办", "包裹丢失了咋办"}
    assert len(groups) == 3
    remembered = backend.embed_query("包裹丢失了咋办")
    again = analytics.group_questions([(q, None) for q in questions], backend)
    assert [(g.example, g.count) for g in again] == [(g.example, g.count) for g in groups]
    assert len(backend) == len(questions)  # each question embedded once, then remembered
    assert backend.embed_query("包裹丢失了咋办") is remembered


def test_feedback_summary_and_most_cited(app_kb):
    seed(app_kb)
    db = Database(f"sqlite:///{app_kb / 'kb.sqlite3'}")
    with db.session() as session:
        summary = analytics.feedback_summary(session)
        cited = analytics.most_cited(session)
        daily = analytics.daily_counts(session)
    db.dispose()
    assert (summary.total, summary.helpful, summary.helpful_rate) == (2, 1, 0.5)
    assert summary.wrong_articles.to_dict("records") == [
        {
            "article_id": "delay-compensation",
            "title": "快件延误赔偿标准",
            "wrong": 1,
            "suggested_instead": "faq-lost-parcel",
        }
    ]
    assert cited.iloc[0].to_dict() == {
        "article_id": "faq-lost-parcel",
        "title": "快件丢失怎么办",
        "citations": 2,
    }
    assert int(daily["questions"].sum()) == 7
    assert int(daily["handoffs"].sum()) == 4


def test_insights_page_shows_queue_feedback_and_stale(page_test, app_kb):
    seed(app_kb)
    at = page_test("insights", "bob").run()
    assert not at.exception
    groups = [e.label for e in at.expander]
    assert groups[0].startswith("发票怎么开") and groups[0].endswith("（3 次）")
    assert any(g.startswith("怎么修改收货地址") for g in groups)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["有帮助比例"] == "50%"
    assert metrics["查询数"] == "7"
    stale = at.dataframe[-1].value
    assert set(stale["文章 ID"]) == {"refund-policy", "delay-compensation"}
    reasons = dict(zip(stale["文章 ID"], stale["原因"], strict=True))
    assert reasons["delay-compensation"].endswith("应复核")  # in Chinese, from the dates
    assert "天后" in reasons["refund-policy"]


def test_agents_do_not_see_insights(page_test):
    at = page_test("insights", "dave").run()
    assert "无权" in at.warning[0].value


def test_an_editor_accepts_a_correction_as_a_golden_question(page_test, app_kb):
    from sqlalchemy import select

    from kb.store.tables import GoldenQuestion

    seed(app_kb)
    at = page_test("insights", "alice").run()
    assert not at.exception
    assert any("延误赔偿" in m.value and "faq-lost-parcel" in m.value for m in at.markdown)
    assert any("快件丢失怎么办（faq-lost-parcel）" in m.value for m in at.markdown)  # titles
    [accept] = [b for b in at.button if b.key and b.key.startswith("in_accept_")]
    accept.click().run()
    assert not at.exception
    assert "延误赔偿" in at.success[0].value
    assert not [b for b in at.button if b.key and b.key.startswith("in_accept_")]
    db = Database(f"sqlite:///{app_kb / 'kb.sqlite3'}")
    with db.session() as session:
        row = session.scalars(select(GoldenQuestion)).one()
        assert (row.question, row.expected, row.source) == (
            "延误赔偿",
            ["faq-lost-parcel"],
            "feedback",
        )
        assert row.created_by == "alice"
    db.dispose()


def test_an_editor_adds_and_retires_a_golden_question_in_the_app(page_test, app_kb):
    from sqlalchemy import select

    from kb.store.tables import AuditEvent, GoldenQuestion

    at = page_test("insights", "alice").run()
    assert not at.exception
    at.text_input(key="gq_question").input("包裹丢了怎么赔")
    at.multiselect(key="gq_expected").select("faq-lost-parcel")
    [add] = [b for b in at.button if b.label == "添加黄金问题"]
    add.click().run()
    assert not at.exception
    assert "包裹丢了怎么赔" in at.success[0].value
    frame = next(f.value for f in at.dataframe if "#" in f.value.columns)
    assert frame.iloc[0]["客户问题"] == "包裹丢了怎么赔"
    assert frame.iloc[0]["应由文章"] == "faq-lost-parcel"
    [retire] = [b for b in at.button if b.label == "停用"]
    retire.click().run()
    assert "已停用" in at.success[0].value
    db = Database(f"sqlite:///{app_kb / 'kb.sqlite3'}")
    with db.session() as session:
        row = session.scalars(select(GoldenQuestion)).one()
        assert (row.question, row.expected, row.active) == (
            "包裹丢了怎么赔",
            ["faq-lost-parcel"],
            False,
        )
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "alice"))
        assert {"golden_add", "golden_remove"} <= set(actions)
    db.dispose()


def test_an_empty_golden_question_is_refused_with_a_message(page_test, app_kb):
    at = page_test("insights", "alice").run()
    [add] = [b for b in at.button if b.label == "添加黄金问题"]
    add.click().run()
    assert not at.exception
    assert at.error, "an empty question must be refused with a message"


def test_wrong_answer_feedback_links_to_the_article_and_the_suggestion(page_test, app_kb):
    seed(app_kb)
    db = Database(f"sqlite:///{app_kb / 'kb.sqlite3'}")
    with db.session() as session:
        [item] = analytics.wrong_answers(session)
    db.dispose()
    assert (item.request_id, item.cited, item.correct_article_id) == (
        "a2",
        ["delay-compensation"],
        "faq-lost-parcel",
    )  # the helpful a1 and the hand-off q4 are not wrong answers
    at = page_test("insights", "bob").run()
    assert not at.exception
    line = next(m.value for m in at.markdown if "history?request=a2" in m.value)
    assert "[快件延误赔偿标准](history?article=delay-compensation)" in line
    assert "[快件丢失怎么办](history?article=faq-lost-parcel)" in line
    wrong = next(f.value for f in at.dataframe if "被标为错误" in f.value.columns)
    row = wrong.iloc[0]
    assert row["版本历史"] == "history?article=delay-compensation"
    assert row["编辑"] == "editor?article=delay-compensation"


def test_a_request_link_opens_its_replay_on_the_history_page(page_test, app_kb):
    from kb.answer.suggest import Suggester
    from kb.config import load_config
    from kb.search.retrieval import Searcher

    config = load_config(env={"KB_HOME": str(app_kb)}).config
    db = Database(f"sqlite:///{app_kb / 'kb.sqlite3'}")
    answer = Suggester(config, searcher=Searcher(config), db=db).suggest("我的快递丢了怎么办？")
    db.dispose()
    at = page_test("history", "bob")
    at.query_params["request"] = answer.request_id
    at.run()
    assert not at.exception
    assert at.text_input(key="hi_replay_id").value == answer.request_id
    assert any("我的快递丢了怎么办" in m.value for m in at.markdown)  # that suggestion replayed
    assert "相同" in at.success[0].value
