"""The review commands through the real CLI (Typer's CliRunner) on a real SQLite file in the
test's KB_HOME (set by tests/conftest.py); the review cycle also on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli.common import STATE
from kb.cli.index_cmd import CliIndexUpdater
from kb.cli.main import app
from kb.store.db import Database
from review import users

ARTICLE = """---
id: refund
type: policy
title: 退款政策
lang: zh
audience: public
owner: 客服部
effective_from: 2025-01-01
review_due: 2025-06-30
---
## 规则

快件揽收后、派送员出站派送前，可以申请退款。退货期限为7天。
"""


@pytest.fixture(autouse=True)
def no_index_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Publishing commands leave their index events in the outbox here: the ingest side's
    updater (the CLI runtime's) embeds with a real model and is tested there."""
    monkeypatch.setattr(STATE, "apply_publications", False)


def kb(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.output


def ok(*args: str, stdin: str | None = None) -> str:
    code, out = kb(*args, stdin=stdin)
    assert code == 0, out
    return out


def ok_json(*args: str) -> object:
    return json.loads(ok(*args, "--json"))


def fails(*args: str) -> str:
    code, out = kb(*args)
    assert code == 1, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") or lines[0].startswith("error: "), out
    return " ".join(out.split())


@pytest.fixture
def team(kb_home: Path) -> Path:
    ok("users", "add", "root", "--role", "admin")
    ok("users", "add", "ann", "--role", "author", "--as", "root")
    ok("users", "add", "rex", "--role", "reviewer", "--as", "root")
    ok("users", "add", "pia", "--role", "publisher", "--as", "root")
    return kb_home


@pytest.fixture
def article(team: Path, tmp_path: Path) -> Path:
    path = tmp_path / "refund.md"
    path.write_text(ARTICLE, encoding="utf-8")
    ok("import", str(path), "--as", "ann")
    return path


def publish(article_id: str = "refund") -> None:
    ok("submit", article_id, "--as", "ann")
    ok("approve", article_id, "--as", "rex", "-m", "可以")
    ok("publish", article_id, "--as", "pia")


def test_users_bootstrap_then_admin_only(kb_home: Path) -> None:
    assert "added root: admin" in ok("users", "add", "root", "--role", "admin")
    assert "needs an acting admin" in fails("users", "add", "eve", "--role", "admin")
    assert "unknown user 'ghost'" in fails(
        "users", "add", "eve", "--role", "admin", "--as", "ghost"
    )
    ok(
        "users",
        "add",
        "ann",
        "--role",
        "author",
        "--password-stdin",
        "--as",
        "root",
        stdin="ann-secret-1\n",
    )
    ok("users", "roles", "ann", "--add", "reviewer", "--as", "root")
    listed = {u["name"]: u for u in ok_json("users", "list", "--as", "ann")}
    assert listed["ann"]["roles"] == ["author", "reviewer"]
    assert listed["ann"]["has_password"] is True
    assert "password_hash" not in listed["ann"]
    database = Database(f"sqlite:///{kb_home / 'kb.sqlite3'}")
    with database.session() as session:
        assert users.authenticate(session, "ann", "ann-secret-1") is not None
    database.dispose()
    assert "unknown role" in fails("users", "add", "bob", "--role", "boss", "--as", "root")


@pytest.fixture
def on_each_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI on a fresh database of each backend (SQLite file, PostgreSQL database)."""
    monkeypatch.setenv("KB_DATABASE_URL", database_url)
    return database_url


def test_review_cycle_from_the_command_line(on_each_database: str, article: Path) -> None:
    data = ok_json("submit", "refund", "--as", "ann")
    assert (data["version"], data["state"]) == (1, "in_review")
    queue = ok_json("review", "queue", "--as", "rex")
    assert [(q["article_id"], q["you_may_review"]) for q in queue] == [("refund", True)]
    assert "needs the reviewer or admin role" in fails("approve", "refund", "--as", "ann")
    assert "now approved" in ok("approve", "refund", "--as", "rex", "-m", "可以")
    assert "needs the publisher or admin role" in fails("publish", "refund", "--as", "rex")
    assert "now published" in ok("publish", "refund", "--as", "pia")
    story = ok_json("history", "refund", "--as", "rex")
    moves = [(e["action"], e["outcome"]) for e in story["events"]]
    assert moves == [
        ("import", "ok"),
        ("submit", "ok"),
        ("approve", "refused"),
        ("approve", "ok"),
        ("publish", "refused"),
        ("publish", "ok"),
    ]
    assert story["versions"][0]["comments"][0]["body"] == "可以"
    assert "audit log intact: 10 event(s)" in ok("audit", "verify")


def test_edit_conflict_diff_and_comments(article: Path, tmp_path: Path) -> None:
    publish()
    body = tmp_path / "body.md"
    body.write_text(
        "## 规则\n\n快件揽收后、派送员出站派送前，可以申请退款。退货期限为15天。\n",
        encoding="utf-8",
    )
    saved = ok_json("edit", "refund", "--file", str(body), "--as", "ann")
    assert (saved["version"], saved["state"], saved["revision"]) == (2, "draft", 2)
    assert "say which revision" in fails("edit", "refund", "--file", str(body), "--as", "ann")
    ok("edit", "refund", "--file", str(body), "--revision", "2", "--as", "ann")
    assert "changed by ann" in fails(
        "edit", "refund", "--file", str(body), "--revision", "2", "--as", "ann"
    )
    out = ok("diff", "refund", "1", "2", "--as", "rex")
    assert "退货期限为[-7-]{+15+}天" in out
    assert ok_json("diff", "refund", "1", "2", "--as", "rex")["changed"] is True
    ok("comment", "refund", "15天有依据吗？", "--as", "rex")
    story = ok_json("history", "refund", "--as", "ann")
    assert story["versions"][1]["comments"][0]["body"] == "15天有依据吗？"


def test_reject_needs_a_reason_and_sends_the_author_back(article: Path, tmp_path: Path) -> None:
    ok("submit", "refund", "--as", "ann")
    code, out = kb("reject", "refund", "--as", "rex")
    assert code == 2
    assert "--comment" in out
    assert "now rejected" in ok("reject", "refund", "--as", "rex", "-m", "期限不对")
    body = tmp_path / "body.md"
    body.write_text("退货期限为15天。\n", encoding="utf-8")
    data = ok_json("edit", "refund", "--file", str(body), "--as", "ann")
    assert (data["version"], data["state"], data["based_on"]) == (2, "draft", 1)


def test_rollback_goes_through_review(article: Path, tmp_path: Path) -> None:
    publish()
    body = tmp_path / "body.md"
    body.write_text("退货期限为1天。\n", encoding="utf-8")
    ok("edit", "refund", "--file", str(body), "--as", "ann")
    publish()
    assert "published version already" in fails(
        "rollback", "refund", "--to-version", "2", "--as", "pia"
    )
    data = ok_json("rollback", "refund", "--to-version", "1", "--as", "pia", "-m", "1天有误")
    assert (data["version"], data["state"], data["based_on"]) == (3, "in_review", 1)
    ok("approve", "refund", "--as", "rex")
    assert "version 3: now published" in ok("publish", "refund", "--as", "pia")
    shown = ok_json("articles", "show", "refund")
    assert "退货期限为7天" in shown["body"]


def test_stale_and_archive(article: Path) -> None:
    publish()
    stale = ok_json("stale", "--as", "rex")
    assert [s["article_id"] for s in stale] == ["refund"]
    assert "review due 2025-06-30" in stale[0]["reasons"]
    assert "unknown user 'nobody'" in fails("stale", "--as", "nobody")
    assert "now archived" in ok("archive", "refund", "--as", "pia", "-m", "停用")
    assert ok_json("stale", "--as", "rex") == []


def test_import_publish_is_admin_only_and_bootstraps(team: Path, tmp_path: Path) -> None:
    path = tmp_path / "refund.md"
    path.write_text(ARTICLE, encoding="utf-8")
    assert "needs the admin role" in fails("import", str(path), "--publish", "--as", "ann")
    out = ok("import", str(path), "--publish", "--as", "root")
    assert "1 published (bootstrap)" in " ".join(out.split())
    story = ok_json("history", "refund", "--as", "rex")
    assert [e["action"] for e in story["events"]] == ["import", "bootstrap_publish"]


def test_import_publish_into_a_live_knowledge_base_needs_bootstrap(
    team: Path, tmp_path: Path
) -> None:
    path = tmp_path / "refund.md"
    path.write_text(ARTICLE, encoding="utf-8")
    ok("import", str(path), "--publish", "--as", "root")
    path.write_text(ARTICLE.replace("7天", "15天"), encoding="utf-8")
    refused = fails("import", str(path), "--publish", "--as", "root")
    assert "only loads an empty knowledge base" in refused and "--bootstrap" in refused
    assert "needs --reason" in fails("import", str(path), "--bootstrap", "--as", "root")
    assert "admin" in fails("import", str(path), "--bootstrap", "--reason", "x", "--as", "pia")
    assert ok_json("articles", "show", "refund")["version"] == 1  # nothing changed
    out = ok("import", str(path), "--bootstrap", "--reason", "法务要求立即更正", "--as", "root")
    assert "1 published (bootstrap)" in " ".join(out.split())
    story = ok_json("history", "refund", "--as", "rex")
    last = story["events"][-1]
    assert (last["action"], last["version"]) == ("bootstrap_publish", 2)
    assert "reason: 法务要求立即更正" in last["comment"]


def test_audit_verify_fails_naming_the_tampered_event(article: Path, kb_home: Path) -> None:
    publish()
    connection = sqlite3.connect(kb_home / "kb.sqlite3")
    with connection:
        connection.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 6")
    connection.close()
    message = fails("audit", "verify")
    assert "audit log broken at event 6" in message
    code, out = kb("audit", "verify", "--json")
    assert code == 1
    assert '"first_bad_seq": 6' in out


def test_edit_creates_a_new_article_from_front_matter(team: Path, tmp_path: Path) -> None:
    path = tmp_path / "new.md"
    path.write_text(ARTICLE.replace("id: refund", "id: fresh"), encoding="utf-8")
    data = ok_json("edit", "fresh", "--file", str(path), "--as", "ann")
    assert (data["article_id"], data["version"], data["state"]) == ("fresh", 1, "draft")
    assert "not 'other'" in fails("edit", "other", "--file", str(path), "--as", "ann")
    body_only = tmp_path / "body.md"
    body_only.write_text("只有正文。\n", encoding="utf-8")
    assert "needs front matter" in fails("edit", "other", "--file", str(body_only), "--as", "ann")


def test_edit_refuses_unreadable_and_oversized_files_in_one_line(
    article: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kb edit --file: a missing file, a directory, a device or a text over import_max_chars
    is one error line (no traceback, no endless read) and the draft is not changed."""
    before = ok_json("history", "refund", "--as", "ann")
    for path in (tmp_path / "missing.md", tmp_path, Path("/dev/zero")):
        out = fails("edit", "refund", "--file", str(path), "--as", "ann")
        assert str(path) in out and "internal error" not in out
    monkeypatch.setenv("KB_IMPORT_MAX_CHARS", "1000")
    long = tmp_path / "long.md"
    long.write_text("长" * 1001 + "\n", encoding="utf-8")
    assert "over the limit of 1,000 characters" in fails(
        "edit", "refund", "--file", str(long), "--as", "ann"
    )
    assert ok_json("history", "refund", "--as", "ann") == before


class Recorder:
    """An index updater that records what it was given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int | None]] = []

    def apply(self, session, changes) -> None:
        self.seen.extend((c.article_id, c.action, c.version) for c in changes)


def test_publishing_commands_update_the_index_unless_told_not_to(
    team: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    # the CLI runtime's updater is CliIndexUpdater: record what it is given instead of indexing
    monkeypatch.setattr(STATE, "apply_publications", True)
    monkeypatch.setattr(
        CliIndexUpdater, "apply", lambda self, session, changes: recorder.apply(session, changes)
    )
    path = tmp_path / "refund.md"
    path.write_text(ARTICLE, encoding="utf-8")
    out = ok("import", str(path), "--publish", "--no-index", "--as", "root")
    assert "1 publication(s) queued for the index" in out
    assert recorder.seen == []
    ok("archive", "refund", "--as", "pia")
    assert recorder.seen == [("refund", "upsert", 1), ("refund", "remove", None)]


def test_audit_verify_names_an_edited_article_body(article: Path, kb_home: Path) -> None:
    publish()
    assert "1 version(s) match their content hash" in ok("audit", "verify")
    connection = sqlite3.connect(kb_home / "kb.sqlite3")
    with connection:
        connection.execute("UPDATE article_versions SET body = '快递丢失一律不予赔偿。'")
    connection.close()
    message = fails("audit", "verify")
    assert "article 'refund' version 1" in message and "content hash" in message


def test_audit_anchor_catches_a_cut_tail_with_a_rewritten_head(
    article: Path, kb_home: Path, tmp_path: Path
) -> None:
    publish()
    anchor_file = tmp_path / "anchor.txt"
    anchor = ok_json("audit", "anchor", "--out", str(anchor_file))
    assert anchor_file.read_text(encoding="utf-8").strip() == anchor["text"]
    assert f"anchored at event {anchor['seq']}" in ok("audit", "verify", "--anchor", anchor["text"])
    connection = sqlite3.connect(kb_home / "kb.sqlite3")
    with connection:
        kept = connection.execute("SELECT hash FROM audit_events WHERE seq = 4").fetchone()[0]
        connection.execute("DELETE FROM audit_events WHERE seq > 4")
        connection.execute("UPDATE audit_head SET seq = 4, hash = ?", (kept,))
    connection.close()
    assert "audit log intact: 4 event(s)" in ok("audit", "verify")
    message = fails("audit", "verify", "--anchor", str(anchor_file))
    assert "audit log broken at event 5" in message and "were deleted" in message
    assert "not an audit anchor" in fails("audit", "verify", "--anchor", "seq=4")


def test_submit_warns_of_contradictions_and_kb_conflicts_lists_them(
    article: Path, tmp_path: Path
) -> None:
    publish()
    faq = tmp_path / "faq.md"
    faq.write_text(
        ARTICLE.replace("id: refund", "id: refund-faq").replace("退货期限为7天", "退货期限为15天"),
        encoding="utf-8",
    )
    ok("import", str(faq), "--as", "ann")
    out = " ".join(ok("submit", "refund-faq", "--as", "ann").split())
    assert "warning: it contradicts 1 statement(s) of published articles" in out
    assert "refund-faq v1: 15天" in out and "refund v1: 7天" in out
    (found,) = ok_json("conflicts", "refund-faq", "--as", "rex")
    assert (found["figure"], found["other_figure"]) == ("15天", "7天")
    assert ok_json("conflicts", "--as", "rex") == []  # nothing contradicts among published
    assert "no contradictions in the published articles" in ok("conflicts", "--as", "rex")
