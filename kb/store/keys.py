"""API keys for bots: generation, hashing, lookup and verification (no permission checks).

The same secret format and hashing serve the CLI's personal tokens (``review.tokens``),
with the kind ``kbu`` instead of ``kb``.

A key reads ``kb_<prefix>_<secret>``: ``prefix`` is 8 random hex characters stored in
clear to find the row, ``secret`` 32 random bytes (URL-safe base64). Only the SHA-256
of the whole key is stored; as the secret has 256 bits of entropy, a plain hash
cannot be brute-forced and needs no slow KDF. Verification compares digests in
constant time. The clear key exists only in the return value of ``new_key``.

Who may create or revoke keys is decided in ``review.keys`` (admin only).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import InvalidInput
from kb.model import Audience
from kb.store.articles import utcnow
from kb.store.tables import ApiKey

KEY_PREFIX = "kb"
SCOPES = ("suggest", "feedback", "articles")
DEFAULT_SCOPES = SCOPES
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


def hash_key(clear: str) -> str:
    """The stored form of a key: SHA-256 hex of its UTF-8 bytes."""
    return hashlib.sha256(clear.encode("utf-8")).hexdigest()


def parse_scopes(scopes: Iterable[str] | str) -> list[str]:
    """Scopes from names (a comma list or an iterable), canonical order; InvalidInput if unknown."""
    names = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    wanted = {n.strip().lower() for n in names if n.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise InvalidInput(f"unknown scope '{unknown[0]}' (choose from {', '.join(SCOPES)})")
    if not wanted:
        raise InvalidInput(f"give at least one scope ({', '.join(SCOPES)})")
    return [s for s in SCOPES if s in wanted]


def parse_audience(audience: str) -> Audience:
    """The audience named ``public`` or ``internal``; InvalidInput otherwise."""
    try:
        return Audience(audience.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown audience '{audience}' (choose public or internal)") from None


def generate_key(kind: str = KEY_PREFIX) -> tuple[str, str]:
    """A new random secret ``<kind>_<prefix>_<secret>``: ``(prefix, clear key)``."""
    prefix = secrets.token_hex(4)
    return prefix, f"{kind}_{prefix}_{secrets.token_urlsafe(32)}"


def key_prefix(clear: str, kind: str = KEY_PREFIX) -> str | None:
    """The prefix of a well-formed secret of this kind, else None."""
    match = re.fullmatch(rf"{re.escape(kind)}_([0-9a-f]{{8}})_[A-Za-z0-9_-]{{43}}", clear or "")
    return match.group(1) if match else None


def same_digest(digest: str, stored: str | None) -> bool:
    """Compare two hex digests in constant time (a missing one costs the same)."""
    return hmac.compare_digest(digest, stored or _DUMMY_HASH) and stored is not None


def new_key(
    name: str, scopes: Iterable[str] | str, audience: str, created_by: str
) -> tuple[ApiKey, str]:
    """A new (unsaved) key row and its clear key, which is never stored."""
    if not NAME_PATTERN.match(name or ""):
        raise InvalidInput(f"invalid key name {name!r}: letters, digits, '.', '_', '@', '-'")
    prefix, clear = generate_key()
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=hash_key(clear),
        scopes=parse_scopes(scopes),
        audience=str(parse_audience(audience)),
        created_by=created_by,
        created_at=utcnow(),
        revoked_at=None,
        last_used_at=None,
    )
    return row, clear


@dataclass(frozen=True)
class KeyInfo:
    """A verified key as the API sees it (detached from any session)."""

    id: int
    name: str
    scopes: frozenset[str]
    audience: Audience

    @property
    def requester(self) -> str:
        """How this key is named in the query log and feedback (``key:<name>``)."""
        return f"key:{self.name}"


def verify_key(session: Session, clear: str) -> KeyInfo | None:
    """The active key matching ``clear``, else None (a malformed key costs the same hash)."""
    prefix = key_prefix(clear)
    digest = hash_key(clear or "")
    if prefix is None:
        same_digest(digest, None)
        return None
    rows = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).all()
    found = None
    for row in rows:
        if same_digest(digest, row.key_hash) and row.revoked_at is None:
            found = row
    if found is None:
        return None
    return KeyInfo(found.id, found.name, frozenset(found.scopes), Audience(found.audience))


def find_key(session: Session, name: str) -> ApiKey | None:
    """The key row with this name, or None."""
    return session.scalar(select(ApiKey).where(ApiKey.name == name))


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, by name (revoked ones included)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))


def touch(session: Session, key_id: int, when: datetime | None = None) -> None:
    """Record that a key was used now."""
    row = session.get(ApiKey, key_id)
    if row is not None:
        row.last_used_at = when or utcnow()


def key_dict(row: ApiKey) -> dict[str, Any]:
    """A key as JSON-ready data (never its hash)."""
    return {
        "name": row.name,
        "prefix": row.prefix,
        "scopes": list(row.scopes),
        "audience": row.audience,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        "last_used_at": row.last_used_at,
        "active": row.revoked_at is None,
    }
