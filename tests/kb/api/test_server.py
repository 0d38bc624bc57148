"""The API against a real server: ``kb serve`` on a loopback port, a real KB, index and model."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kb.config import Config
from kb.store.db import Database
from kb.store.tables import Feedback, QueryLog
from tests.kb.api.conftest import INTERNAL_IDS, PUBLIC_IDS, QUESTIONS, SECRET, Kb
from tests.kb.api.helpers import ADMIN, faq, publish_index

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ANSWER_FIELDS = {"answer", "citations", "confidence", "handoff", "reason", "results", "request_id"}


@pytest.fixture
def client(kb_server: Kb) -> Iterator[httpx.Client]:
    """An HTTP client for the session's server."""
    with httpx.Client(base_url=kb_server.url, timeout=30) as c:
        yield c


def suggest(client: httpx.Client, kb: Kb, key: str, question: str, **extra: Any) -> httpx.Response:
    """POST /v1/suggest with the named key."""
    return client.post("/v1/suggest", json={"question": question, **extra}, headers=kb.auth(key))


def article_ids(body: dict[str, Any]) -> set[str]:
    """Every article id in the results and citations of an answer."""
    items = list(body.get("results") or []) + list(body.get("citations") or [])
    return {item["article_id"] for item in items}


def query_log(kb: Kb, request_id: str, wait: float = 60.0) -> QueryLog | None:
    """The query log row of a request, once the server's background writer has written it
    (``wait`` is a hang guard, not a speed target: the loop ends as soon as it is there)."""
    db = Database(kb.config.effective_database_url)
    deadline = time.monotonic() + wait
    try:
        while True:
            with db.session() as session:
                row = session.scalar(select(QueryLog).where(QueryLog.request_id == request_id))
            if row is not None or time.monotonic() > deadline:
                return row
            time.sleep(0.05)
    finally:
        db.dispose()


