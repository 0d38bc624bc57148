"""Knowledge-base paths and database URLs with characters that URLs and configparser treat
specially: CJK, ``%``, ``(``, ``#``, ``?``, spaces, and passwords with ``%`` in them.

Issue 13, item 6: ``KB_HOME=/tmp/知识库 kb init`` failed with "invalid interpolation
syntax" (Alembic's configparser read the %-encoded URL), and a home with ``%25`` in its
name opened a database somewhere else (SQLAlchemy %-decodes the path of a URL).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import inspect, make_url
from typer.testing import CliRunner

from kb.cli.main import app
from kb.config import Config, sqlite_url
from kb.store.db import Database, alembic_config, alembic_option

ODD_NAMES = ["知识库", "100% (备份) #1", "a%25b ?x=1", "p%(home)s"]

FAQ = (
    '{"id": "faq-refund", "question": "退款多久到账", "similar_questions": ["钱啥时候退"], '
    '"answer": "退款在3-5个工作日内原路退回。"}\n'
)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("name", ODD_NAMES)
def test_sqlite_url_keeps_the_path(tmp_path: Path, name: str) -> None:
    path = tmp_path / name / "kb.sqlite3"
    assert make_url(sqlite_url(path)).database == str(path)


@pytest.mark.parametrize("name", ODD_NAMES)
def test_init_creates_the_database_inside_the_odd_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    home = tmp_path / name
    monkeypatch.setenv("KB_HOME", str(home))
    code, out = invoke("init")
    assert code == 0, out
    assert (home / "kb.sqlite3").is_file()
    assert [p.name for p in tmp_path.iterdir()] == [name]  # nothing written elsewhere
    assert f"sqlite:///{home / 'kb.sqlite3'}" in out.replace("\n", "")
    assert invoke("init")[0] == 0  # upgrading in place works too


@pytest.mark.slow
@pytest.mark.integration
def test_import_publish_search_and_suggest_in_an_odd_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "知识库 100% (test) #1"
    monkeypatch.setenv("KB_HOME", str(home))
    source = tmp_path / "faq.jsonl"
    source.write_text(FAQ, encoding="utf-8")
    assert invoke("init")[0] == 0
    assert invoke("users", "add", "admin", "--role", "admin")[0] == 0
    code, out = invoke("import", str(source), "--publish", "--as", "admin")
    assert code == 0, out
    code, out = invoke("search", "退款要多久", "--json")
    assert code == 0, out
    assert json.loads(out)["results"][0]["article_id"] == "faq-refund"
    code, out = invoke("suggest", "钱啥时候退", "--json")
    assert code == 0, out
    assert json.loads(out)["citations"][0]["article_id"] == "faq-refund"
    assert (home / "index").is_dir()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://kb:p%40ss%25w%28rd%29%23@db.example:5432/kb",
        "postgresql://kb:%25%25%28x%29s@db.example/kb?sslmode=require",
        "sqlite:////srv/%E7%9F%A5%E8%AF%86%E5%BA%93%20%25%28x%29%231/kb.sqlite3",
    ],
)
def test_alembic_option_reads_back_as_the_same_url(url: str) -> None:
    """The URL → Alembic config path of a PostgreSQL URL with a %-encoded password.

    No PostgreSQL server or driver is available here, so this stops at the Alembic
    configuration (configparser) that ``kb/store/migrations/env.py`` reads the URL from.
    """
    parsed = make_url(url)
    cfg = AlembicConfig()
    cfg.set_main_option("sqlalchemy.url", alembic_option(parsed))
    read_back = make_url(cfg.get_main_option("sqlalchemy.url"))
    assert read_back == parsed
    assert read_back.password == parsed.password


def test_explicit_database_url_with_encoded_characters(tmp_path: Path) -> None:
    folder = tmp_path / "知识库 %(x)#1"
    config = Config(home=tmp_path / "home", database_url=sqlite_url(folder / "kb.sqlite3"))
    db = Database(config.effective_database_url)
    db.migrate()
    db.dispose()
    assert (folder / "kb.sqlite3").is_file()


def test_migrations_from_the_url_alone(tmp_path: Path) -> None:
    """``env.py`` without an engine builds one from the configured URL: same file."""
    path = tmp_path / "知识库 %(x)#1" / "kb.sqlite3"
    db = Database(sqlite_url(path))
    cfg = alembic_config(db.engine)
    del cfg.attributes["engine"]
    command.upgrade(cfg, "head")
    assert inspect(db.engine).has_table("alembic_version")
    db.dispose()
