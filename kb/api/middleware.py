"""ASGI middleware: request ids, metrics and the access log, and the request body limit.

``RequestContext`` gives every request an id (``X-Request-ID`` on every response),
times it, counts it in the metrics by route template (never by raw path, so ids in
paths do not explode the label set) and writes one access-log line without the
body. ``BodyLimit`` answers 413 when ``Content-Length`` is over the limit and stops
reading a body (chunked or lying about its length) as soon as it goes over.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb.api.errors import REQUEST_ID_HEADER, error_response
from kb.api.metrics import ApiMetrics

logger = logging.getLogger("kb.api.access")


class RequestContext:
    """Request id, timing, metrics and the access log for every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        """Wrap ``app``; count into ``metrics``."""
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((REQUEST_ID_HEADER.lower().encode(), rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe(scope["method"], route, status, seconds)
            state: dict[str, Any] = scope.get("state", {})
            logger.info(
                "%s %s %s %d %.1fms key=%s",
                rid,
                scope["method"],
                route,
                status,
                seconds * 1000,
                state.get("key_name", "-"),
            )


def _route_template(scope: Scope) -> str:
    """The matched route's path template, or ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with 413 and the one error body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        """Wrap ``app`` with a limit in bytes."""
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the bytes actually received."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = error_response(request, 413, "payload_too_large", self._message())
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
