"""``kb practice`` through the real CLI on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from tests.review.test_cli import fails, no_index_updates, ok, ok_json  # noqa: F401

FAQ = """---
id: faq-insured
type: faq
title: 保价怎么收费
tags: [保价]
question: 保价怎么收费？
similar_questions:
  - 保价费多少钱
---
保价费为声明价值的 0.5%，最低 2 元，单票最高可保 30,000 元。
"""


def test_practice_from_the_command_line(kb_home: Path, tmp_path: Path) -> None:
    ok("users", "add", "root", "--role", "admin")
    for name, role in (("agt", "agent"), ("agt2", "agent"), ("sue", "supervisor")):
        ok("users", "add", name, "--role", role, "--as", "root")
    path = tmp_path / "faq.md"
    path.write_text(FAQ, encoding="utf-8")
    ok("import", str(path), "--publish", "--as", "root")
    started = ok_json("practice", "start", "--tag", "保价", "--size", "1", "--as", "agt")
    assert [q["question"] for q in started["questions"]] == ["保价费多少钱"]
    assert "article_id" not in started["questions"][0]  # the answer is not given away
    rid = str(started["id"])
    scored = ok_json(
        "practice", "answer", rid, "1", "保价费是声明价值的1%，最低2元。", "--as", "agt"
    )
    assert (scored["verdict"], scored["article_id"]) == ("wrong_figure", "faq-insured")
    assert scored["round_score"] == scored["score"]
    text = ok("practice", "show", rid, "--as", "sue")
    assert "wrong: 保价费为声明价值的 0.5% (you said 1%)" in text
    assert "read faq-insured v1" in text
    team = ok_json("practice", "team", "--as", "sue")
    assert [(r["agent"], r["rounds"]) for r in team] == [("agt", 1), ("agt2", 0)]
    assert team[0]["weak_topics"][0]["topic"] == "保价"
    assert "needs the supervisor or admin role" in fails("practice", "team", "--as", "agt")
    assert "answered already" in fails("practice", "answer", rid, "1", "again", "--as", "agt")
    assert "unknown audience" in fails("practice", "start", "--audience", "bots", "--as", "agt")
    assert "the reply is empty" in fails("practice", "answer", rid, "1", " ", "--as", "agt")
