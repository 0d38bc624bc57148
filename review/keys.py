"""Managing the bots' API keys (``kb keys ...``): admin only, every change audited.

The key material itself (format, hashing, verification) is in ``kb.store.keys``; this
module adds who may do what. Creating and revoking a key needs the admin role
(checked with ``Action.MANAGE_USERS``, which only admins hold); a refusal is
audited like every other refusal. Listing shows no secret and needs no role.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.errors import Conflict, NotFound
from kb.store import keys
from kb.store.articles import utcnow
from kb.store.tables import ApiKey
from review import audit
from review.locking import lock_for_write
from review.permissions import Action, authorize


def create_key(
    session: Session, actor: str, name: str, scopes: Iterable[str] | str, audience: str
) -> tuple[ApiKey, str]:
    """Create a key (admin only): the saved row and the clear key, shown once."""
    user = authorize(session, actor, Action.MANAGE_USERS)
    row, clear = keys.new_key(name, scopes, audience, user.name)
    lock_for_write(session)
    existing = session.scalar(select(ApiKey.name).where(func.lower(ApiKey.name) == name.lower()))
    if existing is not None:
        twin = (
            "" if existing == name else f" (names differing only by case are one key: '{existing}')"
        )
        raise Conflict(f"an API key named '{name}' already exists{twin}")
    session.add(row)
    session.flush()
    comment = f"{name}: scopes {', '.join(row.scopes)}; audience {row.audience}"
    audit.append(session, audit.Event(actor=user.name, action="key_create", comment=comment))
    return row, clear


def revoke_key(session: Session, actor: str, name: str) -> ApiKey:
    """Revoke a key (admin only); it stops working at once. Revoking twice is a Conflict."""
    user = authorize(session, actor, Action.MANAGE_USERS)
    lock_for_write(session)
    row = keys.find_key(session, name)
    if row is None:
        raise NotFound(f"no API key named '{name}'")
    session.refresh(row)
    if row.revoked_at is not None:
        raise Conflict(f"API key '{name}' was already revoked")
    row.revoked_at = utcnow()
    audit.append(session, audit.Event(actor=user.name, action="key_revoke", comment=name))
    return row


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, by name, revoked ones included (no secrets are stored to show)."""
    return keys.list_keys(session)
