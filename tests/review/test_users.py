"""Users: bootstrap, roles, passwords (bcrypt) and authentication for the app."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kb.errors import Conflict, Forbidden, InvalidInput
from kb.store.db import Database
from kb.store.tables import AuditEvent, User
from review import audit, users
from tests.review.helpers import run


@pytest.fixture
def admin(db: Database) -> Database:
    with db.session() as session:
        users.add_user(session, None, "root", ["admin"], password="root-password")
    return db


def test_first_user_bootstraps_without_an_actor_and_is_audited(admin: Database) -> None:
    with admin.session() as session:
        [event] = session.scalars(select(AuditEvent)).all()
        assert (event.actor, event.action) == ("root", "user_add")
        assert "bootstrap" in event.comment
        assert audit.verify(session).ok


def test_later_users_need_an_admin(admin: Database) -> None:
    run(admin, users.add_user, "root", "ann", ["author", "reviewer", "author"])
    with admin.session() as session:
        ann = users.find_user(session, "ann")
        assert ann.roles == ["author", "reviewer"]  # canonical order, no duplicates
    with pytest.raises(Forbidden, match="needs the admin role"):
        run(admin, users.add_user, "ann", "bob", ["admin"])
    with pytest.raises(Conflict, match="already exists"):
        run(admin, users.add_user, "root", "ann", ["agent"])


@pytest.mark.parametrize(
    ("name", "roles", "message"),
    [
        ("bad name", ["agent"], "invalid user name"),
        ("bob", ["superuser"], "unknown role 'superuser'"),
        ("bob", [], "at least one role"),
    ],
)
def test_invalid_users_are_refused(
    admin: Database, name: str, roles: list[str], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        run(admin, users.add_user, "root", name, roles)


def test_passwords_are_bcrypt_hashes_and_authenticate(admin: Database) -> None:
    run(admin, users.add_user, "root", "ann", ["author"], password="correct horse")
    with admin.session() as session:
        stored = session.scalar(select(User.password_hash).where(User.name == "ann"))
        assert stored.startswith("$2b$")
        assert "correct horse" not in stored
        assert users.authenticate(session, "ann", "correct horse").name == "ann"
        assert users.authenticate(session, "ann", "wrong horse") is None
        assert users.authenticate(session, "nobody", "correct horse") is None
        assert users.authenticate(session, "ann", "x" * 100) is None


def test_password_rules(admin: Database) -> None:
    with pytest.raises(InvalidInput, match="at least 8"):
        run(admin, users.add_user, "root", "ann", ["author"], password="short")
    with pytest.raises(InvalidInput, match="at most 72 bytes"):
        run(admin, users.add_user, "root", "ann", ["author"], password="密码" * 20)


def test_users_set_their_own_password_admins_anyones(admin: Database) -> None:
    run(admin, users.add_user, "root", "ann", ["author"])
    run(admin, users.add_user, "root", "bob", ["author"])
    run(admin, users.set_password, "ann", "ann", "ann-secret-1")
    with pytest.raises(Forbidden):
        run(admin, users.set_password, "ann", "bob", "bob-secret-1")
    run(admin, users.set_password, "root", "bob", "bob-secret-1")
    with admin.session() as session:
        assert users.authenticate(session, "bob", "bob-secret-1") is not None
        comments = session.scalars(
            select(AuditEvent.comment).where(AuditEvent.action == "user_password")
        ).all()
    assert all("secret" not in c for c in comments)


def test_disabled_users_cannot_log_in_or_act(admin: Database) -> None:
    run(admin, users.add_user, "root", "ann", ["author"], password="ann-secret-1")
    run(admin, users.set_disabled, "root", "ann", True)
    with admin.session() as session:
        assert users.authenticate(session, "ann", "ann-secret-1") is None
    with pytest.raises(Forbidden, match="disabled"):
        run(admin, users.list_users, "ann")
    run(admin, users.set_disabled, "root", "ann", False)
    with admin.session() as session:
        assert users.authenticate(session, "ann", "ann-secret-1") is not None


def test_roles_change_but_the_last_admin_stays(admin: Database) -> None:
    run(admin, users.add_user, "root", "ann", ["author"])
    user = run(admin, users.change_roles, "root", "ann", add=["reviewer"], remove=["author"])
    assert user.roles == ["reviewer"]
    with pytest.raises(Conflict, match="last admin"):
        run(admin, users.change_roles, "root", "root", remove=["admin"])
    with pytest.raises(Forbidden):
        run(admin, users.set_disabled, "root", "root", True)
    run(admin, users.change_roles, "root", "ann", add=["admin"])
    run(admin, users.change_roles, "ann", "root", remove=["admin"], add=["agent"])
    with admin.session() as session:
        names = [u.name for u in users.list_users(session, "root")]
        assert names == ["ann", "root"]
        assert audit.verify(session).ok
