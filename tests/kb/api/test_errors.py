"""Every error path answers the one error body, from real servers on loopback ports.

401, 403, 404, 405, 413, 422 come from the session's ``kb serve``; 429 from an app
with a limit of 2 requests a minute; 503 from an app whose index was never built;
500 from a route added to a real app that raises (the only way to cause a bug on
purpose), to check that no traceback reaches the client.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kb.api import create_app
from kb.config import Config
from tests.kb.api.conftest import Kb
from tests.kb.api.helpers import ThreadServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def assert_error_shape(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one body: exactly error.{code, message, request_id}; the id matches the header."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert sorted(error) == ["code", "message", "request_id"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    return error


@pytest.fixture
def client(kb_server: Kb) -> Iterator[httpx.Client]:
    """An HTTP client for the session's server."""
    with httpx.Client(base_url=kb_server.url, timeout=30) as c:
        yield c


def test_authentication_errors_are_401(client: httpx.Client, kb_server: Kb) -> None:
    body = {"question": "怎么退货"}
    good = kb_server.keys["public"]
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {good}"},
        {"Authorization": f"Bearer {good[:-1]}x"},
        {"Authorization": "Bearer kb_00000000_" + "A" * 43},
        kb_server.auth("revoked"),
    ):
        response = client.post("/v1/suggest", json=body, headers=headers)
        assert_error_shape(response, 401, "unauthorized")
    assert_error_shape(client.get("/v1/articles/faq-return-public"), 401, "unauthorized")


def test_scope_and_audience_errors_are_403(client: httpx.Client, kb_server: Kb) -> None:
    no_scope = client.get("/v1/articles/faq-return-public", headers=kb_server.auth("suggest-only"))
    assert_error_shape(no_scope, 403, "forbidden")
    feedback = client.post(
        "/v1/feedback",
        json={"request_id": "x", "helpful": True},
        headers=kb_server.auth("suggest-only"),
    )
    assert_error_shape(feedback, 403, "forbidden")
    audience = client.post(
        "/v1/suggest",
        json={"question": "怎么退货", "audience": "internal"},
        headers=kb_server.auth("public"),
    )
    assert_error_shape(audience, 403, "forbidden")


def test_not_found_and_method_errors(client: httpx.Client, kb_server: Kb) -> None:
    auth = kb_server.auth("public")
    assert_error_shape(client.get("/v1/articles/no-such-article", headers=auth), 404, "not_found")
    assert_error_shape(client.get("/v1/nothing-here", headers=auth), 404, "not_found")
    assert_error_shape(client.delete("/v1/suggest", headers=auth), 405, "method_not_allowed")


