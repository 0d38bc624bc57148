"""`kb init`, `kb import`, `kb export` and `kb articles` through the real CLI and SQLite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli.main import app
from tests.killed_child import kill_at_pause

REPO = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 120  # a hang guard only: the child reaches its pause in seconds

_KILLED_IMPORT = """
import sys, time
from pathlib import Path
import review.importing

marker = Path(sys.argv[1])
real = review.importing.import_articles
batches = []

def pause_in_the_third_batch(session, *args, **kwargs):
    result = real(session, *args, **kwargs)
    batches.append(1)
    if len(batches) == 3:  # two batches committed; this one written, not committed
        session.flush()
        marker.touch()
        time.sleep(600)
    return result

review.importing.import_articles = pause_in_the_third_batch
sys.argv = ["kb", *sys.argv[2:]]
from kb.cli.main import run
run()
"""

POLICY = """---
id: policy-response-time
type: policy
title: 客服响应时效
lang: zh
tags: [时效]
audience: public
owner: 客服部
effective_from: 2025-01-01
effective_to: null
review_due: 2027-01-01
---
## 响应标准

普通咨询5秒内响应，紧急工单4小时内处理。
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def list_ids() -> list[str]:
    code, out = invoke("articles", "list", "--json")
    assert code == 0, out
    return [row["id"] for row in json.loads(out)]


@pytest.fixture(autouse=True)
def users() -> None:
    """An admin (the bootstrap user) and an author, alice, who imports."""
    assert invoke("users", "add", "admin", "--role", "admin")[0] == 0
    assert invoke("users", "add", "alice", "--role", "author", "--as", "admin")[0] == 0


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "policy").mkdir(parents=True)
    (root / "policy" / "policy-response-time.md").write_text(POLICY, encoding="utf-8")
    (root / "faq.jsonl").write_text(
        '{"id": "faq-1", "question": "退款多久到账", "similar_questions": ["钱啥时候退"], '
        '"answer": "3-5个工作日。"}\n{"id": "faq-2", "question": "怎么改地址"}\n',
        encoding="utf-8",
    )
    (root / "notice.txt").write_bytes("停运通知\n春节期间暂停揽收。\n".encode("gbk"))
    (root / "_drafts").mkdir()
    (root / "_drafts" / "ignored.md").write_text("not imported", encoding="utf-8")
    return root


