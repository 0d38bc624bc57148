"""In Chinese mode the pages show no English (issue 14): every label, heading, button,
caption, message, option and table header a page shows in zh must come from the zh side of
the catalogue. Article text and user names are data, not interface, and are not checked.

A run of two or more English words in interface text means a string that bypassed the
translation layer (or came from a layer below it untranslated): the test names it.
"""

from __future__ import annotations

import re

import pytest

from kb.store.db import Database
from review import workflow
from tests.app.conftest import CONTRADICTING_FAQ, submit_new_article
from tests.app.test_insights import seed as seed_insights
from tests.app.test_review_pages import submit_edit

ENGLISH = re.compile(r"(?<![\w-])[A-Za-z]{2,}(?:[ ,:;']+[A-Za-z]{2,})+(?![\w-])")
ALLOWED = {"Markdown"}  # a format's name


def interface_texts(at) -> list[str]:
    """What the page shows as interface (not article content)."""
    texts: list[str] = []
    for kind in ("title", "header", "subheader", "caption", "info", "success", "warning", "error"):
        texts += [str(e.value) for e in at.get(kind)]
    for kind in (
        "button",
        "text_input",
        "text_area",
        "selectbox",
        "radio",
        "number_input",
        "date_input",
        "multiselect",
        "checkbox",
        "toggle",
    ):
        for widget in at.get(kind):
            texts.append(str(widget.label))
            texts += [str(o) for o in getattr(widget, "options", []) or []]
    texts += [str(e.label) for e in at.get("expander")]
    texts += [str(m.label) for m in at.get("metric")]
    for frame in at.get("arrow_data_frame"):
        texts += [str(c) for c in frame.value.columns]
    return texts


def english_in(texts: list[str], data: set[str]) -> list[str]:
    found = []
    for text in texts:
        for known in data:
            text = text.replace(known, "")
        found += [m for m in ENGLISH.findall(text) if m not in ALLOWED]
    return found


DATA = {"Script <b>test</b>", "Script test"}  # the sample's English article title


@pytest.mark.parametrize(
    ("module", "user"),
    [
        ("articles", "alice"),
        ("editor", "alice"),
        ("review_queue", "bob"),
        ("review_queue", "carol"),
        ("history", "carol"),
        ("insights", "bob"),
    ],
)
def test_chinese_pages_show_no_english(page_test, app_kb, module, user):
    submit_edit(app_kb)
    submit_new_article(app_kb, "erin", CONTRADICTING_FAQ)
    db = Database(f"sqlite:///{app_kb / 'kb.sqlite3'}")
    with db.session() as session:
        workflow.approve(session, "bob", "faq-delay")
    db.dispose()
    seed_insights(app_kb)
    at = page_test(module, user)
    if module == "history":
        at.query_params["article"] = "refund-policy"
    at.run()
    assert not at.exception
    assert english_in(interface_texts(at), DATA) == []


def test_service_errors_are_shown_in_chinese_or_as_a_chinese_sentence(page_test, app_kb):
    at = page_test("editor", "alice").run()
    at.text_input(key="ed_id").input("bad id")
    at.text_input(key="ed_title").input("标题")
    at.text_input(key="ed_question").input("问题？")
    at.button(key="ed_save").click().run()
    shown = at.error[0].value
    assert shown.startswith("操作失败：文章 ID “bad id” 无效：只能使用字母、数字")
    assert english_in([shown.replace("bad id", "")], DATA) == []


def test_an_unknown_message_stays_behind_details(page_test):
    from kb.ui.errors import localize

    assert localize("something nobody wrote a pattern for", "zh") is None
    assert localize("say why the version is rejected (--comment)", "en").startswith("say why")
    assert localize("something nobody wrote a pattern for", "en") == (
        "something nobody wrote a pattern for"
    )


def test_the_detector_finds_english(page_test, app_kb):
    at = page_test("articles", "alice", lang="en").run()
    assert english_in(interface_texts(at), DATA)  # the same check sees the English page


def test_history_shows_system_comments_in_chinese(page_test, app_kb):
    """The history table's values written by the system (not only its headers) are in zh."""
    from datetime import UTC, datetime, timedelta

    from review import schedule

    submit_edit(app_kb)
    db = Database(f"sqlite:///{app_kb / 'kb.sqlite3'}")
    with db.session() as session:
        workflow.approve(session, "bob", "refund-policy")
    with db.session() as session:
        workflow.publish(session, "carol", "refund-policy")
    with db.session() as session:
        workflow.rollback(session, "carol", "refund-policy", 1, "改回")
    with db.session() as session:
        workflow.approve(session, "bob", "refund-policy")
    with db.session() as session:
        when = datetime.now(UTC) + timedelta(days=1)
        schedule.schedule(session, "carol", "refund-policy", at=when)
    db.dispose()
    at = page_test("history", "carol")
    at.query_params["article"] = "refund-policy"
    at.run()
    assert not at.exception
    events = next(
        f.value for f in at.dataframe if "说明" in f.value.columns and "操作" in f.value.columns
    )
    comments = [str(c) for c in events["说明"] if c]
    assert "已被第 2 版取代" in comments
    assert "回滚到第 1 版：改回" in comments
    assert any(c.startswith("定时于 ") for c in comments)
    assert "定时发布" in set(events["操作"])
    names = {"操作人", "编辑者", "最后修改人", "作者"}  # user names are data
    values = [
        str(v)
        for f in at.dataframe
        for column in f.value.columns
        if column not in names
        for v in f.value[column]
    ]
    found = english_in(values, DATA)
    assert found == [], found


def test_assist_hand_off_reason_in_chinese(page_test):
    import copy

    from tests.app.test_assist import ANSWER

    data = {**copy.deepcopy(ANSWER), "answer": None, "citations": [], "handoff": True}
    data |= {"reason": "no_results", "detail": "nothing in the knowledge base matches this"}
    at = page_test("assist", "dave")
    at.session_state["as_answer"] = data
    at.run()
    assert not at.exception
    assert english_in(interface_texts(at), DATA) == []


def test_audit_notes_translate_known_wording_only():
    from kb.ui.auditnotes import localize

    assert localize("superseded by version 3", "zh") == "已被第 3 版取代"
    assert localize("superseded by version 3", "en") == "superseded by version 3"
    assert localize("客户要求改回", "zh") == "客户要求改回"  # a person's comment: as written
