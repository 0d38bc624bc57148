"""``POST /v1/suggest`` with a pasted message that asks two questions (issue 11).

The session's real server (``kb serve`` in a subprocess over the API tests' real knowledge
base and index, real model, real SQLite; tests/kb/api/conftest.py).
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlalchemy import select

from kb.store.db import Database
from kb.store.tables import QueryLog
from tests.kb.api.conftest import INTERNAL_IDS, SECRET, Kb

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MARKER = re.compile(r"\[\d+\]")
TWO = "您好！快件损坏怎么理赔？另外，如何修改收件地址？我电话13812345678，谢谢"


def ask(kb: Kb, key: str, question: str) -> dict:
    response = httpx.post(
        f"{kb.url}/v1/suggest", json={"question": question}, headers=kb.auth(key), timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_two_questions_get_two_parts_each_with_its_own_citations(kb_server: Kb) -> None:
    body = ask(kb_server, "public", TWO)
    parts = body["parts"]
    assert [p["citations"][0]["article_id"] for p in parts] == [
        "faq-claim-public",
        "faq-address-public",
    ]
    assert "理赔" in parts[0]["question"] and "地址" in parts[1]["question"]
    assert all(p["request_id"] == body["request_id"] for p in parts)
    # the top level is the first part, as a one-question client reads it
    assert body["answer"] == parts[0]["answer"]
    assert body["citations"] == parts[0]["citations"]
    # the text to send answers both, without markers; each part has its own text
    assert body["text"] == "\n".join(p["text"] for p in parts)
    assert not MARKER.search(body["text"])
    assert "13812345678" not in str(body)  # the phone number is not part of any question


def test_a_single_question_reads_as_before(kb_server: Kb) -> None:
    body = ask(kb_server, "public", "快件损坏怎么理赔？")
    [part] = body["parts"]
    assert part["question"] == "快件损坏怎么理赔"
    assert part["answer"] == body["answer"] and part["citations"] == body["citations"]
    assert body["text"] == MARKER.sub("", body["answer"])


def test_no_part_shows_internal_articles_to_a_public_key(kb_server: Kb) -> None:
    body = ask(kb_server, "public", "快件损坏最多赔多少钱？还有，快递员骂人了怎么处理？")
    assert SECRET not in str(body)
    for part in [body, *body["parts"]]:
        assert not {c["article_id"] for c in part["citations"]} & INTERNAL_IDS
        assert not {r["article_id"] for r in part["results"]} & INTERNAL_IDS


def test_one_masked_query_log_row_per_request(kb_server: Kb) -> None:
    rid = ask(kb_server, "public", TWO)["request_id"]
    db = Database(kb_server.config.effective_database_url)
    try:
        deadline = time.monotonic() + 30  # the server writes its log rows off the request path
        while True:
            with db.session() as session:
                rows = session.scalars(select(QueryLog).where(QueryLog.request_id == rid)).all()
                if rows or time.monotonic() > deadline:
                    [row] = rows
                    question, cited = row.question, list(row.cited_article_ids)
                    break
            time.sleep(0.2)
    finally:
        db.dispose()
    assert question.startswith("您好！快件损坏怎么理赔？另外") and "13812345678" not in question
    assert "[手机号]" in question
    assert cited == ["faq-claim-public", "faq-address-public"]
