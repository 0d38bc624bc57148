"""Diffs between versions: character-level for Chinese and long lines, line-level otherwise."""

from __future__ import annotations

from datetime import date

from kb.store.db import Database
from review import diff, editing
from tests.review.helpers import content, publish_article, run

PARAGRAPH = (
    "快件揽收后、派送员出站派送前，可以申请改址或拦截退回。快件已显示“派送中”的，不能改址，"
    "可以联系派送员改约派送时间，或改投附近的驿站。"
)


def test_chinese_paragraph_change_is_shown_character_by_character() -> None:
    old = f"## 规则\n\n{PARAGRAPH}\n\n## 时效\n\n退货期限为7天。\n"
    new = old.replace("改约派送时间", "改约时间").replace("7天", "15天")
    blocks = diff.diff_texts(old, new)
    changed = [b for b in blocks if b.kind != "equal"]
    assert len(changed) == 2
    assert all(b.inline is not None for b in changed)
    first = changed[0].inline
    assert [(s.op, s.text) for s in first if s.op != "equal"] == [("delete", "派送")]
    assert "".join(s.text for s in first if s.op != "insert") == PARAGRAPH
    assert "".join(s.text for s in first if s.op != "delete") == PARAGRAPH.replace(
        "派送时间", "时间"
    )
    second = [(s.op, s.text) for s in changed[1].inline if s.op != "equal"]
    assert second == [("delete", "7"), ("insert", "15")]


def test_short_ascii_lines_are_compared_line_by_line() -> None:
    blocks = diff.diff_texts("a: 1\nb: 2\n", "a: 1\nb: 3\n")
    [changed] = [b for b in blocks if b.kind != "equal"]
    assert (changed.kind, changed.old, changed.new, changed.inline) == (
        "replace",
        ["b: 2"],
        ["b: 3"],
        None,
    )


def test_rewritten_text_falls_back_to_lines() -> None:
    old, new = "完全不同的一段中文内容在这里。\n", "Something else entirely, in English.\n"
    [block] = diff.diff_texts(old, new)
    assert block.inline is None


def test_diff_versions_includes_metadata_and_renders(people: Database) -> None:
    publish_article(people, body=f"{PARAGRAPH}\n")
    edited = content(body=f"{PARAGRAPH.replace('驿站', '鲸驿驿站')}\n", review_due=date(2027, 1, 1))
    run(people, editing.new_draft, "ann", "refund", edited)
    with people.session() as session:
        result = diff.diff_versions(session, "rex", "refund", 1, 2)
    assert result.changed
    plain = diff.render_plain(result)
    assert "--- refund version 1 (published)" in plain
    assert "+++ refund version 2 (draft)" in plain
    assert "{+鲸驿+}" in plain
    assert "- review_due: null" in plain or "review_due: [-null-]" in plain
    assert "2027-01-01" in plain
    rich_text = diff.render_rich(result).plain
    assert "鲸驿驿站" in rich_text
    data = result.to_dict()
    assert data["changed"] is True
    assert data["old_version"] == 1


def test_identical_versions_have_no_differences(people: Database) -> None:
    publish_article(people)
    run(people, editing.new_draft, "ann", "refund")
    with people.session() as session:
        result = diff.diff_versions(session, "rex", "refund", 1, 2)
    assert not result.changed
    assert "(no differences)" in diff.render_plain(result)
