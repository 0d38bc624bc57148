"""The API's reply fields: clean `text` and marked `answer`, citation `spans` (one citation
per article), `notes` about sources that say otherwise, greeting and closing per channel.

Real servers (``kb serve`` on loopback) over the API tests' real knowledge base; the
audience guard is exercised on that knowledge base's real index snapshot.
"""

from __future__ import annotations

import json
import re

import httpx

from tests.kb.api.conftest import Kb
from tests.kb.api.helpers import ServerProcess

MARKER = re.compile(r"\[\d+\]")
WRAP = json.dumps(
    {
        "wechat": {"greeting": "亲，您好～", "closing": ""},
        "api": {"greeting": {"zh": "您好，", "en": "Hello,"}, "closing": {"zh": "祝好。"}},
    },
    ensure_ascii=False,
)


def ask(base_url: str, kb: Kb, question: str, **extra: str) -> dict:
    response = httpx.post(
        f"{base_url}/v1/suggest",
        json={"question": question, **extra},
        headers=kb.auth("public"),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_citations_carry_their_spans_and_the_answer_its_notes(kb_server: Kb) -> None:
    body = ask(kb_server.url, kb_server, "快件损坏怎么理赔？")
    assert body["answer"] and body["notes"] == []
    cited = [c["article_id"] for c in body["citations"]]
    assert len(cited) == len(set(cited))  # each article cited once
    for cite in body["citations"]:
        article = httpx.get(
            f"{kb_server.url}/v1/articles/{cite['article_id']}",
            headers=kb_server.auth("public"),
            timeout=30,
        ).json()
        assert cite["spans"], cite
        for span in cite["spans"]:
            assert article["body"][span["char_start"] : span["char_end"]] == span["passage"]
        first = cite["spans"][0]
        assert (cite["passage"], cite["char_start"]) == (first["passage"], first["char_start"])
    assert body["text"] == MARKER.sub("", body["answer"])


def test_text_is_wrapped_for_the_channel_and_the_question_language(kb_server: Kb) -> None:
    server = ServerProcess(kb_server.home, reply_wrapping=WRAP).start()
    try:
        wechat = ask(server.base_url, kb_server, "快件损坏怎么理赔？", channel="wechat")
        default = ask(server.base_url, kb_server, "快件损坏怎么理赔？")
    finally:
        server.stop()
    clean = MARKER.sub("", wechat["answer"])
    assert wechat["text"] == f"亲，您好～\n{clean}"
    assert default["text"] == f"您好，\n{MARKER.sub('', default['answer'])}\n祝好。"


def test_a_bad_reply_wrapping_stops_the_server_by_name(kb_server: Kb) -> None:
    server = ServerProcess(kb_server.home, reply_wrapping='{"api": "hello"}').start(wait=False)
    assert server.process is not None
    assert server.process.wait(timeout=60) != 0
    assert "reply_wrapping" in server.log.read_text(errors="replace")


def test_the_guard_removes_notes_about_sources_a_bot_may_not_see(kb_server: Kb) -> None:
    from kb.api.answering import Answerer
    from kb.model import Audience
    from kb.runtime import Runtime

    runtime = Runtime(kb_server.config)  # this test process's own
    engine = Answerer(kb_server.config, runtime.search_index, runtime.resources)
    snapshot = runtime.search_index.snapshot()
    data = {
        "answer": "请在签收后48小时内提交理赔申请并上传照片。[1]",
        "citations": [{"n": 1, "article_id": "faq-claim-public", "audience": "public"}],
        "notes": [
            {"kind": "disagreement", "other": {"article_id": "faq-claim-internal"}},
            {"kind": "disagreement", "other": {"article_id": "faq-return-public"}},
        ],
        "handoff": False,
        "results": [],
    }
    guarded, removed = engine.guard(dict(data), Audience.PUBLIC, snapshot)
    assert removed == 1
    assert [n["other"]["article_id"] for n in guarded["notes"]] == ["faq-return-public"]
    assert guarded["answer"] == data["answer"]  # the public reply itself stands
    internal, removed = engine.guard(dict(data), Audience.INTERNAL, snapshot)
    assert (len(internal["notes"]), removed) == (2, 0)
