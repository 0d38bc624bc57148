"""One 401 for every bad key, failed authentications throttled per client address, one
feedback per key and request (latest wins, also under concurrency), session_id checked.

Real parts: a migrated knowledge base (each test on SQLite and on PostgreSQL), real
keys, the real app under uvicorn on loopback (two apps on one database for the
replicas). Two client addresses are two loopback addresses (127.0.0.1 and 127.0.0.2).
The model and index are not loaded (``load=False``): these endpoints and checks do not
need them; the suggestion rows that feedback refers to are written as the API writes
them (``ApiState.log_query`` with ``query_log_record``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from kb.api import create_app
from kb.config import Config
from kb.model import Audience
from kb.store.db import Database
from kb.store.querylog import query_log_record
from kb.store.tables import Feedback
from review import users
from review.keys import revoke_key
from tests.kb.api.helpers import ADMIN, ThreadServer, create_key

pytestmark = [pytest.mark.integration]

OTHER_ADDRESS = "127.0.0.2"


class Api:
    """A served app over a fresh knowledge base, with keys ``bot``, ``bot2``, ``revoked``."""

    def __init__(
        self, home: Path, database_url: str, keys: dict[str, str] | None = None, **settings
    ) -> None:
        """Serve a new app; with ``keys`` the knowledge base exists already (a replica)."""
        self.config = Config(home=home, database_url=database_url, **settings)
        self.db = Database(self.config.effective_database_url)
        self.keys = keys if keys is not None else self._set_up()
        self.app = create_app(self.config, load=False)
        self.server = ThreadServer(self.app).start("/healthz")

    def _set_up(self) -> dict[str, str]:
        self.db.migrate()
        with self.db.session() as session:
            users.add_user(session, None, ADMIN, ["admin"])
        scopes = "suggest,feedback,articles"
        keys = {n: create_key(self.config, n, scopes, "public") for n in ("bot", "bot2")}
        keys["revoked"] = create_key(self.config, "revoked", scopes, "public")
        with self.db.session() as session:
            revoke_key(session, ADMIN, "revoked")
        return keys

    def replica(self, home: Path) -> Api:
        """A second app on the same database, with its own working directory."""
        settings = {
            name: getattr(self.config, name)
            for name in ("api_rate_limit_per_minute", "api_auth_failures_per_minute")
        }
        return Api(home, self.config.database_url, keys=self.keys, **settings)

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}

    def client(self, address: str = "127.0.0.1") -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=address)
        return httpx.Client(base_url=self.server.base_url, timeout=30, transport=transport)

    def served(self, request_id: str, key: str) -> None:
        """Log a suggestion as ``/v1/suggest`` does, served to ``key``."""
        data = {"request_id": request_id, "answer": "a", "confidence": 0.9, "citations": []}
        record = query_log_record(
            data,
            "怎么退货",
            audience=Audience.PUBLIC,
            requester=f"key:{key}",
            channel="api",
            latency_ms=1.0,
        )
        self.app.state.kb.log_query(record)

    def feedback_rows(self, request_id: str) -> list[Feedback]:
        with self.db.session() as session:
            query = select(Feedback).where(Feedback.request_id == request_id)
            return list(session.scalars(query.order_by(Feedback.id)))

    def stop(self) -> None:
        self.server.stop()
        self.db.dispose()


@pytest.fixture
def api(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> Iterator[Api]:
    """The served app; settings from indirect parametrisation (default: none)."""
    served = Api(tmp_path / "replica-1", database_url, **getattr(request, "param", {}))
    yield served
    served.stop()


def with_settings(**settings):
    """Serve the ``api`` fixture with these settings."""
    return pytest.mark.parametrize("api", [settings], indirect=True)


def bad_credentials(api: Api) -> list[dict[str, str]]:
    """No key, a malformed, an unknown and a revoked key."""
    good = api.keys["bot"]
    return [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {good}"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": f"Bearer {good[:-1]}{'A' if good[-1] != 'A' else 'B'}"},
        {"Authorization": "Bearer kb_00000000_" + "A" * 43},
        api.auth("revoked"),
    ]


@with_settings(api_auth_failures_per_minute=0)
def test_every_bad_key_gets_the_same_401(api: Api) -> None:
    seen = set()
    with api.client() as client:
        for headers in bad_credentials(api):
            response = client.get("/v1/articles/faq-1", headers=headers)
            assert response.status_code == 401
            error = response.json()["error"]
            varying = {"x-request-id", "date"}
            same = tuple(sorted((k, v) for k, v in response.headers.items() if k not in varying))
            seen.add((error["code"], error["message"], same))
    assert len(seen) == 1, seen


@with_settings(api_auth_failures_per_minute=3)
def test_a_flood_of_bad_keys_is_throttled_per_client_address(api: Api) -> None:
    with api.client(OTHER_ADDRESS) as flooder, api.client() as neighbour:
        for _ in range(3):
            assert flooder.get("/v1/articles/faq-1", headers=api.auth("revoked")).status_code == 401
        limited = flooder.get("/v1/articles/faq-1", headers=bad_credentials(api)[4])
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 20
        # The address is refused before its key is looked at, good key or not.
        assert flooder.get("/v1/articles/faq-1", headers=api.auth("bot")).status_code == 429
        # Another address is unaffected: its good key works, its bad key is a plain 401.
        assert neighbour.get("/v1/articles/faq-1", headers=api.auth("bot")).status_code == 404
        assert neighbour.get("/v1/articles/faq-1").status_code == 401


@with_settings(api_auth_failures_per_minute=3)
def test_good_keys_do_not_spend_the_failure_allowance(api: Api) -> None:
    with api.client() as client:
        for _ in range(10):
            assert client.get("/v1/articles/faq-1", headers=api.auth("bot")).status_code == 404
        assert client.get("/v1/articles/faq-1").status_code == 401


@pytest.fixture
def replica(api: Api, tmp_path: Path) -> Iterator[Api]:
    """A second app (another working directory) on the ``api`` fixture's database."""
    second = api.replica(tmp_path / "replica-2")
    yield second
    second.stop()