def test_body_and_input_errors(client: httpx.Client, kb_server: Kb) -> None:
    auth = kb_server.auth("public")
    max_chars = kb_server.config.api_max_question_chars
    big = client.post("/v1/suggest", json={"question": "退" * 20_000}, headers=auth)
    assert_error_shape(big, 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(40):
            yield b"x" * 1000
        yield b'"}'

    streamed = client.post(
        "/v1/suggest", content=chunks(), headers={**auth, "Content-Type": "application/json"}
    )
    assert_error_shape(streamed, 413, "payload_too_large")
    for payload in (
        {"question": "退" * (max_chars + 1)},
        {"question": ""},
        {"question": "\u001d"},  # only a control character: empty once normalised
        {"question": " \t "},
        {},
        {"question": "怎么退货", "top_k": 0},
        {"question": "怎么退货", "top_k": 1000},
        {"question": "怎么退货", "as_of": "yesterday"},
        {"question": "怎么退货", "as_of": 1.74e-80},  # a number is not a date
        {"question": "怎么退货", "audience": "everyone"},
        {"question": "怎么退货", "unknown_field": 1},
        {"question": ["not", "a", "string"]},
    ):
        response = client.post("/v1/suggest", json=payload, headers=auth)
        assert_error_shape(response, 422, "invalid_input")
    broken = client.post(
        "/v1/suggest", content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert_error_shape(broken, 422, "invalid_input")
    not_utf8 = client.post(
        "/v1/suggest",
        content=b'{"question": "\xff\xfe"}',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert_error_shape(not_utf8, 422, "invalid_input")
    feedback = client.post("/v1/feedback", json={"request_id": "x"}, headers=auth)
    assert_error_shape(feedback, 422, "invalid_input")
    bad_id = client.get("/v1/articles/bad%20id!", headers=auth)
    assert_error_shape(bad_id, 422, "invalid_input")


def test_rate_limit_is_429_with_retry_after(kb_server: Kb) -> None:
    config = Config(home=kb_server.home, api_rate_limit_per_minute=2)
    server = ThreadServer(create_app(config, load=False)).start("/healthz")
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            auth = kb_server.auth("public")
            for _ in range(2):
                ok = c.get("/v1/articles/faq-return-public", headers=auth)
                assert ok.status_code == 200
            limited = c.get("/v1/articles/faq-return-public", headers=auth)
            assert_error_shape(limited, 429, "rate_limited")
            assert 1 <= int(limited.headers["Retry-After"]) <= 30
            other = c.get("/v1/articles/faq-return-public", headers=kb_server.auth("public2"))
            assert other.status_code == 200
    finally:
        server.stop()


def test_not_ready_is_503_until_an_index_exists(kb_server: Kb, tmp_path: Path) -> None:
    config = Config(home=tmp_path / "empty", database_url=kb_server.config.effective_database_url)
    server = ThreadServer(create_app(config)).start("/healthz")
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            assert c.get("/healthz").status_code == 200
            ready = c.get("/readyz")
            assert_error_shape(ready, 503, "not_ready")
            assert ready.headers["Retry-After"]
            response = c.post(
                "/v1/suggest", json={"question": "怎么退货"}, headers=kb_server.auth("public")
            )
            assert_error_shape(response, 503, "not_ready")
    finally:
        server.stop()


def test_a_bug_is_a_500_without_a_traceback(kb_server: Kb) -> None:
    app = create_app(Config(home=kb_server.home), load=False)

    def boom() -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    app.add_api_route("/boom", boom)
    server = ThreadServer(app).start("/healthz")
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            response = c.get("/boom")
        error = assert_error_shape(response, 500, "internal_error")
        assert "secret" not in error["message"]
        assert "RuntimeError" not in response.text
    finally:
        server.stop()


def test_a_locked_database_is_a_503_with_retry_after(kb_server: Kb, tmp_path: Path) -> None:
    """A real SQLite database held by another writer past the busy timeout (lowered to
    0.1 s here) answers 503 database_busy, not 500."""
    import sqlite3

    from sqlalchemy import event, text

    from kb.store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'locked.sqlite3'}")
    event.listen(
        db.engine, "connect", lambda conn, _r: conn.execute("PRAGMA busy_timeout=100"), insert=False
    )
    app = create_app(Config(home=kb_server.home), db=db, load=False)

    def write() -> None:
        with db.session() as session:
            session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))

    app.add_api_route("/write", write, methods=["POST"])
    write()
    holder = sqlite3.connect(tmp_path / "locked.sqlite3")
    holder.execute("BEGIN EXCLUSIVE")
    server = ThreadServer(app).start("/healthz")
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            response = c.post("/write")
        assert_error_shape(response, 503, "database_busy")
        assert response.headers["Retry-After"] == "2"
    finally:
        holder.rollback()
        holder.close()
        server.stop()


def test_as_of_accepts_an_iso_date(client: httpx.Client, kb_server: Kb) -> None:
    response = client.post(
        "/v1/suggest",
        json={"question": "怎么退货", "as_of": "2026-01-31"},
        headers=kb_server.auth("public"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["filters"]["as_of"] == "2026-01-31"
