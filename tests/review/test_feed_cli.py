"""``kb feed`` and ``kb publish --importance`` through the real CLI on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from tests.review.test_cli import ARTICLE, fails, no_index_updates, ok, ok_json  # noqa: F401


def _team() -> None:
    ok("users", "add", "root", "--role", "admin")
    for name, role in (
        ("ann", "author"),
        ("rex", "reviewer"),
        ("pia", "publisher"),
        ("agt", "agent"),
        ("agt2", "agent"),
        ("sue", "supervisor"),
    ):
        ok("users", "add", name, "--role", role, "--as", "root")


def _cycle(path: Path, text: str, *publish_args: str) -> None:
    path.write_text(text, encoding="utf-8")
    ok("import", str(path), "--as", "ann")
    ok("submit", "refund", "--as", "ann")
    ok("approve", "refund", "--as", "rex")
    ok("publish", "refund", "--as", "pia", *publish_args)


def test_feed_from_the_command_line(kb_home: Path, tmp_path: Path) -> None:
    _team()
    path = tmp_path / "refund.md"
    _cycle(path, ARTICLE)
    _cycle(path, ARTICLE.replace("7天", "15天"), "--importance", "must_read")
    listed = ok("feed", "--as", "agt")
    assert listed.index("MUST READ") < listed.index("new: 退款政策")
    assert "退货期限：7天 → 15天" in listed
    entries = ok_json("feed", "--as", "agt")
    must = entries[0]
    assert (must["kind"], must["importance"], must["acked"]) == ("updated", "must_read", False)
    assert must["changes"] == [{"kind": "figure", "old": "7天", "new": "15天", "label": "退货期限"}]
    assert "acknowledged" in ok("feed", "ack", str(must["id"]), "--as", "agt")
    unread = ok_json("feed", "--unread", "--as", "agt")
    assert [e["kind"] for e in unread] == ["new"]
    report = ok_json("feed", "acks", str(must["id"]), "--as", "sue")
    assert [a["user"] for a in report["acknowledged"]] == ["agt"]
    assert report["pending"] == ["agt2"]
    assert ok_json("feed", "reminders", "--as", "sue") == {"agt2": [must["id"]]}
    assert "needs the supervisor or admin role" in fails(
        "feed", "acks", str(must["id"]), "--as", "agt"
    )
    assert "no feed entry 99" in fails("feed", "ack", "99", "--as", "agt")
    assert ok_json("feed", "refresh", "--as", "agt") == []
    assert "unknown user 'ghost'" in fails("feed", "refresh", "--as", "ghost")


def test_bad_importance_is_refused_and_publishes_nothing(kb_home: Path, tmp_path: Path) -> None:
    _team()
    path = tmp_path / "refund.md"
    path.write_text(ARTICLE, encoding="utf-8")
    ok("import", str(path), "--as", "ann")
    ok("submit", "refund", "--as", "ann")
    ok("approve", "refund", "--as", "rex")
    assert "unknown importance 'urgent'" in fails(
        "publish", "refund", "--as", "pia", "--importance", "urgent"
    )
    assert ok_json("feed", "--as", "agt") == []
    assert "--today must be a date" in fails("feed", "refresh", "--today", "x", "--as", "agt")
