"""Wording of sentences the pages build from parts: no stray space between Chinese text
and a status filled in, English singular and plural, tag lists joined in the interface
language, language names instead of codes."""

from __future__ import annotations

import re

from kb.ui.i18n import STRINGS


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
