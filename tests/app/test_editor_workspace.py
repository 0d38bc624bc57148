"""AppTest tests of the editor's work keeping (issue 14): reloading the latest version after a
conflict, unsaved edits across pages, reloads (server-side autosave) and links (?article=).

Real SQLite knowledge base (tests/app/conftest.py); a "reload" is a new AppTest, i.e. a new
Streamlit session of the same user, as a browser reload is.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from kb.errors import Forbidden
from kb.store.db import Database
from review import autosave
from review.versions import versions_of
from tests.app.conftest import save_meanwhile

# one session that shows the editor, or (session_state["elsewhere"]) another page
TWO_PAGES = """
import streamlit as st
from kb.ui import editor, history
if st.session_state.get("elsewhere"):
    history.page()
else:
    editor.page()
"""


def db_of(home) -> Database:
    return Database(f"sqlite:///{home / 'kb.sqlite3'}")


def editor_as(user: str, lang: str = "zh", article: str | None = None) -> AppTest:
    at = AppTest.from_string(TWO_PAGES, default_timeout=30)
    at.session_state["kb_user"] = user
    at.session_state["ui_lang"] = lang
    if article is not None:
        at.query_params["article"] = article
    return at.run()


def test_reload_latest_after_a_conflict_does_not_crash(app_kb):
    at = editor_as("alice")
    at.selectbox(key="ed_choice").select("refund-policy").run()
    at.text_area(key="ed_body").input("alice 的版本").run()
    at.button(key="ed_save").click().run()
    save_meanwhile(app_kb, "erin", "refund-policy", "erin 的版本")
    at.text_area(key="ed_body").input("alice 的第二稿").run()
    at.button(key="ed_save").click().run()
    assert "冲突" in at.error[0].value
    at.button(key="ed_reload").click().run()
    assert not at.exception
    assert at.text_area(key="ed_body").value == "erin 的版本"
    assert any("erin" in c.value or "修订" in c.value for c in at.caption)
    at.text_area(key="ed_body").input("alice 在 erin 之后").run()
    at.button(key="ed_save").click().run()
    assert "已保存" in at.success[0].value
    db = db_of(app_kb)
    with db.session() as session:
        assert versions_of(session, "refund-policy")[-1].body == "alice 在 erin 之后"
    db.dispose()


def test_an_unsaved_edit_survives_another_page_and_blocks_switching(app_kb):
    at = editor_as("alice", article="faq-lost-parcel")
    assert at.text_input(key="ed_title").value == "快件丢失怎么办"
    at.text_input(key="ed_title").input("快件丢了怎么办").run()
    assert at.selectbox(key="ed_choice").disabled
    assert "未保存" in at.warning[0].value
    at.session_state["elsewhere"] = True
    at.run()
    assert not any(w.key == "ed_title" for w in at.text_input)  # the editor is not drawn
    at.session_state["elsewhere"] = False
    at.run()
    assert at.text_input(key="ed_title").value == "快件丢了怎么办"
    assert at.text_input(key="ed_sim_1").value == "快件找不到了"
    at.button(key="ed_discard").click().run()
    assert at.text_input(key="ed_title").value == "快件丢失怎么办"
    assert not at.selectbox(key="ed_choice").disabled


def test_an_unsaved_edit_survives_a_reload_until_saved(app_kb):
    at = editor_as("alice", article="refund-policy")
    at.text_area(key="ed_body").input("还没保存的修改").run()
    db = db_of(app_kb)
    with db.session() as session:
        kept = autosave.restore(session, "alice")
        assert kept is not None and kept.form["body"] == "还没保存的修改"
        assert kept.base is not None and kept.base["article_id"] == "refund-policy"

    reloaded = editor_as("alice")  # a new session of the same user, no ?article=
    assert reloaded.text_area(key="ed_body").value == "还没保存的修改"
    assert reloaded.text_input(key="ed_id").value == "refund-policy"
    assert "已恢复" in reloaded.info[0].value
    assert reloaded.query_params["article"] in ("refund-policy", ["refund-policy"])
    reloaded.button(key="ed_save").click().run()
    assert "已保存" in reloaded.success[0].value
    with db.session() as session:
        assert autosave.restore(session, "alice") is None  # saved: nothing left to keep
        assert versions_of(session, "refund-policy")[-1].body == "还没保存的修改"
    db.dispose()
    again = editor_as("alice")
    assert not again.info  # nothing restored
    assert again.text_input(key="ed_id").value == ""


def test_a_link_opens_the_article_and_an_unknown_one_says_so(app_kb):
    at = editor_as("erin", article="delay-compensation")
    assert at.text_input(key="ed_id").value == "delay-compensation"
    assert at.text_input(key="ed_id").disabled
    missing = editor_as("erin", lang="en", article="no-such")
    assert "No article no-such" in missing.info[0].value
    assert missing.text_input(key="ed_id").value == ""


def test_autosave_is_for_editors_only(app_kb):
    db = db_of(app_kb)
    with pytest.raises(Forbidden), db.session() as session:
        autosave.keep(session, "dave", {"body": "x"}, None)
    with db.session() as session:
        autosave.keep(session, "alice", {"body": "x"}, None)
        autosave.keep(session, "alice", {"body": "y"}, None)
    with db.session() as session:
        kept = autosave.restore(session, "alice")
        assert kept is not None and kept.form == {"body": "y"}
        assert autosave.discard(session, "alice") is True
        assert autosave.discard(session, "alice") is False
    db.dispose()


# the app's sidebar (drawn before the page, as in ``navigation.main``), then the editor
SIDEBAR_AND_EDITOR = """
from kb.ui import editor, navigation
from kb.ui.session import current_user
navigation._sidebar(current_user())
editor.page()
"""


@pytest.mark.parametrize("button", ["ed_save", "ed_submit", "ed_discard"])
def test_the_sidebar_says_nothing_is_unsaved_once_saved_or_discarded(app_kb, button):
    at = AppTest.from_string(SIDEBAR_AND_EDITOR, default_timeout=30)
    at.session_state["kb_user"] = "alice"
    at.session_state["ui_lang"] = "zh"
    at.query_params["article"] = "refund-policy"
    at.run()
    at.text_area(key="ed_body").input("改过的正文").run()
    at.run()  # the sidebar is drawn before the page: it sees the edit from the next run on
    assert any("未保存" in w.value for w in at.sidebar.warning)
    at.button(key=button).click().run()
    assert not at.exception
    assert not any("未保存" in w.value for w in at.sidebar.warning), [
        w.value for w in at.sidebar.warning
    ]
