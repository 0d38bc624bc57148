"""AppTest of the editor's "translation of" field (issue 11, ``translation_of``): shown in
zh and en, a link to a missing article refused with a clear error and nothing saved, a
link to an existing one saved. Real SQLite knowledge base (tests/app/conftest.py)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from kb.store.db import Database
from review.versions import versions_of

EDITOR = "from kb.ui import editor\neditor.page()\n"


def _editor(user: str, lang: str, article: str) -> AppTest:
    at = AppTest.from_string(EDITOR, default_timeout=30)
    at.session_state["kb_user"] = user
    at.session_state["ui_lang"] = lang
    at.query_params["article"] = article
    return at.run()


def _latest(home, article_id: str):
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    try:
        with db.session() as session:
            row = versions_of(session, article_id)[-1]
            return row.version, row.translation_of
    finally:
        db.dispose()


def test_the_field_is_labelled_in_both_languages(app_kb) -> None:
    zh = _editor("alice", "zh", "refund-policy")
    assert zh.text_input(key="ed_translation_of").label.startswith("译自")
    en = _editor("alice", "en", "refund-policy")
    assert en.text_input(key="ed_translation_of").label.startswith("Translation of")
    assert en.text_input(key="ed_translation_of").value == ""


def test_a_missing_original_is_refused_and_an_existing_one_saved(app_kb) -> None:
    before = _latest(app_kb, "refund-policy")
    at = _editor("alice", "zh", "refund-policy")
    at.text_input(key="ed_translation_of").input("no-such-article").run()
    at.button(key="ed_save").click().run()
    assert any("no-such-article" in e.value for e in at.error), [e.value for e in at.error]
    assert _latest(app_kb, "refund-policy") == before
    at.text_input(key="ed_translation_of").input("delay-compensation").run()
    at.button(key="ed_save").click().run()
    assert not at.exception and not at.error
    assert _latest(app_kb, "refund-policy")[1] == "delay-compensation"
