"""The one JSON error body of the API, and the handlers that turn every error into it.

Every error a client sees is::

    {"error": {"code": "not_found", "message": "...", "request_id": "..."}}

built by ``error_response``. On the OpenAI-compatible routes (``/v1/chat/...``,
``/v1/models``) the same helper answers in OpenAI's envelope instead, so OpenAI clients
raise their usual exceptions::

    {"error": {"message": "...", "type": "invalid_request_error", "param": null,
               "code": "invalid_input"}}

with 400 where the kb routes say 422 (OpenAI's status for an invalid request), the
request id in the ``X-Request-ID`` header. Domain exceptions (``kb.errors``) are mapped to an
HTTP status here and only here; framework errors (unknown route, wrong method,
invalid body) get the same shape; anything unexpected becomes a 500 with a
generic message: the traceback goes to the server log, never to the client.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    InvalidInput,
    KbError,
    NotFound,
    NotReady,
    Unauthorized,
)

logger = logging.getLogger("kb.api")

REQUEST_ID_HEADER = "X-Request-ID"
#: Seconds a client is asked to wait when the database is busy.
DATABASE_RETRY_AFTER_S = 2

#: Domain exception -> HTTP status (the only place this mapping exists).
STATUS_BY_ERROR: dict[type[KbError], int] = {
    InvalidInput: 422,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    NotReady: 503,
    ConfigError: 500,
}

#: HTTP status -> error code, for errors raised by the framework.
CODE_BY_STATUS: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "not_ready",
}
# 503 "database_busy": the database is locked past its busy timeout or unreachable.


class RateLimited(KbError):
    """The key sent more requests than its limit; retry after ``retry_after`` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BodyTooLarge(KbError):
    """The request body is larger than ``api_max_body_bytes``."""

    code = "payload_too_large"


STATUS_BY_ERROR[RateLimited] = 429
STATUS_BY_ERROR[BodyTooLarge] = 413


def request_id_of(request: Request) -> str:
    """The request's id (set by the middleware; made up if the request never reached it)."""
    rid = getattr(request.state, "request_id", None)
    if not rid:
        rid = uuid.uuid4().hex
        request.state.request_id = rid
    return rid


#: Path prefixes of the OpenAI-compatible routes, whose errors use OpenAI's envelope.
OPENAI_PATHS = ("/v1/chat/", "/v1/models")
#: HTTP status -> OpenAI error ``type``.
OPENAI_TYPE_BY_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}


def is_openai_route(request: Request) -> bool:
    """True for the OpenAI-compatible routes (their errors use OpenAI's envelope)."""
    return request.url.path.startswith(OPENAI_PATHS)


def openai_error_body(status: int, code: str, message: str, param: str | None) -> dict[str, Any]:
    """OpenAI's error JSON: ``{"error": {"message", "type", "param", "code"}}``."""
    kind = OPENAI_TYPE_BY_STATUS.get(status, "server_error" if status >= 500 else "api_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_body(code: str, message: str, request_id: str) -> dict[str, Any]:
    """The error JSON: ``{"error": {"code", "message", "request_id"}}``."""
    return {"error": {"code": code, "message": message, "request_id": request_id}}


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    param: str | None = None,
) -> JSONResponse:
    """The one helper every error response of the API is built with (OpenAI's envelope,
    and 400 for 422, on the OpenAI-compatible routes; ``param`` names the field there)."""
    rid = request_id_of(request)
    all_headers = {REQUEST_ID_HEADER: rid, **(headers or {})}
    if is_openai_route(request):
        status = 400 if status == 422 else status
        body = openai_error_body(status, code, message, param)
        return JSONResponse(body, status_code=status, headers=all_headers)
    return JSONResponse(error_body(code, message, rid), status_code=status, headers=all_headers)


def status_of(exc: KbError) -> int:
    """The HTTP status of a domain exception (500 for one not mapped)."""
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


async def _kb_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KbError)
    status = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    elif status == 503:
        headers["Retry-After"] = "5"
    if status >= 500 and status != 503:
        logger.error("request %s failed: %s", request_id_of(request), exc.message)
        return error_response(request, status, "internal_error", "internal server error")
    return error_response(request, status, exc.code, exc.message, headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400:  # FastAPI's "error parsing the body" (e.g. not UTF-8): invalid input
        return error_response(request, 422, "invalid_input", "the request body is not valid JSON")
    code = CODE_BY_STATUS.get(status, "error" if status < 500 else "internal_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if status == 404 and message == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    headers = dict(exc.headers or {})
    return error_response(request, status, code, message, headers)


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
    return f"{where}: {error.get('msg', 'invalid')}"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    message = "; ".join(_describe(e) for e in errors[:5]) or "invalid request"
    param = _describe(errors[0]).split(":")[0] if errors else None
    return error_response(request, 422, "invalid_input", message, param=param)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database is locked for longer than the busy timeout, or unreachable: a
    temporary condition the client may retry (503), not a server fault (500)."""
    logger.warning("request %s: database unavailable: %s", request_id_of(request), exc)
    return error_response(
        request,
        503,
        "database_busy",
        "the database is busy or unavailable; retry shortly",
        {"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("request %s failed", request_id_of(request), exc_info=exc)
    return error_response(request, 500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` answer with the one error body."""
    app.add_exception_handler(KbError, _kb_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
