"""The API's clean `text` beside the marked `answer`, with the configured greeting and closing.

Real servers (``kb serve`` on loopback) over the API tests' real knowledge base.
"""

from __future__ import annotations

import re

import httpx

from tests.kb.api.conftest import Kb
from tests.kb.api.helpers import ServerProcess

MARKER = re.compile(r"\[\d+\]")


def ask(base_url: str, kb: Kb, key: str, question: str) -> dict:
    response = httpx.post(
        f"{base_url}/v1/suggest", json={"question": question}, headers=kb.auth(key), timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_text_is_the_answer_without_markers(kb_server: Kb) -> None:
    body = ask(kb_server.url, kb_server, "public", "快件损坏怎么理赔？")
    assert body["answer"] and MARKER.search(body["answer"])  # the marked reply is unchanged
    assert body["text"] == MARKER.sub("", body["answer"])
    assert not MARKER.search(body["text"])


def test_a_hand_off_has_no_text(kb_server: Kb) -> None:
    body = ask(kb_server.url, kb_server, "public", "Quantum chromodynamics lattice gauge theory")
    assert body["handoff"] is True
    assert body["answer"] is None and body["text"] is None


def test_greeting_and_closing_wrap_the_text(kb_server: Kb) -> None:
    server = ServerProcess(
        kb_server.home, reply_greeting="您好，", reply_closing="如有其他问题，请随时联系我们。"
    ).start()
    try:
        body = ask(server.base_url, kb_server, "public", "快件损坏怎么理赔？")
    finally:
        server.stop()
    clean = MARKER.sub("", body["answer"])
    assert body["text"] == f"您好，\n{clean}\n如有其他问题，请随时联系我们。"


def test_a_reply_citing_an_internal_article_says_it_is_internal_guidance(kb_server: Kb) -> None:
    # an internal key gets the internal FAQ (its answer carries SECRET): marked, everywhere
    body = ask(kb_server.url, kb_server, "internal", "理赔上限多少")
    assert [c["audience"] for c in body["citations"]] == ["internal"]
    assert body["internal"] is True and body["parts"][0]["internal"] is True
    two = ask(kb_server.url, kb_server, "internal", "理赔上限多少？另外如何修改收件地址？")
    assert [p["internal"] for p in two["parts"]] == [
        any(c["audience"] == "internal" for c in p["citations"]) for p in two["parts"]
    ]
    assert two["internal"] is True
    public = ask(kb_server.url, kb_server, "public", "快件损坏怎么理赔？")
    assert public["internal"] is False and public["parts"][0]["internal"] is False
    chat = httpx.post(
        f"{kb_server.url}/v1/chat/completions",
        json={"model": "kb", "messages": [{"role": "user", "content": "理赔上限多少"}]},
        headers=kb_server.auth("internal"),
        timeout=60,
    ).json()
    message = chat["choices"][0]["message"]
    assert message["kb"]["internal"] is True
    assert message["content"].startswith("【内部口径，勿发给客户】\n")
