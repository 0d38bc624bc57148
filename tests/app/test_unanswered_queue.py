"""The unanswered-question queue in action (issue 14): a group becomes a draft FAQ in one
click (the editor opens on it), groups are resolved by an article or dismissed, and a
question asked again after that comes back. Real SQLite knowledge base; the grouping
model is left out (identical questions group), as ``kb.quality.unanswered`` does without one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from kb.errors import Forbidden, InvalidInput, NotFound
from kb.store.articles import utcnow
from kb.store.db import Database
from review import queue
from tests.app.test_insights import log

# the insights page and the editor, as kb.ui.navigation serves them
TWO_PAGES = """
import streamlit as st
import kb.ui.insights as insights
insights._backend = lambda: None  # no model: identical questions group (fast, deterministic)
from kb.ui import editor
st.navigation([
    st.Page(insights.page, url_path="insights", default=True),
    st.Page(editor.page, url_path=editor.PAGE_PATH),
]).run()
"""


@pytest.fixture(autouse=True)
def _insights_backend_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page script above swaps the insights page's model out in this process: put the
    real one back after each test (test_insights, run later, groups with the model)."""
    import kb.ui.insights as insights

    monkeypatch.setattr(insights, "_backend", insights._backend)


def db_of(home) -> Database:
    return Database(f"sqlite:///{home / 'kb.sqlite3'}")


def seed(home) -> None:
    db = db_of(home)
    earlier = utcnow() - timedelta(hours=1)
    with db.session() as session:
        log(session, "q1", "app能开发票吗", handoff=True, ts=earlier)
        log(session, "q2", "app能开发票吗", handoff=True, ts=earlier)
        log(session, "q3", "APP能开发票吗", handoff=True)  # the same once normalised
        log(session, "q4", "周末送货吗", handoff=True)
    db.dispose()


def insights_as(user: str) -> AppTest:
    at = AppTest.from_string(TWO_PAGES, default_timeout=60)
    at.session_state["kb_user"] = user
    at.session_state["ui_lang"] = "zh"
    return at.run()


def group_ids(home, actor: str = "bob") -> dict[str, str]:
    db = db_of(home)
    with db.session() as session:
        found = {g.example: g.id for g in queue.list_groups(session, actor, None)}
    db.dispose()
    return found


def test_a_group_becomes_a_draft_faq_in_one_click(app_kb):
    seed(app_kb)
    at = insights_as("alice")
    assert not at.exception
    invoice = group_ids(app_kb)["APP能开发票吗"]
    at.button(key=f"in_faq_{invoice}").click().run()
    assert not at.exception
    assert at.text_input(key="ed_question").value == "APP能开发票吗"
    assert at.text_input(key="ed_title").value == "APP能开发票吗"
    assert at.text_input(key="ed_sim_0").value == "app能开发票吗"
    assert at.selectbox(key="ed_type").value == "faq"
    assert "新建常见问题草稿" in at.info[0].value


def test_resolve_and_dismiss_take_groups_off_until_asked_again(app_kb):
    seed(app_kb)
    ids = group_ids(app_kb)
    at = insights_as("bob")
    at.selectbox(key=f"in_article_{ids['APP能开发票吗']}").select("refund-policy").run()
    at.button(key=f"in_resolve_{ids['APP能开发票吗']}").click().run()
    assert not at.exception
    assert "已解决：APP能开发票吗（退款政策 · refund-policy）" in at.success[0].value
    kinds = [e.type for e in at.main if hasattr(e, "type")]
    # inline: where the resolved group was (among the groups), not at the top of the page
    assert kinds.index("header") < kinds.index("success") < kinds.index("expander"), kinds
    at.button(key=f"in_dismiss_{ids['周末送货吗']}").click().run()
    assert "已忽略：周末送货吗" in at.success[0].value
    assert group_ids(app_kb) == {}
    assert "暂无" in at.info[0].value or not at.expander
    db = db_of(app_kb)
    with db.session() as session:  # asked again later: back in the queue
        log(session, "q5", "APP能开发票吗", handoff=True, ts=utcnow() + timedelta(seconds=1))
    db.dispose()
    assert list(group_ids(app_kb)) == ["APP能开发票吗"]


def test_queue_rules_in_the_service_layer(app_kb):
    seed(app_kb)
    ids = group_ids(app_kb)
    db = db_of(app_kb)
    with pytest.raises(Forbidden), db.session() as session:
        queue.list_groups(session, "dave", None)  # agents do not see the queue
    with pytest.raises(Forbidden), db.session() as session:
        queue.dismiss(session, "dave", ids["周末送货吗"], None)
    with pytest.raises(InvalidInput), db.session() as session:
        queue.resolve(session, "bob", ids["周末送货吗"], "no-such-article", None)
    with pytest.raises(NotFound), db.session() as session:
        queue.dismiss(session, "bob", "q0000000000", None)
    db.dispose()
    assert set(group_ids(app_kb)) == {"APP能开发票吗", "周末送货吗"}  # nothing changed


def test_assign_a_group_then_the_assignee_finds_it_under_mine_and_gives_it_back(app_kb):
    seed(app_kb)
    invoice = group_ids(app_kb)["APP能开发票吗"]
    at = insights_as("bob")  # a reviewer assigns anyone
    at.selectbox(key=f"in_assignee_{invoice}").select("alice").run()
    at.button(key=f"in_assign_{invoice}").click().run()
    assert not at.exception
    assert "APP能开发票吗：负责人现为 alice" in at.success[0].value
    assert any("负责人：alice" in e.label for e in at.expander)
    at = insights_as("alice")  # the author sees it among hers, with nothing else
    at.toggle(key="in_mine").set_value(True).run()
    assert [e.label for e in at.expander] == ["APP能开发票吗（3 次）· 负责人：alice"]
    assert not at.selectbox(key=f"in_article_{invoice}").disabled
    keys = {b.key for b in at.button}
    assert f"in_assign_{invoice}" not in keys  # an author assigns no one else
    at.button(key=f"in_release_{invoice}").click().run()
    assert not at.exception
    assert "没有分配给你的" in at.info[0].value
    assert "APP能开发票吗：负责人现为 未分配" in at.success[0].value  # said where she looks
    at.toggle(key="in_mine").set_value(False).run()
    at.button(key=f"in_take_{group_ids(app_kb)['周末送货吗']}").click().run()
    assert assignees(app_kb) == {"周末送货吗": "alice"}


def assignees(home) -> dict[str, str | None]:
    db = db_of(home)
    with db.session() as session:
        found = {g.example: g.assignee for g in queue.list_groups(session, "bob", None)}
    db.dispose()
    return {k: v for k, v in found.items() if v}
