"""Users, their roles and passwords (``kb users ...``; the app logs in with ``authenticate``).

Managing users needs the admin role, except the very first user of an empty
knowledge base (bootstrap), who must be an admin. Passwords are stored as
bcrypt hashes only. Every change is an audit event; the last enabled admin
cannot lose the role or be disabled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import bcrypt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.errors import Conflict, InvalidInput, NotFound
from kb.store.articles import utcnow
from kb.store.tables import User
from review import audit
from review.locking import lock_for_write
from review.permissions import Action, Role, authorize, find_user, parse_roles, refuse

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt uses only the first 72 bytes; longer ones are refused
_DUMMY_HASH = bcrypt.hashpw(b"no such user", bcrypt.gensalt()).decode()


def hash_password(password: str) -> str:
    """A bcrypt hash of the password; InvalidInput if it is too short or too long."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise InvalidInput(f"the password must be at most {MAX_PASSWORD_BYTES} bytes (UTF-8)")
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode()


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The enabled user with this name and password, else None (same cost either way)."""
    user = find_user(session, name)
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES:
        return None
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    matches = bcrypt.checkpw(encoded, stored.encode())
    if user is None or user.disabled or not user.password_hash or not matches:
        return None
    return user


def user_dict(user: User) -> dict[str, Any]:
    """A user as JSON-ready data (never the password hash)."""
    return {
        "name": user.name,
        "display_name": user.display_name,
        "roles": list(user.roles),
        "has_password": bool(user.password_hash),
        "disabled": user.disabled,
        "created_at": user.created_at,
    }


def _get_user(session: Session, name: str) -> User:
    user = find_user(session, name)
    if user is None:
        raise NotFound(f"no user '{name}'")
    session.refresh(user)
    return user


def _record(session: Session, actor: str, action: str, comment: str) -> None:
    audit.append(session, audit.Event(actor=actor, action=action, comment=comment))


def add_user(
    session: Session,
    actor: str | None,
    name: str,
    roles: Iterable[str],
    *,
    password: str | None = None,
    display_name: str = "",
) -> User:
    """Create a user. Needs admin, except for the first user (who must be an admin)."""
    if not NAME_PATTERN.match(name or ""):
        raise InvalidInput(f"invalid user name {name!r}: letters, digits, '.', '_', '@', '-'")
    role_list = parse_roles(roles)
    if not role_list:
        raise InvalidInput("give the user at least one role (--role ...)")
    has_users = session.scalar(select(User.id).limit(1)) is not None
    if has_users and not actor:
        reason = "users exist already: adding one needs an acting admin (none was given)"
        raise refuse(session, "", Action.MANAGE_USERS, reason)
    if has_users:
        authorize(session, actor or "", Action.MANAGE_USERS)
    lock_for_write(session)
    bootstrap = session.scalar(select(func.count(User.id))) == 0
    if not bootstrap and not has_users:  # someone else bootstrapped meanwhile
        authorize(session, actor or "", Action.MANAGE_USERS)
    if bootstrap and Role.ADMIN not in role_list:
        raise InvalidInput("the first user must be an admin (--role admin)")
    existing = session.scalar(select(User.name).where(func.lower(User.name) == name.lower()))
    if existing is not None:
        twin = (
            ""
            if existing == name
            else f" (names differing only by case are one user: '{existing}')"
        )
        raise Conflict(f"user '{name}' already exists{twin}")
    user = User(
        name=name,
        display_name=display_name,
        roles=[str(r) for r in role_list],
        password_hash=hash_password(password) if password is not None else None,
        disabled=False,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    note = "first user (bootstrap); " if bootstrap else ""
    _record(session, actor or name, "user_add", f"{note}{name}: roles {', '.join(user.roles)}")
    return user


def list_users(session: Session, actor: str) -> list[User]:
    """Every user, by name. Any known user may list them."""
    authorize(session, actor, Action.READ)
    return list(session.scalars(select(User).order_by(User.name)))


def set_password(session: Session, actor: str, name: str, password: str) -> User:
    """Set a user's password: an admin for anyone, or a user for themself."""
    if actor != name:
        authorize(session, actor, Action.MANAGE_USERS)
    else:
        authorize(session, actor, Action.READ)
    lock_for_write(session)
    user = _get_user(session, name)
    user.password_hash = hash_password(password)
    _record(session, actor, "user_password", f"{name}: password set")
    return user


def _enabled_admins(session: Session) -> list[str]:
    users = session.scalars(select(User).where(User.disabled.is_(False)))
    return [u.name for u in users if str(Role.ADMIN) in u.roles]


def change_roles(
    session: Session,
    actor: str,
    name: str,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> User:
    """Add and remove roles of a user (admin only); the last admin keeps the role."""
    authorize(session, actor, Action.MANAGE_USERS)
    to_add, to_remove = parse_roles(add), parse_roles(remove)
    lock_for_write(session)
    user = _get_user(session, name)
    new_roles = [r for r in Role if (r in to_add or r in user.roles) and r not in to_remove]
    if Role.ADMIN in to_remove and _enabled_admins(session) == [name]:
        raise Conflict(f"'{name}' is the last admin; make someone else admin first")
    if not new_roles:
        raise InvalidInput(f"user '{name}' would have no role left")
    before = ", ".join(user.roles)
    user.roles = [str(r) for r in new_roles]
    _record(session, actor, "user_roles", f"{name}: roles {before} -> {', '.join(user.roles)}")
    return user


def set_disabled(session: Session, actor: str, name: str, disabled: bool) -> User:
    """Disable (or re-enable) a user (admin only); the last admin cannot be disabled."""
    authorize(session, actor, Action.MANAGE_USERS)
    if actor == name and disabled:
        raise refuse(session, actor, "user_disable", f"{actor} may not disable themself")
    lock_for_write(session)
    user = _get_user(session, name)
    if disabled and _enabled_admins(session) == [name]:
        raise Conflict(f"'{name}' is the last admin; it cannot be disabled")
    user.disabled = disabled
    _record(session, actor, "user_disable" if disabled else "user_enable", name)
    return user