def test_probes(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["index_version"].startswith("v")
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/v1/suggest", "/v1/feedback"}
    assert client.get("/docs").status_code == 200


def test_suggest_returns_the_answer_object_and_logs_the_masked_question(
    client: httpx.Client, kb_server: Kb
) -> None:
    response = suggest(
        client,
        kb_server,
        "public",
        "如何申请退货？我的手机号13812345678",
        channel="wx",
        session_id="wx:o6_bmjrPTlm6",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.keys() >= ANSWER_FIELDS
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "faq-return-public" in article_ids(body)
    row = query_log(kb_server, body["request_id"])
    assert row is not None
    assert "13812345678" not in row.question
    assert "[手机号]" in row.question
    assert (row.requester, row.channel, row.audience) == ("key:public", "wx", "public")
    assert row.session_id == "wx:o6_bmjrPTlm6"
    untold = query_log(
        kb_server, suggest(client, kb_server, "public", "怎么退货").json()["request_id"]
    )
    assert untold is not None and untold.session_id is None
    assert row.handoff == body["handoff"]
    assert "13812345678" not in kb_server.server.log.read_text(errors="replace")


def test_the_audience_guard_withholds_anything_internal(kb_server: Kb) -> None:
    from kb.api.answering import WITHHELD_REASON, Answerer
    from kb.model import Audience
    from kb.runtime import Runtime

    runtime = Runtime(kb_server.config)  # this test process's own
    engine = Answerer(kb_server.config, runtime.search_index, runtime.resources)
    snapshot = runtime.search_index.snapshot()
    leaked = {
        "answer": f"{SECRET} [1]",
        "citations": [{"n": 1, "article_id": "faq-claim-internal"}],
        "confidence": 0.9,
        "handoff": False,
        "reason": "",
        "results": [{"article_id": "faq-claim-internal"}, {"article_id": "faq-claim-public"}],
        "request_id": "r",
    }
    as_internal, removed = engine.guard(dict(leaked), Audience.INTERNAL, snapshot)
    assert (as_internal, removed) == (leaked, 0)
    guarded, removed = engine.guard(dict(leaked), Audience.PUBLIC, snapshot)
    assert removed == 2
    assert guarded["answer"] is None
    assert guarded["handoff"] is True
    assert guarded["reason"] == WITHHELD_REASON
    assert [r["article_id"] for r in guarded["results"]] == ["faq-claim-public"]
    unknown, removed = engine.guard(
        {"results": [{"article_id": "not-in-index"}], "citations": []}, Audience.PUBLIC, snapshot
    )
    assert (unknown["results"], removed) == ([], 1)


def test_feedback_is_tied_to_the_key_that_got_the_suggestion(
    client: httpx.Client, kb_server: Kb
) -> None:
    rid = suggest(client, kb_server, "public", "怎么退货").json()["request_id"]
    own = client.post(
        "/v1/feedback",
        json={"request_id": rid, "helpful": False, "comment": "call me 13812345678"},
        headers=kb_server.auth("public"),
    )
    assert own.status_code == 201, own.text
    assert own.json()["request_id"] == rid
    other = client.post(
        "/v1/feedback", json={"request_id": rid, "helpful": True}, headers=kb_server.auth("public2")
    )
    assert other.status_code == 404
    unknown = client.post(
        "/v1/feedback",
        json={"request_id": "nope", "helpful": True},
        headers=kb_server.auth("public"),
    )
    assert unknown.status_code == 404
    hidden = client.post(
        "/v1/feedback",
        json={"request_id": rid, "helpful": False, "correct_article_id": "faq-return-internal"},
        headers=kb_server.auth("public"),
    )
    assert hidden.status_code == 422
    db = Database(kb_server.config.effective_database_url)
    with db.session() as session:
        rows = session.scalars(select(Feedback).where(Feedback.request_id == rid)).all()
    db.dispose()
    assert [(r.helpful, r.given_by) for r in rows] == [(False, "key:public")]
    assert "13812345678" not in rows[0].comment


def test_articles_are_audience_checked(client: httpx.Client, kb_server: Kb) -> None:
    public = client.get("/v1/articles/faq-return-public", headers=kb_server.auth("public"))
    assert public.status_code == 200
    assert public.json()["audience"] == "public"
    for article_id in sorted(INTERNAL_IDS):
        hidden = client.get(f"/v1/articles/{article_id}", headers=kb_server.auth("public"))
        assert hidden.status_code == 404
        assert SECRET not in hidden.text
        missing = client.get(f"/v1/articles/{article_id}-x", headers=kb_server.auth("public"))
        assert hidden.json()["error"]["message"].replace(article_id, "X") == missing.json()[
            "error"
        ]["message"].replace(f"{article_id}-x", "X")
    internal = client.get("/v1/articles/faq-claim-internal", headers=kb_server.auth("internal"))
    assert internal.status_code == 200
    assert SECRET in internal.text


def test_nothing_internal_reaches_a_public_key(client: httpx.Client, kb_server: Kb) -> None:
    internal_first = internal_answers = 0
    for question in QUESTIONS:
        as_internal = suggest(client, kb_server, "internal", question).json()
        if as_internal["results"] and as_internal["results"][0]["article_id"] in INTERNAL_IDS:
            internal_first += 1
        internal_answers += SECRET in (as_internal["answer"] or "")
        for extra in ({}, {"audience": "public"}, {"top_k": 20}):
            response = suggest(client, kb_server, "public", question, **extra)
            assert response.status_code == 200, response.text
            assert SECRET not in response.text, question
            assert not article_ids(response.json()) & INTERNAL_IDS, question
        denied = suggest(client, kb_server, "public", question, audience="internal")
        assert denied.status_code == 403
    # the test means something only if the internal articles are the better matches
    assert internal_first >= 0.8 * len(QUESTIONS)
    assert internal_answers >= 0.5 * len(QUESTIONS)
    metrics = client.get("/metrics").text
    assert "kb_api_audience_withheld_total 0.0" in metrics


def test_metrics_count_requests_latencies_and_handoffs(client: httpx.Client, kb_server: Kb) -> None:
    suggest(client, kb_server, "public", "快件丢失怎么办？")
    suggest(client, kb_server, "public", "量子色动力学的渐近自由是什么")
    text = client.get("/metrics").text
    assert 'kb_api_requests_total{method="POST",route="/v1/suggest",status="200"}' in text
    assert 'kb_api_request_duration_seconds_bucket{le="0.5",method="POST"' in text
    assert 'kb_api_suggestions_total{outcome="handoff"}' in text
    assert 'kb_api_suggestions_total{outcome="answered"}' in text


def test_published_change_is_served_without_restart_and_without_failed_requests(
    client: httpx.Client, kb_server: Kb
) -> None:
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=kb_server.url, timeout=30) as c:
            while not stop.is_set():
                statuses.append(suggest(c, kb_server, "internal", "快递延误怎么办？").status_code)

    before = client.get("/readyz").json()["index_version"]
    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        version = _publish_new_article(kb_server.config)
        deadline = time.monotonic() + 60  # a hang guard: the loop ends once it is served
        found = False
        while time.monotonic() < deadline and not found:
            body = suggest(client, kb_server, "public", "会员积分可以兑换运费券吗").json()
            found = "faq-points-public" in article_ids(body)
            time.sleep(0.2)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert found
    assert client.get("/readyz").json()["index_version"] == version != before
    assert statuses
    assert set(statuses) == {200}


def _publish_new_article(config: Config) -> str:
    from review.importing import import_articles

    article = faq(
        "faq-points-public",
        "会员积分可以兑换运费券吗？",
        "会员积分满100分可兑换5元运费券。",
        ["积分换运费券", "积分怎么用"],
        "public",
    )
    db = Database(config.effective_database_url)
    try:
        with db.session() as session:
            reason = "test: a new article published while the API serves"
            import_articles(session, ADMIN, [(article, "test")], bootstrap_reason=reason)
        return publish_index(config, db, full=False)
    finally:
        db.dispose()


def test_public_ids_are_served(client: httpx.Client, kb_server: Kb) -> None:
    for article_id in sorted(PUBLIC_IDS):
        response = client.get(f"/v1/articles/{article_id}", headers=kb_server.auth("public"))
        assert response.status_code == 200
