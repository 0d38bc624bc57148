"""One index load per server process, and nothing rebuilt at start that the index version
stores (issue 16): the API app in this process (uvicorn on a loopback port), over a copy
of the test knowledge base's index, answers readiness and suggestions after one
``IndexSnapshot.load`` and without segmenting the FAQ questions again."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from kb.api import create_app
from kb.config import Config
from kb.search import faq
from kb.search.bm25 import BM25Index
from kb.search.index import IndexSnapshot
from tests.kb.api.conftest import QUESTIONS, Kb
from tests.kb.api.helpers import ThreadServer, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_index_is_loaded_once_and_the_faq_questions_are_not_segmented_again(
    kb_server: Kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "copy"  # a directory no reader of this test process has loaded yet
    shutil.copytree(kb_server.home / "index", home / "index")
    config = Config(home=home, database_url=kb_server.config.effective_database_url)
    loads: list[Path] = []
    real_load = IndexSnapshot.load.__func__  # type: ignore[attr-defined]

    def counting_load(cls: type, path: Path, tokenizer: Any = None) -> IndexSnapshot:
        loads.append(path)
        return real_load(cls, path, tokenizer)

    monkeypatch.setattr(IndexSnapshot, "load", classmethod(counting_load))
    question_builds: list[int] = []
    real_build = BM25Index.build.__func__  # type: ignore[attr-defined]

    def counting_build(cls: type, pairs: Any, tokenizer: Any = None) -> BM25Index:
        question_builds.append(1)
        return real_build(cls, pairs, tokenizer)

    monkeypatch.setattr(faq.BM25Index, "build", classmethod(counting_build))
    server = ThreadServer(create_app(config)).start("/healthz")
    try:
        wait_ready(server.base_url)  # the model and the index load in the background
        with httpx.Client(base_url=server.base_url, timeout=120) as c:
            ready = c.get("/readyz")
            assert ready.status_code == 200, ready.text
            for question in QUESTIONS[:3]:
                answer = c.post(
                    "/v1/suggest", json={"question": question}, headers=kb_server.auth("public")
                )
                assert answer.status_code == 200, answer.text
                assert answer.json()["results"]
    finally:
        server.stop()
    assert [p.parent.parent for p in loads] == [home / "index"]
    assert question_builds == []  # the version's stored FAQ question index was used
