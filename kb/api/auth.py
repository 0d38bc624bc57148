"""Authentication of bots: ``Authorization: Bearer <key>``, scopes, audience, rate limit.

``require(scope)`` is a FastAPI dependency: it verifies the key (``kb.store.keys``), takes
one token from the key's rate-limit bucket, checks the scope and returns the
``KeyInfo``. No key, a malformed, unknown or revoked key: 401 with one body for all
(``UNAUTHORIZED``), so a caller learns nothing about which keys exist. Each failure
spends one of the client address's allowance (``api_auth_failures_per_minute``); an
address that used it up gets 429 before its key is looked at. A missing scope: 403.
``last_used_at`` is written at most once a minute per key and worker, by the worker's
background usage writer (``kb.store.logwriter``), so a busy database never fails a request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kb.errors import Forbidden, Unauthorized
from kb.model import Audience
from kb.store.keys import KeyInfo, verify_key

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key made with `kb keys create`, sent as `Authorization: Bearer kb_...`.",
)
TOUCH_INTERVAL_S = 60.0
UNAUTHORIZED = "a valid API key is required: send it as 'Authorization: Bearer <key>'"


class KeyUsage:
    """Throttles the ``last_used_at`` writes: at most one per key per interval."""

    def __init__(self, interval: float = TOUCH_INTERVAL_S) -> None:
        """Remember when each key was last written."""
        self.interval = interval
        self._written: dict[int, float] = {}
        self._lock = threading.Lock()

    def due(self, key_id: int) -> bool:
        """True (and reserve the write) when the key's last write is older than the interval."""
        now = time.monotonic()
        with self._lock:
            if now - self._written.get(key_id, -self.interval) < self.interval:
                return False
            self._written[key_id] = now
            return True


def client_address(request: Request) -> str:
    """The client's IP address (behind a proxy: as uvicorn's ``--proxy-headers`` saw it)."""
    return request.client.host if request.client is not None else "unknown"


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> KeyInfo:
    """The verified key of this request; ``Unauthorized`` (or ``RateLimited`` for an
    address with too many failures) otherwise."""
    state = request.app.state.kb
    address = client_address(request)
    state.auth_failures.refuse_if_exhausted(address)
    key = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        with state.db.session() as session:
            key = verify_key(session, credentials.credentials.strip())
    if key is None:
        state.auth_failures.failed(address)
        raise Unauthorized(UNAUTHORIZED)
    if state.key_usage.due(key.id):
        state.usage.touch_key(key.id)  # written in the background: a busy database cannot fail us
    request.state.key_name = key.name
    return key


def require(scope: str) -> Callable[..., KeyInfo]:
    """A dependency that admits keys holding ``scope`` and within their rate limit."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> KeyInfo:
        key = authenticate(request, credentials)
        request.app.state.kb.limiter.check(key.name)
        if scope not in key.scopes:
            raise Forbidden(f"this API key lacks the '{scope}' scope")
        return key

    dependency.__name__ = f"require_{scope}"
    return dependency


def allowed_audience(key: KeyInfo, asked: str | None) -> Audience:
    """The audience a request is served with: the key's, or a narrower one it asks for.

    A public key asking for ``internal`` is refused (403), never silently clamped,
    so a misconfigured bot notices; an internal key may ask for ``public``.
    """
    if asked is None:
        return key.audience
    wanted = Audience(asked)
    if wanted == Audience.INTERNAL and key.audience != Audience.INTERNAL:
        raise Forbidden("this API key may only ask for the public audience")
    return wanted


def may_see(key_audience: Audience, article_audience: str | None) -> bool:
    """True when a key of ``key_audience`` may see an article of ``article_audience``."""
    if key_audience == Audience.INTERNAL:
        return True
    return article_audience == Audience.PUBLIC
