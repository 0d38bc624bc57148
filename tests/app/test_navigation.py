"""The role-based menu, the language switch and interaction latency."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from kb.ui.navigation import visible_pages
from kb.ui.session import SignedIn
from tests.app.conftest import PASSWORD, ROOT

EVERYONE = ["feed", "practice"]  # the change feed and practice (issue 18)


@pytest.mark.parametrize(
    ("roles", "pages"),
    [
        (("agent",), ["assist", *EVERYONE]),
        (("supervisor",), ["assist", *EVERYONE]),
        (
            ("author",),
            ["assist", *EVERYONE, "articles", "editor", "hittest", "insights", "history"],
        ),
        (
            ("reviewer",),
            ["assist", *EVERYONE, "articles", "review", "hittest", "insights", "history"],
        ),
        (
            ("publisher",),
            ["assist", *EVERYONE, "articles", "review", "hittest", "insights", "history"],
        ),
        (
            ("admin",),
            ["assist", *EVERYONE, "articles", "editor", "review", "hittest", "insights", "history"],
        ),
    ],
)
def test_menu_follows_roles(roles, pages):
    user = SignedIn("x", "x", roles)
    assert [p.path for p in visible_pages(user)] == pages


def test_english_switch_translates_the_interface(app_kb):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    at.sidebar.radio(key="ui_lang").set_value("en").run()
    assert at.title[0].value == "Sign in to the knowledge base"
    at.text_input(key="signin_name").input("alice")
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.title[0].value == "Agent assist"
    assert at.sidebar.caption[0].value == "Signed in as alice (author)"


def test_auto_language_follows_the_article(page_test):
    at = page_test("editor", "alice", lang="auto").run()
    at.selectbox(key="ed_choice").select("xss-test").run()  # an English article
    assert at.text_input(key="ed_title").label == "Title"
    at.selectbox(key="ed_choice").select("refund-policy").run()
    assert at.text_input(key="ed_title").label == "标题"


def test_an_assist_interaction_answers_well_under_a_second(page_test):
    at = page_test("assist", "dave").run()
    at.text_area(key="as_question").input("快递丢了怎么办")
    at.button[0].click().run()  # first question: models and index load (cached after)
    timings = []
    for question in ("包裹丢失如何处理", "退款多久到账", "延误了能赔多少"):
        at.text_area(key="as_question").input(question)
        started = time.perf_counter()
        at.button[0].click().run()
        timings.append(time.perf_counter() - started)
        assert not at.exception
    print("assist interaction seconds:", [round(x, 3) for x in timings])
    # the speed target (well under a second) is measured by benchmarks/suggest_latency.py;
    # this bound only catches a rerun that reloads the models or the index (tens of seconds)
    assert max(timings) < 10.0, timings


def test_owners_see_their_due_articles_on_sign_in(app_kb):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["kb_user"] = "alice"  # owns refund-policy and delay-compensation
    at.run()
    notes = [w.value for w in at.sidebar.warning]
    assert any("你负责的 2 篇文章" in n and "history?article=refund-policy" in n for n in notes)
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    other.session_state["kb_user"] = "bob"  # owns nothing
    other.run()
    assert not any("你负责的" in w.value for w in other.sidebar.warning)
