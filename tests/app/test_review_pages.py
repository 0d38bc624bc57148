"""AppTest tests of sign-in, the editor, the review queue and history."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from kb.model import State
from kb.search.index import IndexStore
from kb.store.db import Database
from review import editing, users, workflow
from review.versions import versions_of
from tests.app.conftest import (
    CONTRADICTING_FAQ,
    PASSWORD,
    ROOT,
    save_meanwhile,
    submit_new_article,
)


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    at.button[0].click()
    return at.run()


def db_of(home) -> Database:
    return Database(f"sqlite:///{home / 'kb.sqlite3'}")


def test_sign_in_with_a_wrong_password_is_refused(app_kb):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    at = sign_in(at, "alice", "wrong-password")
    assert "kb_user" not in at.session_state
    assert "错误" in at.error[0].value


def test_sign_in_then_sign_out(app_kb):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    at = sign_in(at, "alice")
    assert at.session_state["kb_user"] == "alice"
    assert any("alice" in c.value for c in at.sidebar.caption)
    at.sidebar.button(key="sign_out").click()
    at.run()
    assert "kb_user" not in at.session_state
    assert at.text_input(key="signin_name")


def test_agent_cannot_open_the_editor(page_test):
    at = page_test("editor", "dave").run()
    assert "无权" in at.warning[0].value
    assert not at.button


def test_editor_creates_faq_with_similar_questions_and_submits(page_test, app_kb):
    at = page_test("editor", "alice").run()
    assert not at.exception
    at.text_input(key="ed_id").input("faq-new")
    at.text_input(key="ed_title").input("改地址")
    at.text_input(key="ed_question").input("怎么修改收货地址？")
    at.button(key="ed_sim_add").click().run()
    at.button(key="ed_sim_add").click().run()
    at.text_input(key="ed_sim_0").input("地址填错了怎么办")
    at.text_input(key="ed_sim_1").input("能改收件地址吗")
    at.text_area(key="ed_body").input("派送前可在小程序修改地址。<script>alert(1)</script>")
    at.run()
    # the preview shows the script tag as text inside markdown (never unsafe HTML)
    assert any("<script>" in m.value for m in at.markdown)
    assert all(not m.allow_html for m in at.markdown if "<script>" in m.value)
    at.button(key="ed_save").click().run()
    assert not at.exception
    assert "已保存" in at.success[0].value
    at.button(key="ed_submit").click().run()
    assert "已提交审核" in at.success[0].value
    db = db_of(app_kb)
    with db.session() as session:
        rows = versions_of(session, "faq-new")
        assert [r.state for r in rows] == [State.IN_REVIEW]
        assert rows[0].similar_questions == ["地址填错了怎么办", "能改收件地址吗"]
        assert rows[0].question == "怎么修改收货地址？"
        assert rows[0].editors == ["alice"]
    db.dispose()


def test_editor_removes_a_similar_question(page_test, app_kb):
    at = page_test("editor", "alice").run()
    at.selectbox(key="ed_choice").select("faq-lost-parcel").run()
    assert at.text_input(key="ed_sim_0").value == "包裹丢失如何处理"
    at.button(key="ed_sim_del_0").click().run()
    at.button(key="ed_save").click().run()
    db = db_of(app_kb)
    with db.session() as session:
        draft = versions_of(session, "faq-lost-parcel")[-1]
        assert draft.state == State.DRAFT
        assert draft.similar_questions == ["快件找不到了"]
    db.dispose()


def test_editor_shows_a_conflict_and_keeps_the_users_text(page_test, app_kb):
    at = page_test("editor", "alice").run()
    at.selectbox(key="ed_choice").select("refund-policy").run()
    at.text_area(key="ed_body").input("alice 的版本").run()
    at.button(key="ed_save").click().run()  # a draft, revision 1
    assert "已保存" in at.success[0].value
    save_meanwhile(app_kb, "erin", "refund-policy", "erin 的版本")
    at.text_area(key="ed_body").input("alice 的第二稿").run()
    at.button(key="ed_save").click().run()
    assert "冲突" in at.error[0].value
    assert at.text_area(key="ed_body").value == "alice 的第二稿"
    db = db_of(app_kb)
    with db.session() as session:
        assert versions_of(session, "refund-policy")[-1].body == "erin 的版本"
    db.dispose()


def test_editor_shows_invalid_input_as_a_message(page_test):
    at = page_test("editor", "alice").run()
    at.text_input(key="ed_id").input("bad id with spaces")
    at.text_input(key="ed_title").input("x")
    at.text_input(key="ed_question").input("q")
    at.button(key="ed_save").click().run()
    assert not at.exception
    assert "文章 ID “bad id with spaces” 无效" in at.error[0].value  # in the interface language


def submit_edit(home, author: str = "alice") -> None:
    """alice edits the refund policy and submits it."""
    db = db_of(home)
    with db.session() as session:
        rows = versions_of(session, "refund-policy")
        content = editing.to_content(rows[-1])
        content.body = content.body.replace("3个工作日", "5个工作日")
        editing.save_draft(session, author, content, expected_version=rows[-1].version)
    with db.session() as session:
        workflow.submit(session, author, "refund-policy")
    db.dispose()


def test_review_queue_shows_a_side_by_side_diff_and_approves(page_test, app_kb):
    submit_edit(app_kb)
    at = page_test("review_queue", "bob").run()
    assert not at.exception
    diff_html = next(h.proto.body for h in at.get("html") if "kb-diff" in h.proto.body)
    assert "3</span>" in diff_html  # the old value, struck out on the left
    assert "5</span>" in diff_html  # the new value, marked on the right
    at.text_area(key="rv_comment_refund-policy-2").input("同意")
    at.button(key="rv_approve_refund-policy-2").click().run()
    assert "已批准" in at.success[0].value
    db = db_of(app_kb)
    with db.session() as session:
        assert versions_of(session, "refund-policy")[-1].state == State.APPROVED
    db.dispose()


def test_own_work_is_not_approvable(page_test, app_kb):
    db = db_of(app_kb)
    with db.session() as session:
        users.change_roles(session, "admin", "erin", add=["reviewer"])
    db.dispose()
    submit_edit(app_kb, author="erin")
    at = page_test("review_queue", "erin").run()
    assert "四眼原则" in at.info[0].value
    assert at.button(key="rv_approve_refund-policy-2").disabled
    assert at.button(key="rv_reject_refund-policy-2").disabled


def test_reject_needs_a_comment(page_test, app_kb):
    submit_edit(app_kb)
    at = page_test("review_queue", "bob").run()
    at.button(key="rv_reject_refund-policy-2").click().run()
    assert "驳回时请说明原因" in at.error[0].value
    at.text_area(key="rv_comment_refund-policy-2").input("时限不对")
    at.button(key="rv_reject_refund-policy-2").click().run()
    assert "已驳回" in at.success[0].value


def test_publisher_publishes_and_the_index_follows(page_test, app_kb):
    submit_edit(app_kb)
    db = db_of(app_kb)
    with db.session() as session:
        workflow.approve(session, "bob", "refund-policy")
    db.dispose()
    at = page_test("review_queue", "carol").run()
    assert "rv_approve_refund-policy-2" not in [b.key for b in at.button]  # publishers don't
    at.button(key="rv_publish_refund-policy-2").click().run()
    assert not at.exception
    assert "已发布" in at.success[0].value
    assert "索引已更新" in at.success[0].value
    store = IndexStore(app_kb / "index")
    assert store.open_snapshot().articles()["refund-policy"] == 2


def test_history_lists_versions_and_audit_events(page_test, app_kb):
    submit_edit(app_kb)
    at = page_test("history", "bob")
    at.run()
    at.selectbox(key="hi_article").select("refund-policy").run()
    assert not at.exception
    versions = at.dataframe[0].value
    assert list(versions["版本"]) == [1, 2]
    assert list(versions["状态"]) == ["已发布", "审核中"]
    events = at.dataframe[-1].value
    assert {"初始发布", "编辑", "提交审核"} <= set(events["操作"])  # actions in Chinese
    diff_html = next(h.proto.body for h in at.get("html") if "kb-diff" in h.proto.body)
    assert "5</span>" in diff_html


def test_the_author_sees_why_a_version_was_rejected(page_test, app_kb):
    submit_edit(app_kb)
    db = db_of(app_kb)
    with db.session() as session:
        workflow.reject(session, "bob", "refund-policy", "审核时限应为3个工作日")
    db.dispose()
    at = page_test("editor", "alice").run()
    at.selectbox(key="ed_choice").select("refund-policy").run()
    assert "bob 的审核意见" in at.warning[0].value
    assert "审核时限应为3个工作日" in at.warning[0].value
    at.button(key="ed_save").click().run()  # a new draft based on the rejected version
    with db.session() as session:
        rows = versions_of(session, "refund-policy")
        assert [(r.version, r.state, r.based_on) for r in rows][-1] == (3, State.DRAFT, 2)
    db.dispose()


def test_review_queue_shows_a_contradiction_side_by_side(page_test, app_kb):
    submit_new_article(app_kb, "alice", CONTRADICTING_FAQ)
    at = page_test("review_queue", "bob").run()
    assert not at.exception
    assert "与已发布文章矛盾：1 处" in at.warning[0].value
    shown = " ".join(m.value for m in at.markdown)
    assert "**30%** · faq-delay v1" in shown and "**50%** · delay-compensation v1" in shown
    assert "按运费的30%赔偿" in shown and "按运费的50%赔偿" in shown
    assert any("百分比" in c.value for c in at.caption)
    english = page_test("review_queue", "bob", lang="en").run()
    assert "Contradicts published articles in 1 place (" in english.warning[0].value


def test_history_replays_a_past_answer_against_the_current_index(page_test, app_kb):
    from sqlalchemy import select

    from kb.answer.suggest import Suggester
    from kb.config import load_config
    from kb.search.retrieval import Searcher
    from kb.store.tables import QueryLog

    config = load_config(env={"KB_HOME": str(app_kb)}).config
    db = db_of(app_kb)
    answer = Suggester(config, searcher=Searcher(config), db=db).suggest("我的快递丢了怎么办？")
    with db.session() as session:  # last week's answer said something else (set here)
        row = session.scalars(select(QueryLog)).one()
        row.trace = {**row.trace, "answer": "快递丢失一律不予赔偿[1]", "index_version": "old"}
    db.dispose()
    at = page_test("history", "bob").run()
    at.text_input(key="hi_replay_id").input(answer.request_id).run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "快递丢失一律不予赔偿\\[1\\]" in shown  # as given (masked, escaped)
    assert "faq-lost-parcel v1" in shown  # the citation now
    assert "处变化" in at.warning[0].value
    table = at.dataframe[-1].value
    assert {"答案", "索引版本"} <= set(table["项目"])


def test_the_author_sees_the_contradictions_after_submitting(page_test, app_kb):
    at = page_test("editor", "alice").run()
    at.text_input(key="ed_id").input("faq-delay")
    at.text_input(key="ed_title").input("快递延误怎么赔")
    at.text_input(key="ed_tags").input("延误")
    at.text_input(key="ed_question").input("快递延误了能赔多少？")
    at.text_area(key="ed_body").input("快件超过承诺时限48小时未送达的，按运费的30%赔偿。")
    at.button(key="ed_submit").click().run()
    assert not at.exception
    assert "已提交" in at.success[0].value
    assert "已提交，但与已发布文章矛盾 1 处" in at.warning[0].value
    assert any("按运费的50%赔偿" in m.value for m in at.markdown)