class TestImport:
    def test_imports_every_kind_as_drafts(self, source: Path) -> None:
        code, out = invoke("import", str(source), "--as", "alice")
        assert code == 0, out
        assert sorted(list_ids()) == ["faq-1", "faq-2", "notice", "policy-response-time"]
        code, out = invoke("articles", "show", "notice", "--json")
        shown = json.loads(out)
        assert shown["state"] == "draft"
        assert shown["title"] == "停运通知"  # GBK decoded
        assert "春节期间暂停揽收。" in shown["body"]
        code, out = invoke("articles", "show", "faq-1", "--json")
        assert json.loads(out)["similar_questions"] == ["钱啥时候退"]

    def test_reimport_of_same_files_changes_nothing(self, source: Path) -> None:
        invoke("import", str(source), "--as", "alice")
        code, out = invoke("import", str(source), "--as", "alice", "--json")
        assert code == 0
        assert json.loads(out)["unchanged"] == 4

    def test_batch_is_all_or_nothing(self, source: Path) -> None:
        (source / "broken.md").write_text("---\nid: b\ntype: memo\ntitle: t\n---\nx", "utf-8")
        code, out = invoke("import", str(source), "--as", "alice")
        assert code == 1
        assert "broken.md" in out and "unknown type 'memo'" in out
        assert "nothing was imported" in out
        assert list_ids() == []

    def test_big5_imports_and_shift_jis_is_refused(self, source: Path) -> None:
        (source / "tw.txt").write_bytes("停運通知\n春節期間暫停攬收。\n".encode("big5"))
        code, out = invoke("import", str(source), "--as", "alice")
        assert code == 0, out
        assert (
            "春節期間暫停攬收。"
            in json.loads(invoke("articles", "show", "tw", "--json")[1])["body"]
        )
        ja = "返金ポリシー\nお客様は受け取り後七日以内に返品を申請できます。\n"
        (source / "jp.txt").write_bytes(ja.encode("shift_jis"))
        code, out = invoke("import", str(source), "--as", "alice")
        assert code == 1
        assert "jp.txt: not UTF-8, GB18030/GBK or Big5 text (best guess: cp932)" in out
        assert "Traceback" not in out and "jp" not in list_ids()

    def test_decompression_bomb_is_refused_and_nothing_imported(self, source: Path) -> None:
        from tests.kb.test_format_limits import docx_bomb

        (source / "bomb.docx").write_bytes(docx_bomb(120))
        code, out = invoke("import", str(source), "--as", "alice")
        assert code == 1
        assert "bomb.docx: word/document.xml expands" in out and "over the limit" in out
        assert "nothing was imported" in out and "Traceback" not in out
        assert list_ids() == []

    def test_continue_on_error_reports_each_file(self, source: Path) -> None:
        (source / "broken.md").write_text("---\nid: b\ntype: memo\ntitle: t\n---\nx", "utf-8")
        (source / "image.txt").write_bytes(b"\x89PNG\x00\x00\x00")
        code, out = invoke("import", str(source), "--as", "alice", "--continue-on-error", "--json")
        assert code == 1
        report = json.loads(out[: out.rindex("}") + 1])
        errors = {Path(o["path"]).name: o["error"] for o in report["outcomes"] if o["error"]}
        assert set(errors) == {"broken.md", "image.txt"}
        assert "binary" in errors["image.txt"]
        assert len(list_ids()) == 4

    def test_duplicate_id_across_files(self, source: Path) -> None:
        (source / "dup.jsonl").write_text('{"id": "faq-1", "question": "again"}\n', "utf-8")
        code, out = invoke("import", str(source), "--as", "alice")
        assert code == 1 and "duplicate id 'faq-1'" in out

    def test_link_outside_the_directory_is_refused(self, source: Path, tmp_path: Path) -> None:
        outside = tmp_path / "secret.txt"
        outside.write_text("secret", encoding="utf-8")
        os.symlink(outside, source / "link.txt")
        code, out = invoke("import", str(source), "--as", "alice")
        assert code == 1 and "outside" in out
        assert list_ids() == []

    def test_file_over_the_size_limit(self, source: Path, monkeypatch) -> None:
        monkeypatch.setenv("KB_IMPORT_MAX_BYTES", "100")
        (source / "big.txt").write_text("字" * 200, encoding="utf-8")
        code, out = invoke("import", str(source / "big.txt"), "--as", "alice")
        assert code == 1 and "over the limit" in out

    def test_odd_file_names_are_shown_as_they_are(self, source: Path) -> None:
        """Square brackets are not console markup: '[/b]' in a path is no 'internal error'
        after the import was committed."""
        (source / "a[").mkdir()
        (source / "a[" / "b].txt").write_text("退货期限七天\n", encoding="utf-8")
        code, out = invoke("import", str(source), "--as", "alice")
        assert code == 0, out
        assert f"ok      {source / 'a[' / 'b].txt'} (1)" in out
        assert "b" in list_ids()

    def test_a_file_name_that_is_not_utf8_is_refused_by_name(self, source: Path) -> None:
        """A GBK file name (a zip made on a Chinese Windows) is an error naming the file,
        not an 'internal error' from the database, and nothing is imported."""
        name = os.fsdecode("退货".encode("gbk") + b".txt")
        (source / name).write_text("退货期限七天\n", encoding="utf-8")
        code, out = invoke("import", str(source), "--as", "alice")
        assert code == 1, out
        assert f"{source}/\\xcd" in out and ".txt: the file name is not UTF-8" in out
        assert "nothing was imported" in out
        assert list_ids() == []

    def test_actor_is_required(self, source: Path) -> None:
        code, out = invoke("import", str(source))
        assert code == 1 and "--as" in out


class TestExport:
    def test_export_of_an_import_is_the_same_files(self, source: Path, tmp_path: Path) -> None:
        (source / "notice.txt").unlink()  # plain documents come back as Markdown
        invoke("import", str(source), "--as", "alice")
        out_dir = tmp_path / "out"
        code, out = invoke("export", str(out_dir))
        assert code == 0, out
        for name in ("policy/policy-response-time.md", "faq.jsonl"):
            assert (out_dir / name).read_bytes() == (source / name).read_bytes(), name

    def test_bq_faq_corpus_keeps_ids_and_round_trips(
        self, shared_dir: Path, tmp_path: Path
    ) -> None:
        corpus = shared_dir / "datasets" / "bq-faq" / "dev" / "corpus.jsonl"
        code, out = invoke("import", str(corpus), "--as", "alice", "--json")
        assert code == 0, out
        assert json.loads(out)["created"] == sum(1 for _ in corpus.open(encoding="utf-8"))
        assert "bqdev-faq-00001" in list_ids()
        invoke("export", str(tmp_path / "out"))
        assert (tmp_path / "out" / "corpus.jsonl").read_bytes() == corpus.read_bytes()


class TestErrorsAreOneLine:
    def test_no_traceback_from_the_console_script(self, tmp_path: Path, kb_home: Path) -> None:
        env = {**os.environ, "KB_HOME": str(kb_home)}
        bad = tmp_path / "bad.md"
        bad.write_text("---\nid: x\ntype: policy\n", encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "kb.cli.main", "import", str(bad), "--as", "alice"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "never closed" in result.stderr

    def test_bad_config_is_one_line(self, tmp_path: Path) -> None:
        (tmp_path / "kb.yaml").write_text("nonsense: 1\n", encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "kb.cli.main", "config", "show"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "KB_HOME": str(tmp_path / "h")},
            check=False,
        )
        assert result.returncode == 1
        assert result.stderr.startswith("error: unknown setting 'nonsense'")
        assert "Traceback" not in result.stderr


class TestInit:
    def test_init_creates_a_wal_sqlite_database(self, kb_home: Path) -> None:
        code, out = invoke("init")
        assert code == 0, out
        import sqlite3

        connection = sqlite3.connect(kb_home / "kb.sqlite3")
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        assert {"articles", "article_versions", "users", "api_keys", "audit_events"} <= tables
        assert {"feedback", "query_log", "index_events", "alembic_version"} <= tables


