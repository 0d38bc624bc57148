"""Practice rounds through the service layer on a real SQLite file (review.practice)."""

from __future__ import annotations

import pytest

from kb.errors import Conflict, Forbidden, InvalidInput, NotFound
from kb.model import ArticleContent, ArticleType, Audience
from kb.store.db import Database
from kb.store.tables import AuditEvent, PracticeRound
from review import editing, golden, practice, users, workflow
from tests.review.helpers import publish_article, run

INSURED = "保价费为声明价值的 0.5%，最低 2 元，单票最高可保 30,000 元。"
GOOD = "保价费是声明价值的0.5%，最低2元，单票最高可以保30000元。"


def publish_faq(db: Database, article_id: str, body: str, similar: list[str], **fields) -> None:
    faq = ArticleContent(
        id=article_id, type=ArticleType.FAQ, title=article_id, question=similar[0] + "？",
        similar_questions=similar, body=body, **fields,
    )  # fmt: skip
    with db.session() as session:
        editing.create_draft(session, "ann", faq)
    run(db, workflow.submit, "ann", article_id)
    run(db, workflow.approve, "rex", article_id)
    run(db, workflow.publish, "pia", article_id)


@pytest.fixture
def kb(people: Database) -> Database:
    """An insured-value FAQ (public), an internal FAQ, a policy and a supervisor."""
    with people.session() as session:
        users.add_user(session, "root", "sue", ["supervisor"])
        users.add_user(session, "root", "agt2", ["agent"])
    publish_faq(people, "faq-insured", INSURED, ["保价费多少钱", "寄手机要保价吗"], tags=["保价"])
    publish_faq(
        people, "faq-limit", "坐席可直接赔付 500 元以内。", ["坐席能赔多少"],
        audience=Audience.INTERNAL, tags=["赔付"],
    )  # fmt: skip
    publish_article(people, "refund", "退货期限为7天。\n", tags=["退货"])
    return people


def start(db: Database, actor: str = "agt", **kwargs) -> dict:
    with db.session() as session:
        return practice.round_dict(practice.start_round(session, actor, **kwargs))


def test_questions_come_from_similar_and_golden_questions(kb: Database):
    with kb.session() as session:
        golden.add(session, "ann", "退货能退几天", ["refund"])
    with kb.session() as session:
        pool = practice.questions(session, "public", [], [])
        found = {(q.text, q.source, q.row.article_id) for q in pool}
    assert found == {
        ("保价费多少钱", "similar", "faq-insured"),
        ("寄手机要保价吗", "similar", "faq-insured"),
        ("退货能退几天", "golden", "refund"),
    }


def test_a_public_round_never_uses_internal_material(kb: Database):
    with kb.session() as session:
        golden.add(session, "ann", "坐席赔付上限", ["faq-limit"])
    data = start(kb, size=20)
    assert {q["question"] for q in data["questions"]} == {"保价费多少钱", "寄手机要保价吗"}
    with kb.session() as session, pytest.raises(InvalidInput, match="no questions"):
        practice.start_round(session, "agt", tags=["赔付"])
    internal = start(kb, tags=["赔付"], audience="internal", size=20)
    assert {q["question"] for q in internal["questions"]} == {"坐席能赔多少", "坐席赔付上限"}


def test_a_round_is_scored_and_ends_with_its_score(kb: Database):
    data = start(kb, tags=["保价"], size=2, seed=3)
    rid = data["id"]
    with kb.session() as session:
        first = practice.answer(session, "agt", rid, 1, GOOD)
        assert (first.verdict, first.score) == ("good", 100.0)
        assert session.get(PracticeRound, rid).score is None  # one question left
    with kb.session() as session:
        second = practice.answer(session, "agt", rid, 2, "保价费是声明价值的1%。")
        assert second.verdict == "wrong_figure"
        wrong = [f for f in second.facts if f["status"] == "wrong"]
        assert wrong == [
            {"kind": "figure", "text": "0.5%", "label": "保价费为声明价值",
             "context": "保价费为声明价值的 0.5%", "sentence": wrong[0][
                "sentence"], "status": "wrong", "said": "1%"}
        ]  # fmt: skip
        finished = session.get(PracticeRound, rid)
        assert finished.finished_at is not None
        assert finished.score == round((100.0 + second.score) / 2, 1)
    with kb.session() as session, pytest.raises(Conflict):
        practice.answer(session, "agt", rid, 1, "again")


def test_bad_replies_are_refused_and_change_nothing(kb: Database):
    rid = start(kb, tags=["保价"], size=1)["id"]
    for reply, error in (("  ", InvalidInput), ("x" * 4001, InvalidInput)):
        with kb.session() as session, pytest.raises(error):
            practice.answer(session, "agt", rid, 1, reply)
    with kb.session() as session, pytest.raises(NotFound):
        practice.answer(session, "agt", rid, 9, GOOD)
    with kb.session() as session, pytest.raises(Forbidden):
        practice.answer(session, "agt2", rid, 1, GOOD)  # not their round
    with kb.session() as session:
        assert session.get(PracticeRound, rid).items[0].reply is None
    for bad in ({"size": 0}, {"size": 21}, {"types": ["memo"]}, {"audience": "bots"}):
        with kb.session() as session, pytest.raises(InvalidInput):
            practice.start_round(session, "agt", **bad)


def test_supervisors_start_rounds_for_agents_and_see_the_team(kb: Database):
    rid = start(kb, "sue", agent="agt", tags=["保价"], size=1)["id"]
    with kb.session() as session:
        assert session.get(PracticeRound, rid).user_name == "agt"
        practice.answer(session, "agt", rid, 1, "保价的话请联系客服。")
    with kb.session() as session:
        table = {s.agent: s for s in practice.team(session, "sue")}
        assert set(table) == {"agt", "agt2"}
        assert table["agt"].rounds == 1 and table["agt"].weak_topics == [
            ("保价", table["agt"].average)
        ]
        assert table["agt2"].rounds == 0 and table["agt2"].average is None
        assert practice.stats(session, "agt").rounds == 1
    with kb.session() as session, pytest.raises(Forbidden):
        practice.start_round(session, "agt2", agent="agt")
    with kb.session() as session, pytest.raises(Forbidden):
        practice.team(session, "agt")
    with kb.session() as session, pytest.raises(Forbidden):
        practice.stats(session, "agt2", "agt")
    with kb.session() as session, pytest.raises(Forbidden):
        practice.get_round(session, "agt2", rid)
    with kb.session() as session:
        refused = session.query(AuditEvent).filter_by(outcome="refused", actor="agt2").count()
        assert refused == 3  # every refusal is on the audit record


def test_personal_data_in_a_reply_is_not_stored(kb: Database):
    rid = start(kb, tags=["保价"], size=1)["id"]
    with kb.session() as session:
        item = practice.answer(session, "agt", rid, 1, GOOD + "有问题打我手机13812345678。")
        assert item.verdict == "good"
    with kb.session() as session:
        stored = session.get(PracticeRound, rid).items[0]
        assert "13812345678" not in stored.reply and "[手机号]" in stored.reply