def _statuses(apis: list[Api], requests: int, **get) -> list[int]:
    """Send ``requests`` GETs of ``/v1/articles/faq-1``, alternating between the apps."""
    clients = [api.client() for api in apis]
    try:
        return [
            clients[i % len(clients)].get("/v1/articles/faq-1", **get).status_code
            for i in range(requests)
        ]
    finally:
        for client in clients:
            client.close()


@with_settings(api_rate_limit_per_minute=4)
def test_the_key_rate_limit_across_two_replicas(api: Api, replica: Api, backend: str) -> None:
    """On PostgreSQL the two replicas share the key's budget (counted in the database); on
    SQLite, one machine, each worker has its own (the documented per-worker budget)."""
    statuses = _statuses([api, replica], 10, headers=api.auth("bot"))
    allowed = 4 if backend == "postgresql" else 8
    assert statuses[:allowed] == [404] * allowed  # served (faq-1 does not exist)
    assert statuses[allowed:] == [429] * (10 - allowed)
    # another key has its own budget
    assert _statuses([replica], 1, headers=api.auth("bot2")) == [404]


@with_settings(api_auth_failures_per_minute=3)
def test_failed_authentications_across_two_replicas(api: Api, replica: Api, backend: str) -> None:
    statuses = _statuses([api, replica], 8, headers=api.auth("revoked"))
    allowed = 3 if backend == "postgresql" else 6
    assert statuses[:allowed] == [401] * allowed
    assert statuses[allowed:] == [429] * (8 - allowed)


def test_a_second_feedback_replaces_the_first(api: Api) -> None:
    api.served("r1", "bot")
    api.served("r2", "bot2")
    with api.client() as client:

        def give(key: str, **body) -> httpx.Response:
            return client.post("/v1/feedback", json=body, headers=api.auth(key))

        first = give("bot", request_id="r1", helpful=True, comment="好")
        second = give("bot", request_id="r1", helpful=False, comment="没解决")
        other = give("bot2", request_id="r2", helpful=True)
    assert (first.status_code, second.status_code, other.status_code) == (201, 201, 201)
    rows = api.feedback_rows("r1")
    assert [(r.helpful, r.comment, r.given_by) for r in rows] == [(False, "没解决", "key:bot")]
    assert first.json()["id"] == second.json()["id"] == rows[0].id
    assert second.json() == {"id": rows[0].id, "request_id": "r1", "helpful": False}
    assert [r.given_by for r in api.feedback_rows("r2")] == ["key:bot2"]


def test_concurrent_feedback_for_one_request_keeps_one_row(api: Api) -> None:
    api.served("r1", "bot")
    rounds, threads = 5, 4
    statuses: list[int] = []
    lock = threading.Lock()

    def give(helpful: bool, barrier: threading.Barrier) -> None:
        with api.client() as client:
            barrier.wait()
            body = {"request_id": "r1", "helpful": helpful}
            status = client.post("/v1/feedback", json=body, headers=api.auth("bot")).status_code
        with lock:
            statuses.append(status)

    for _ in range(rounds):
        barrier = threading.Barrier(threads)
        workers = [
            threading.Thread(target=give, args=(i % 2 == 0, barrier)) for i in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert statuses == [201] * (rounds * threads)
    assert len(api.feedback_rows("r1")) == 1


@pytest.mark.parametrize("session_id", ["has space", "x" * 129, "a\nb", ""])
def test_a_bad_session_id_is_refused(api: Api, session_id: str) -> None:
    with api.client() as client:
        response = client.post(
            "/v1/suggest",
            json={"question": "怎么退货", "session_id": session_id},
            headers=api.auth("bot"),
        )
    assert response.status_code == 422
    assert "session_id" in response.json()["error"]["message"]


def test_a_good_session_id_passes_validation(api: Api) -> None:
    with api.client() as client:
        response = client.post(
            "/v1/suggest",
            json={"question": "怎么退货", "session_id": "wx:o6_bmjrPTlm6_2sgVt7hMZOPfL2M"},
            headers=api.auth("bot"),
        )
    assert response.status_code == 503  # past validation; the model is not loaded here


def test_the_query_log_record_keeps_the_session_id_masked() -> None:
    data = {"request_id": "r", "answer": None}
    record = query_log_record(
        data,
        "q",
        audience=Audience.PUBLIC,
        requester="key:b",
        channel="api",
        latency_ms=1,
        session_id="13812345678",
    )
    assert record["session_id"] == "[手机号]"
    plain = query_log_record(
        data,
        "q",
        audience=Audience.PUBLIC,
        requester="key:b",
        channel="api",
        latency_ms=1,
        session_id="conv-42",
    )
    assert plain["session_id"] == "conv-42"
    assert (
        query_log_record(
            data, "q", audience=Audience.PUBLIC, requester="key:b", channel="api", latency_ms=1
        )["session_id"]
        is None
    )
