"""AppTest of the history page's lifecycle controls (issue 14): roll back to a chosen
version and archive, through review.workflow (the CLI's rules), on a real SQLite knowledge
base with its real index; links (?article=) open an article's history."""

from __future__ import annotations

from kb.model import State
from kb.search.index import IndexStore
from kb.store.db import Database
from review import workflow
from review.versions import versions_of
from tests.app.test_review_pages import submit_edit


def db_of(home) -> Database:
    return Database(f"sqlite:///{home / 'kb.sqlite3'}")


def publish_edit(home) -> None:
    """refund-policy version 2 (5 working days) approved by bob and published by carol."""
    submit_edit(home)
    db = db_of(home)
    with db.session() as session:
        workflow.approve(session, "bob", "refund-policy")
    with db.session() as session:
        workflow.publish(session, "carol", "refund-policy")
    db.dispose()


def history_of(page_test, user: str, article: str, lang: str = "zh"):
    at = page_test("history", user, lang=lang)
    at.query_params["article"] = article
    return at.run()


def test_a_publisher_rolls_back_to_a_chosen_version_which_then_needs_review(page_test, app_kb):
    publish_edit(app_kb)
    at = history_of(page_test, "carol", "refund-policy")
    assert at.selectbox(key="hi_article").value == "refund-policy"
    assert at.selectbox(key="hi_rollback_v_refund-policy").options == ["第 1 版"]
    at.text_input(key="hi_reason_refund-policy").input("5天有误，恢复3天")
    at.button(key="hi_rollback_refund-policy").click().run()
    assert not at.exception
    assert "已回滚" in at.success[0].value and "第 3 版" in at.success[0].value
    db = db_of(app_kb)
    with db.session() as session:
        rows = versions_of(session, "refund-policy")
        assert [r.state for r in rows] == [State.SUPERSEDED, State.PUBLISHED, State.IN_REVIEW]
        assert "3个工作日" in rows[-1].body and rows[-1].based_on == 1
    db.dispose()


def test_a_publisher_archives_and_the_index_follows(page_test, app_kb):
    at = history_of(page_test, "carol", "delay-compensation", lang="en")
    at.button(key="hi_archive_delay-compensation").click().run()
    assert "Archived delay-compensation" in at.success[0].value
    assert "The index was updated" in at.success[0].value
    store = IndexStore(app_kb / "index")
    assert "delay-compensation" not in store.open_snapshot().articles()
    again = history_of(page_test, "carol", "delay-compensation")
    assert again.button(key="hi_archive_delay-compensation").disabled  # nothing published


def test_authors_and_reviewers_see_no_lifecycle_controls(page_test, app_kb):
    publish_edit(app_kb)
    for user in ("alice", "bob"):
        at = history_of(page_test, user, "refund-policy")
        keys = [b.key for b in at.button]
        assert "hi_archive_refund-policy" not in keys
        assert "hi_rollback_refund-policy" not in keys


def test_a_link_opens_one_version(page_test, app_kb):
    publish_edit(app_kb)
    at = page_test("history", "bob")
    at.query_params["article"] = "refund-policy"
    at.query_params["version"] = "1"
    at.run()
    assert at.selectbox(key="hi_version").value == 1
    assert any("3个工作日" in h.proto.body for h in at.get("html"))  # version 1's text
    at.selectbox(key="hi_version").select(2).run()
    assert at.query_params["version"] in ("2", ["2"])
