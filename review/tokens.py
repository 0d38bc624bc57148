"""Personal CLI tokens (``kb users token ...``) and checking the token the CLI presents.

With the setting ``cli_auth: token`` every CLI command that acts as a user must present
that user's token (the CLI reads it from ``KB_TOKEN`` or a file, see ``kb.cli.identity``).
A token reads ``kbu_<prefix>_<secret>`` and is made and hashed like an API key
(``kb.store.keys``): only its SHA-256 is stored, the clear token is shown once.

A user has at most one active token: creating a new one revokes the old one. Creating
needs the admin role (the first admin gets a token at bootstrap, see ``kb users add``);
revoking is for an admin or the token's own user. Every change is an audit event, and
every refused token is audited like every other refusal (action ``cli_auth``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import Conflict, NotFound
from kb.store import keys
from kb.store.articles import utcnow
from kb.store.tables import CliToken, User
from review import audit
from review.locking import lock_for_write
from review.permissions import Action, authorize, find_user, refuse

TOKEN_KIND = "kbu"
AUTH_ACTION = "cli_auth"


def _get_user(session: Session, name: str) -> User:
    user = find_user(session, name)
    if user is None:
        raise NotFound(f"no user '{name}'")
    return user


def _active_token(session: Session, user: User) -> CliToken | None:
    query = select(CliToken).where(CliToken.user_id == user.id, CliToken.revoked_at.is_(None))
    return session.scalar(query.execution_options(populate_existing=True))


def create_token(
    session: Session, actor: str, name: str, *, note: str = ""
) -> tuple[CliToken, str]:
    """Give user ``name`` a new CLI token (admin only), revoking their previous one.

    Returns the saved row and the clear token, which is never stored: show it once.
    """
    admin = authorize(session, actor, Action.MANAGE_USERS)
    lock_for_write(session)
    user = _get_user(session, name)
    if user.disabled:
        raise Conflict(f"user '{name}' is disabled; enable them before giving them a token")
    now = utcnow()
    replaced = _active_token(session, user)
    if replaced is not None:
        replaced.revoked_at = now
    prefix, clear = keys.generate_key(TOKEN_KIND)
    row = CliToken(
        user_id=user.id,
        prefix=prefix,
        token_hash=keys.hash_key(clear),
        created_by=admin.name,
        created_at=now,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    comment = f"{name}: token {prefix}"
    if replaced is not None:
        comment += f" (revokes {replaced.prefix})"
    if note:
        comment += f"; {note}"
    audit.append(session, audit.Event(actor=admin.name, action="token_create", comment=comment))
    return row, clear


def revoke_token(session: Session, actor: str, name: str) -> CliToken:
    """Revoke user ``name``'s active CLI token: an admin for anyone, or a user for themself."""
    authorize(session, actor, Action.READ if actor == name else Action.MANAGE_USERS)
    lock_for_write(session)
    user = _get_user(session, name)
    row = _active_token(session, user)
    if row is None:
        raise NotFound(f"user '{name}' has no active CLI token")
    row.revoked_at = utcnow()
    comment = f"{name}: token {row.prefix}"
    audit.append(session, audit.Event(actor=actor, action="token_revoke", comment=comment))
    return row


def list_tokens(session: Session, actor: str) -> list[CliToken]:
    """Every CLI token, by user then age, revoked ones included. Any known user may list."""
    authorize(session, actor, Action.READ)
    query = select(CliToken).join(User).order_by(User.name, CliToken.created_at, CliToken.id)
    return list(session.scalars(query))


def token_dict(row: CliToken) -> dict[str, Any]:
    """A token as JSON-ready data (never its hash)."""
    return {
        "user": row.user.name,
        "prefix": row.prefix,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        "active": row.revoked_at is None,
    }


def _find_by_secret(session: Session, clear: str) -> CliToken | None:
    """The token row whose hash matches ``clear`` (revoked or not), else None."""
    prefix = keys.key_prefix(clear, TOKEN_KIND)
    digest = keys.hash_key(clear)
    if prefix is None:
        keys.same_digest(digest, None)  # a malformed token costs the same comparison
        return None
    rows = session.scalars(select(CliToken).where(CliToken.prefix == prefix)).all()
    return next((r for r in rows if keys.same_digest(digest, r.token_hash)), None)


def identify(session: Session, clear: str, claimed: str | None) -> str:
    """The name of the user whose active token ``clear`` is.

    ``claimed`` is the user named by ``--as`` (or the 'actor' setting), if any: it must
    be the token's user. A wrong, revoked or mismatched token, or a disabled user, is
    refused: audited, then ``Forbidden`` raised.
    """
    row = _find_by_secret(session, clear.strip())
    owner = row.user.name if row is not None else None
    if row is None:
        reason = "the CLI token is not valid (ask an admin for one: kb users token create)"
    elif row.revoked_at is not None:
        reason = f"the CLI token {row.prefix} of '{owner}' was revoked"
    elif row.user.disabled:
        reason = f"user '{owner}' is disabled"
    elif claimed and claimed != owner:
        reason = f"the CLI token belongs to '{owner}', not to '{claimed}' (--as/actor)"
    else:
        return row.user.name
    raise refuse(session, owner or claimed or "", AUTH_ACTION, reason)
