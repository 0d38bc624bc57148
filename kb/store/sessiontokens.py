"""Signed, expiring sign-in tokens for the Streamlit app.

A token holds only the user's name and when it was issued, signed (HMAC, via
``itsdangerous``) with a secret made once per knowledge base: ``<home>/session_secret``,
readable by its owner only. It expires after the ``session_lifetime_hours`` setting.
Signing out records the moment per user (``<home>/signed_out.json``); a token issued
before that moment is refused, so signing out ends every session of that user.
The token never holds a password or a role: roles are re-read on every check.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from kb.errors import ConfigError

SECRET_FILE = "session_secret"
SIGNED_OUT_FILE = "signed_out.json"
_SALT = "kb-app-session"


def session_secret(home: Path) -> bytes:
    """The knowledge base's session secret, created (mode 0600) on first use.

    The secret is written whole to a private temporary file and then linked into place,
    so a second process never reads a half-written secret. A secret file that others may
    read, or an empty one, is refused with an error naming it.
    """
    path = home / SECRET_FILE
    if not path.exists():
        _create_secret(path)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(f"session secret {path} is readable by others: chmod 600 it")
    secret = path.read_bytes().strip()
    if len(secret) < 32:
        raise ConfigError(f"session secret {path} is too short: delete it to make a new one")
    return secret


def _create_secret(path: Path) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_urlsafe(48).encode("ascii"))
    try:
        os.link(temporary, path)  # fails if another process made it first: theirs is kept
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def _serializer(home: Path) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(session_secret(home), salt=_SALT)


def issue_token(home: Path, name: str) -> str:
    """A signed token for user ``name``, stamped with the time it was issued."""
    return str(_serializer(home).dumps({"u": name, "iat": time.time_ns()}))


def verify_token(home: Path, token: str, lifetime_seconds: float) -> str | None:
    """The user name in ``token`` if it is genuine, younger than ``lifetime_seconds``
    and issued after that user last signed out; otherwise None."""
    try:
        payload = _serializer(home).loads(token, max_age=int(lifetime_seconds))
    except BadSignature:  # also covers an expired signature
        return None
    if not isinstance(payload, dict):
        return None
    name, issued = payload.get("u"), payload.get("iat")
    if not isinstance(name, str) or not isinstance(issued, int):
        return None
    if issued <= _signed_out_times(home).get(name, 0):
        return None
    return name


def revoke_tokens(home: Path, name: str) -> None:
    """End every session of ``name``: tokens issued until now are refused from now on."""
    with _locked(home):
        times = _signed_out_times(home)
        times[name] = time.time_ns()
        path = home / SIGNED_OUT_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(times), encoding="utf-8")
        os.replace(temporary, path)


def _signed_out_times(home: Path) -> dict[str, int]:
    """User name -> when they last signed out (ns since the epoch)."""
    path = home / SIGNED_OUT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        raise ConfigError(f"cannot read {path}: not a JSON object of sign-out times") from None
    if not isinstance(data, dict):
        raise ConfigError(f"cannot read {path}: not a JSON object of sign-out times")
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int)}


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Serialise sign-outs of this knowledge base (between processes too)."""
    with open(home / (SIGNED_OUT_FILE + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
