"""Wording of sentences the pages build from parts: no stray space between Chinese text
and a status filled in, English singular and plural, tag lists joined in the interface
language, language names instead of codes."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from kb.store.db import Database
from kb.ui.i18n import STRINGS, enumeration, language_name, t
from tests.app.conftest import CONTRADICTING_FAQ, submit_new_article
from tests.app.test_insights import log
from tests.app.test_review_fields import fields_table


def test_a_status_in_a_chinese_sentence_has_no_stray_space(page_test):
    at = page_test("editor", "alice").run()
    at.selectbox(key="ed_choice").select("refund-policy").run()
    assert not at.exception
    assert at.info[0].value.startswith("该版本为已发布；"), at.info[0].value
    english = page_test("editor", "alice", lang="en").run()
    english.selectbox(key="ed_choice").select("refund-policy").run()
    assert english.info[0].value.startswith("This version is published;"), english.info[0].value


def test_no_chinese_text_puts_a_space_beside_a_filled_in_status():
    spaced = re.compile(r"[\u4e00-\u9fff] \{state\}|\{state\} [\u4e00-\u9fff]")
    assert [key for key, (zh, _) in STRINGS.items() if spaced.search(zh)] == []


def test_english_counts_are_singular_for_one_and_plural_otherwise():
    assert t("group_label", "en", question="q", count=1) == "q (1 time)"
    assert t("group_label", "en", question="q", count=2) == "q (2 times)"
    assert t("group_label", "zh", question="q", count=1) == "q（1 次）"
    assert t("list_counts", "en", total=1, states="") == "1 article: "
    assert t("page_of", "en", n=1, pages=1, total=1) == "Page 1 of 1 (1 article)"
    assert t("page_of", "en", n=1, pages=3, total=41) == "Page 1 of 3 (41 articles)"
    assert t("owner_due", "en", n=1, days=1).startswith("1 of your articles is due")
    assert "within 30 days" in t("owner_due", "en", n=2, days=30)
    assert t("replay_changed", "en", n=1) == "1 difference from the answer given:"
    assert t("feed_unread_notice", "en", n=1, m=0).startswith("1 unread change in")
    assert t("practice_started", "en", id=3, n=1) == "Round #3 started: 1 question"
    assert t("practice_record_line", "en", rounds=1, average="80").startswith("1 round finished")
    assert t("reason_expires", "en", date="2030-01-01", days=1).endswith("(in 1 day)")
    summary = t("golden_summary", "en", checked=1, broken=1, fixed=0, moved=0)
    assert summary.startswith("1 golden question: 1 answer would break")
    assert "in 1 place " in t("conflicts_found", "en", n=1)
    # a format spec that is not a plural choice still formats the number
    assert t("confidence", "en", value=0.5) == "Confidence 50%"


def test_no_english_text_counts_with_a_bare_plural():
    """A number followed by a plural noun, or "(s)", needs a ``{n:one|many}`` choice."""
    bare = re.compile(r"\{[a-z_]+\} (?:[a-z]+ )?(?:times|articles|questions|days|changes)\b|\(s\)")
    assert [key for key, (_, en) in STRINGS.items() if bare.search(en)] == []


# the insights page with no grouping model: identical questions group
INSIGHTS = """
import kb.ui.insights as insights
insights._backend = lambda: None
insights.page()
"""


@pytest.fixture
def _insights_backend_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    import kb.ui.insights as insights

    monkeypatch.setattr(insights, "_backend", insights._backend)


@pytest.mark.usefixtures("_insights_backend_restored")
def test_the_unanswered_queue_says_1_time_and_2_times_in_english(app_kb):
    db = Database(f"sqlite:///{app_kb / 'kb.sqlite3'}")
    with db.session() as session:
        log(session, "q1", "can I get an invoice", handoff=True)
        log(session, "q2", "can I get an invoice", handoff=True)
        log(session, "q3", "do you deliver on Sundays", handoff=True)
    db.dispose()
    at = AppTest.from_string(INSIGHTS, default_timeout=60)
    at.session_state["kb_user"] = "alice"
    at.session_state["ui_lang"] = "en"
    at.run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert "can I get an invoice (2 times)" in labels, labels
    assert "do you deliver on Sundays (1 time)" in labels, labels


def tags_of(at: AppTest, article_id: str) -> str:
    frame = at.dataframe[0].value
    row = frame[frame["article_id"] == article_id]
    return str(row["tags"].iloc[0])


def test_tags_are_listed_with_a_comma_in_english_and_an_enumeration_comma_in_chinese(page_test):
    chinese = page_test("articles", "alice").run()
    assert not chinese.exception
    assert tags_of(chinese, "delay-compensation") == "赔偿、延误"
    english = page_test("articles", "alice", lang="en").run()
    assert not english.exception
    assert tags_of(english, "delay-compensation") == "赔偿, 延误"


def test_other_lists_follow_the_interface_language_too():
    assert enumeration(["[1]", "[2]"], "en") == "[1], [2]"
    assert enumeration(["[1]", "[2]"], "zh") == "[1]、[2]"
    assert enumeration([], "en") == ""


def test_the_review_page_names_the_language_instead_of_its_code(page_test, app_kb):
    submit_new_article(app_kb, "erin", CONTRADICTING_FAQ)
    chinese = page_test("review_queue", "bob").run()
    assert not chinese.exception
    table = fields_table(chinese)
    assert re.search(r">语言</td><td[^>]*>中文</td>", table), table
    assert ">zh<" not in table
    english = page_test("review_queue", "bob", lang="en").run()
    table = fields_table(english)
    assert re.search(r">Language</td><td[^>]*>Chinese</td>", table), table
    assert language_name("en", "zh") == "英文" and language_name("en", "en") == "English"
    assert language_name("fr", "en") == "fr"  # no name here: shown as written
