"""API keys: only a hash is stored, verification, scopes, revocation, admin-only management
(on SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kb.cli.main import app
from kb.errors import Conflict, Forbidden, InvalidInput, NotFound
from kb.model import Audience
from kb.store import keys
from kb.store.db import Database
from kb.store.tables import ApiKey, AuditEvent
from review import users
from review.keys import create_key, list_keys, revoke_key


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Database:
    """A migrated database with an admin and an author (SQLite and PostgreSQL; the CLI
    uses it too)."""
    monkeypatch.setenv("KB_DATABASE_URL", database_url)
    database = Database(database_url)
    database.migrate()
    with database.session() as session:
        users.add_user(session, None, "root", ["admin"])
    with database.session() as session:
        users.add_user(session, "root", "ann", ["author"])
    return database


def test_only_the_hash_is_stored_and_the_key_verifies(db: Database) -> None:
    with db.session() as session:
        _row, clear = create_key(session, "root", "bot", "suggest,feedback", "public")
    with db.session() as session:
        stored = session.scalar(select(ApiKey).where(ApiKey.name == "bot"))
        assert clear not in json.dumps(keys.key_dict(stored), default=str)
        assert stored.key_hash == keys.hash_key(clear)
        assert clear.split("_")[1] == stored.prefix
        info = keys.verify_key(session, clear)
    assert info is not None
    assert (info.name, info.audience) == ("bot", Audience.PUBLIC)
    assert info.scopes == {"suggest", "feedback"}


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # wrong secret, right prefix
        lambda k: k.replace(k.split("_")[1], "00000000"),  # unknown prefix
        lambda k: k[:-2],  # malformed
        lambda _k: "",
        lambda k: k.upper(),
    ],
)
def test_wrong_keys_do_not_verify(db: Database, mangle) -> None:
    with db.session() as session:
        _row, clear = create_key(session, "root", "bot", "suggest", "public")
    with db.session() as session:
        assert keys.verify_key(session, mangle(clear)) is None


def test_revoked_key_stops_verifying_and_revoke_twice_conflicts(db: Database) -> None:
    with db.session() as session:
        _row, clear = create_key(session, "root", "bot", "suggest", "internal")
    with db.session() as session:
        revoke_key(session, "root", "bot")
    with db.session() as session:
        assert keys.verify_key(session, clear) is None
    with pytest.raises(Conflict), db.session() as session:
        revoke_key(session, "root", "bot")
    with pytest.raises(NotFound), db.session() as session:
        revoke_key(session, "root", "nobody")


def test_only_admins_manage_keys_and_refusals_are_audited(db: Database) -> None:
    with pytest.raises(Forbidden), db.session() as session:
        create_key(session, "ann", "bot", "suggest", "public")
    with db.session() as session:
        assert list_keys(session) == []
        refused = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "refused")).all()
        assert [e.actor for e in refused] == ["ann"]
        create_key(session, "root", "bot", "suggest", "public")
    with pytest.raises(Forbidden), db.session() as session:
        revoke_key(session, "ann", "bot")
    with db.session() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert "key_create" in actions


def test_key_settings_are_validated(db: Database) -> None:
    for scopes, audience, name in [
        ("suggest,admin", "public", "bot"),
        ("", "public", "bot"),
        ("suggest", "everyone", "bot"),
        ("suggest", "public", "bad name!"),
    ]:
        with pytest.raises(InvalidInput), db.session() as session:
            create_key(session, "root", name, scopes, audience)
    with db.session() as session:
        create_key(session, "root", "bot", "suggest", "public")
    with pytest.raises(Conflict), db.session() as session:
        create_key(session, "root", "bot", "suggest", "public")


def test_two_keys_never_collide() -> None:
    made = {keys.generate_key()[1] for _ in range(200)}
    assert len(made) == 200


def test_cli_prints_the_key_once_lists_and_revokes(db: Database) -> None:
    runner = CliRunner()
    args = "keys create --name bot --scopes suggest --audience public --as root --json"
    created = runner.invoke(app, args.split())
    assert created.exit_code == 0, created.output
    clear = json.loads(created.output)["key"]
    listed = runner.invoke(app, ["keys", "list", "--json"])
    assert listed.exit_code == 0
    assert clear not in listed.output
    assert json.loads(listed.output)[0]["active"] is True
    refused = runner.invoke(app, ["keys", "revoke", "bot", "--as", "ann"])
    assert refused.exit_code == 1
    assert "admin" in refused.output
    revoked = runner.invoke(app, ["keys", "revoke", "bot", "--as", "root"])
    assert revoked.exit_code == 0
    with db.session() as session:
        assert keys.verify_key(session, clear) is None
