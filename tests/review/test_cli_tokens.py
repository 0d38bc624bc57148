"""Who is acting on the CLI: personal tokens when ``cli_auth`` is 'token', ``--as`` trusted
when it is 'off'. Through the real CLI (Typer's CliRunner) on a real SQLite file in the
test's KB_HOME, with real token files (their permissions are checked on this machine)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kb.cli.common import STATE
from kb.cli.main import app
from kb.store import keys
from kb.store.db import Database
from kb.store.tables import AuditEvent, CliToken

ARTICLE = """---
id: refund
type: policy
title: 退款政策
lang: zh
audience: public
owner: 客服部
---
快件揽收后可以申请退款。
"""


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No token from the person running the tests, no index updates (see test_cli.py)."""
    monkeypatch.delenv("KB_TOKEN", raising=False)
    monkeypatch.delenv("KB_CLI_AUTH", raising=False)
    monkeypatch.delenv("KB_CLI_TOKEN_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(STATE, "apply_publications", False)


@pytest.fixture
def token_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CLI_AUTH", "token")


def kb(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def ok(*args: str, env_token: str | None = None) -> str:
    if env_token is None:
        code, out = kb(*args)
    else:
        result = CliRunner().invoke(app, list(args), env={"KB_TOKEN": env_token})
        code, out = result.exit_code, result.output
    assert code == 0, out
    return out


def fails(*args: str) -> str:
    code, out = kb(*args)
    assert code == 1, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    return " ".join(out.split())


def as_token(monkeypatch: pytest.MonkeyPatch, token: str | None) -> None:
    if token is None:
        monkeypatch.delenv("KB_TOKEN", raising=False)
    else:
        monkeypatch.setenv("KB_TOKEN", token)


def bootstrap() -> str:
    """Create the first admin 'root' in token mode; return the token it printed."""
    out = ok("users", "add", "root", "--role", "admin", "--json")
    return json.loads(out)["token"]


@pytest.fixture
def root_token(token_mode: None) -> str:
    return bootstrap()


@pytest.fixture
def ann_token(root_token: str, monkeypatch: pytest.MonkeyPatch) -> str:
    as_token(monkeypatch, root_token)
    ok("users", "add", "ann", "--role", "author")
    token = json.loads(ok("users", "token", "create", "ann", "--json"))["token"]
    as_token(monkeypatch, None)
    return token


def refusals(kb_home: Path) -> list[AuditEvent]:
    database = Database(f"sqlite:///{kb_home / 'kb.sqlite3'}")
    with database.session() as session:
        query = select(AuditEvent).where(AuditEvent.action == "cli_auth")
        rows = list(session.scalars(query.order_by(AuditEvent.seq)))
    database.dispose()
    assert all(r.outcome == "refused" for r in rows)
    return rows


def test_bootstrap_prints_a_working_token_and_the_token_alone_names_the_user(
    root_token: str, monkeypatch: pytest.MonkeyPatch, kb_home: Path
) -> None:
    assert root_token.startswith("kbu_")
    as_token(monkeypatch, root_token)
    assert "added ann: author" in ok("users", "add", "ann", "--role", "author")
    assert "added bob: reviewer" in ok("users", "add", "bob", "--role", "reviewer", "--as", "root")
    database = Database(f"sqlite:///{kb_home / 'kb.sqlite3'}")
    with database.session() as session:
        stored = session.scalars(select(CliToken)).all()
        assert [(t.user.name, t.token_hash) for t in stored] == [
            ("root", keys.hash_key(root_token))
        ]
    database.dispose()
    on_disk = b"".join(p.read_bytes() for p in kb_home.glob("kb.sqlite3*"))
    assert root_token.encode() not in on_disk  # only the hash is stored


def test_a_second_user_add_without_token_is_refused(root_token: str, kb_home: Path) -> None:
    assert "no CLI token given" in fails("users", "add", "eve", "--role", "admin")
    assert "KB_TOKEN" in fails("users", "add", "eve", "--role", "admin", "--as", "root")
    assert len(refusals(kb_home)) == 2


def test_every_acting_command_needs_the_token(
    ann_token: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kb_home: Path
) -> None:
    path = tmp_path / "refund.md"
    path.write_text(ARTICLE, encoding="utf-8")
    commands = [
        ("import", str(path), "--as", "ann"),
        ("submit", "refund", "--as", "ann"),
        ("history", "refund", "--as", "ann"),
        ("users", "list", "--as", "ann"),
        ("keys", "create", "--name", "bot", "--scopes", "suggest", "--as", "root"),
        ("users", "token", "list", "--as", "root"),
    ]
    for command in commands:
        assert "no CLI token given" in fails(*command), command
    assert len(refusals(kb_home)) == len(commands)
    as_token(monkeypatch, ann_token)
    ok("import", str(path), "--as", "ann")
    ok("submit", "refund")
    assert "ann" in ok("history", "refund")


def test_commands_that_read_drafts_or_keys_need_the_token_too(
    ann_token: str, root_token: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A draft (and its internal content) is not for whoever can run kb: with cli_auth
    'token', listing, showing and exporting articles and listing API keys need a token
    and a role that may see them; with cli_auth 'off' they run as before."""
    path = tmp_path / "refund.md"
    path.write_text(ARTICLE, encoding="utf-8")
    as_token(monkeypatch, ann_token)
    ok("import", str(path))
    ok("users", "add", "dave", "--role", "agent", "--as", "root", env_token=root_token)
    dave = json.loads(ok("users", "token", "create", "dave", "--json", env_token=root_token))[
        "token"
    ]
    out_dir = tmp_path / "out"
    commands = [
        ("articles", "list"),
        ("articles", "show", "refund"),
        ("export", str(out_dir)),
        ("keys", "list"),
    ]
    as_token(monkeypatch, None)
    for command in commands:
        assert "no CLI token given" in fails(*command), command
    assert not out_dir.exists()
    as_token(monkeypatch, dave)  # an agent reads published knowledge, not drafts or keys
    for command in commands:
        assert "dave (agent) may not" in fails(*command), command
    assert not out_dir.exists()
    as_token(monkeypatch, ann_token)
    assert "refund" in ok("articles", "list")
    assert "快件揽收后可以申请退款" in ok("articles", "show", "refund")
    ok("export", str(out_dir))
    assert "ann (author) may not" in fails("keys", "list")
    monkeypatch.setenv("KB_CLI_AUTH", "off")
    as_token(monkeypatch, None)
    assert "refund" in ok("articles", "list")
    ok("keys", "list")


def test_wrong_token_is_refused_and_audited(ann_token: str, monkeypatch, kb_home: Path) -> None:
    as_token(monkeypatch, ann_token[:-1] + ("A" if ann_token[-1] != "A" else "B"))
    assert "the CLI token is not valid" in fails("users", "list", "--as", "ann")
    as_token(monkeypatch, "not-a-token")
    assert "the CLI token is not valid" in fails("users", "list")
    events = refusals(kb_home)
    assert [e.actor for e in events] == ["ann", "(nobody)"]


def test_token_of_another_user_is_refused(
    ann_token: str, monkeypatch: pytest.MonkeyPatch, kb_home: Path
) -> None:
    as_token(monkeypatch, ann_token)
    message = fails("users", "add", "eve", "--role", "admin", "--as", "root")
    assert "the CLI token belongs to 'ann', not to 'root'" in message
    monkeypatch.setenv("KB_ACTOR", "root")
    assert "belongs to 'ann', not to 'root'" in fails("users", "list")
    assert [e.actor for e in refusals(kb_home)] == ["ann", "ann"]


def test_revoked_and_replaced_tokens_stop_working(
    ann_token: str, root_token: str, monkeypatch: pytest.MonkeyPatch, kb_home: Path
) -> None:
    as_token(monkeypatch, root_token)
    second = json.loads(ok("users", "token", "create", "ann", "--json"))["token"]
    as_token(monkeypatch, ann_token)
    assert "was revoked" in fails("users", "list")
    as_token(monkeypatch, second)
    ok("users", "list")
    assert "revoked the CLI token" in ok("users", "token", "revoke", "ann")  # themself
    assert "was revoked" in fails("users", "list")
    as_token(monkeypatch, root_token)
    assert "has no active CLI token" in fails("users", "token", "revoke", "ann")
    listed = json.loads(ok("users", "token", "list", "--json"))
    assert [(t["user"], t["active"]) for t in listed] == [
        ("ann", False),
        ("ann", False),
        ("root", True),
    ]
    assert not any(secret in json.dumps(listed) for secret in (ann_token, second, root_token))
    assert len(refusals(kb_home)) == 2


def test_only_an_admin_creates_tokens_and_revokes_others(
    ann_token: str, root_token: str, monkeypatch: pytest.MonkeyPatch, kb_home: Path
) -> None:
    as_token(monkeypatch, ann_token)
    assert "may not manage_users" in fails("users", "token", "create", "ann")
    assert "may not manage_users" in fails("users", "token", "revoke", "root")
    as_token(monkeypatch, root_token)
    ok("users", "list")  # root's token still works


def test_token_file_is_read_and_must_be_private(
    ann_token: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kb_home: Path
) -> None:
    token_file = tmp_path / "home" / ".config" / "kb" / "token"
    token_file.parent.mkdir(parents=True)
    token_file.write_text(ann_token + "\n", encoding="utf-8")
    for mode in (0o644, 0o640, 0o604, 0o660):
        token_file.chmod(mode)
        message = fails("users", "list")
        assert f"the token file {token_file} is open to group or others" in message
        assert f"mode {mode:04o}" in message and "chmod 600" in message
    token_file.chmod(0o600)
    assert "ann" in ok("users", "list")
    elsewhere = tmp_path / "elsewhere-token"
    elsewhere.write_text("kbu_00000000_" + "x" * 43, encoding="utf-8")
    elsewhere.chmod(0o400)
    monkeypatch.setenv("KB_CLI_TOKEN_FILE", str(elsewhere))
    assert "the CLI token is not valid" in fails("users", "list")
    as_token(monkeypatch, ann_token)  # KB_TOKEN wins over the file
    ok("users", "list")
    assert len(refusals(kb_home)) == 5


def test_disabled_users_token_is_refused(
    ann_token: str, root_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_token(monkeypatch, root_token)
    ok("users", "disable", "ann")
    as_token(monkeypatch, ann_token)
    assert "user 'ann' is disabled" in fails("users", "list")


def test_with_cli_auth_off_nothing_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kb_home: Path
) -> None:
    token_file = tmp_path / "home" / ".config" / "kb" / "token"
    token_file.parent.mkdir(parents=True)
    token_file.write_text("junk", encoding="utf-8")
    os.chmod(token_file, 0o644)  # loose, but not read when cli_auth is off
    as_token(monkeypatch, "junk")
    out = ok("users", "add", "root", "--role", "admin")
    assert "token" not in out.lower()
    ok("users", "add", "ann", "--role", "author", "--as", "root")
    ok("users", "list", "--as", "ann")
    # tokens can be prepared before switching cli_auth on
    token = json.loads(ok("users", "token", "create", "ann", "--as", "root", "--json"))["token"]
    assert refusals(kb_home) == []
    monkeypatch.setenv("KB_CLI_AUTH", "token")
    as_token(monkeypatch, token)
    ok("users", "list")


def test_unknown_cli_auth_value_is_one_line_naming_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("KB_CLI_AUTH", "tokens")
    assert "setting 'cli_auth' from $KB_CLI_AUTH must be one of off, token, got 'tokens'" in fails(
        "users", "list"
    )


def test_migration_adds_and_removes_only_the_token_table(kb_home: Path) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from kb.store.db import alembic_config

    database = Database(f"sqlite:///{kb_home / 'kb.sqlite3'}")
    database.migrate()
    command.downgrade(alembic_config(database.engine), "0004")  # later migrations undone
    before = set(inspect(database.engine).get_table_names())
    assert "cli_tokens" in before
    command.downgrade(alembic_config(database.engine), "0003")
    assert set(inspect(database.engine).get_table_names()) == before - {"cli_tokens"}
    database.migrate()
    assert set(inspect(database.engine).get_table_names()) >= before
    database.dispose()