class TestLongErrorsStayOneLine:
    def test_error_is_a_single_line_when_piped(self, tmp_path: Path, kb_home: Path) -> None:
        long_name = tmp_path / ("很长的文件名" * 12 + ".md")
        long_name.write_text("---\nid: x\ntype: policy\n", encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "kb.cli.main", "import", str(long_name), "--as", "alice"],
            capture_output=True,
            text=True,
            env={**os.environ, "KB_HOME": str(kb_home), "COLUMNS": "80"},
            check=False,
        )
        assert result.returncode == 1
        error_lines = [line for line in result.stderr.splitlines() if "never closed" in line]
        assert len(error_lines) == 1
        assert str(long_name) in error_lines[0]


def test_case_twin_ids_are_refused_in_one_line(source: Path) -> None:
    (source / "twin.jsonl").write_text('{"id": "FAQ-1", "question": "again"}\n', "utf-8")
    code, out = invoke("import", str(source), "--as", "alice")
    assert code == 1
    assert "'faq-1'" in out and "'FAQ-1'" in out and "differ only by case" in out
    assert "Traceback" not in out
    assert list_ids() == []


def write_faq(path: Path, n: int) -> None:
    """``n`` generated FAQ entries as JSON Lines."""
    lines = (
        json.dumps(
            {"id": f"gen-{i:05d}", "question": f"问题{i}怎么处理", "answer": f"答案{i}。"},
            ensure_ascii=False,
        )
        for i in range(n)
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def committed(database: Path) -> tuple[int, int, bool]:
    """(articles, published versions, audit chain intact) as another reader sees them."""
    from sqlalchemy import func, select

    from kb.store.db import Database
    from kb.store.tables import Article, ArticleVersion
    from review import audit

    db = Database(f"sqlite:///{database}")
    try:
        with db.session() as session:
            articles = session.scalar(select(func.count()).select_from(Article))
            published = session.scalar(
                select(func.count())
                .select_from(ArticleVersion)
                .where(ArticleVersion.state == "published")
            )
            return articles, published, audit.verify(session).ok
    finally:
        db.dispose()


class TestBatchedCommits:
    """Large imports commit ``import_batch_size`` articles per transaction (issue 13, item 2):
    the write lock is held for one batch at a time, and an import stopped part way is
    completed by running it again."""

    def test_one_transaction_per_batch(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_faq(tmp_path / "faq.jsonl", 250)
        monkeypatch.setenv("KB_IMPORT_BATCH_SIZE", "100")
        code, out = invoke("import", str(tmp_path / "faq.jsonl"), "--as", "admin", "--json")
        assert code == 0, out
        assert json.loads(out)["created"] == 250
        assert json.loads(out)["transactions"] == 3

    def test_bad_batch_size_is_one_line(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_faq(tmp_path / "faq.jsonl", 3)
        monkeypatch.setenv("KB_IMPORT_BATCH_SIZE", "0")
        code, out = invoke("import", str(tmp_path / "faq.jsonl"), "--as", "admin")
        assert code == 1
        assert "import_batch_size" in out
        monkeypatch.delenv("KB_IMPORT_BATCH_SIZE")
        assert list_ids() == []

    def test_killed_import_keeps_whole_batches_and_a_rerun_completes_it(
        self, tmp_path: Path, kb_home: Path
    ) -> None:
        """SIGKILLed while its third batch is written but not committed (a pause made by
        the child script wrapping a kb function: a test seam, not a mock; killing "soon
        after the first commit" depended on the machine's speed)."""
        source, total, size = tmp_path / "faq.jsonl", 6000, 100
        write_faq(source, total)
        script, marker = tmp_path / "import_child.py", tmp_path / "paused"
        script.write_text(_KILLED_IMPORT, encoding="utf-8")
        env = {**os.environ, "KB_HOME": str(kb_home), "KB_IMPORT_BATCH_SIZE": str(size)}
        env["PYTHONPATH"] = str(REPO)
        args = ["import", str(source), "--as", "admin", "--publish", "--no-index", "--json"]
        child = subprocess.Popen(
            [sys.executable, str(script), str(marker), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            kill_at_pause(child, marker, HANG_GUARD_S)
        finally:
            child.stderr.close()
        assert child.returncode == -signal.SIGKILL
        database = kb_home / "kb.sqlite3"
        articles, published, chain_ok = committed(database)
        assert (articles, published) == (2 * size, 2 * size)  # the third batch rolled back
        assert chain_ok
        command = [sys.executable, "-m", "kb.cli.main", *args]
        # The knowledge base is not empty any more: completing the load is a bootstrap.
        command += ["--bootstrap", "--reason", "complete the interrupted initial load"]
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert rerun.returncode == 0, rerun.stderr
        report = json.loads(rerun.stdout[: rerun.stdout.rindex("}") + 1])
        assert report["created"] == total - articles
        assert report["unchanged"] == articles
        assert committed(database) == (total, total, True)
