"""A linear adapter on the bundled model's vectors, learned from question pairs (issue 19).

A measurement, not a kb feature: can labelled question -> article pairs (what editors write
as an FAQ's similar questions, or what agents accept as feedback) teach the bundled model
(multilingual-e5-small) the domain's paraphrases, without a new model? The adapter maps a
vector ``x`` to ``normalise(x + x W)`` (``W`` 384 x 384, zero at the start, L2 penalty
``lam``); ``both``: questions and passages go through it, ``query``: questions only.
Trained with a softmax over every passage of the corpus (temperature ``temp``), Adam,
``--steps`` full-batch steps.

- ``bq-faq``: pairs from the dev half (2,769 reworded questions over 979 FAQ entries);
  reported on the test half (2,789 questions over 971 *other* entries, never trained on),
  dense retrieval alone (hit@1 / hit@5 / MRR@10). ``lam`` and ``temp`` are chosen by
  cross-validation on dev only (folds by FAQ entry: a fold's entries and their questions
  are held out), then the adapter is trained on all of dev and the test half run once.
- ``articles``: pairs from the sample knowledge base's own FAQ articles (``question`` and
  ``similar_questions`` -> the article, over every article in ``articles/``); reported on
  the 99 sample questions (``tests/data/sample_questions.jsonl``, never trained on), first
  article by dense cosine. One passage per article: title and text.

Vectors come from the embedding cache of the benchmarks (``--cache-dir``; questions are
embedded with the query prefix, a few minutes on two cores the first time).

    .venv/bin/python benchmarks/query_adapter.py --cache-dir COPY [--sets bq-faq articles]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402,F401 - offline defaults
from benchmarks.retrieval_compare import SHARED, default_cache_dir  # noqa: E402

BQ = SHARED / "datasets" / "bq-faq"
GRID = [(lam, temp) for lam in (0.03, 0.1, 0.3, 1.0) for temp in (0.02, 0.05)]
FOLDS = 3


class Pairs:
    """Question vectors, passage vectors, and each question's relevant passages."""

    def __init__(self, questions: np.ndarray, passages: np.ndarray, relevant: list[list[int]]):
        """``relevant[i]``: row numbers in ``passages`` relevant to question ``i``."""
        self.questions, self.passages, self.relevant = questions, passages, relevant


def embed(texts: Sequence[str], cache_dir: Path, query: bool) -> np.ndarray:
    """Vectors of ``texts`` with the bundled model (passages through the benchmark cache)."""
    from kb.embedders import EmbedderSpec
    from kb.embedders.base import create_backend
    from kb.embedders.cache import EmbeddingCache, embed_with_cache

    backend = create_backend(EmbedderSpec.from_dict(None))
    if not query:
        cache = EmbeddingCache(cache_dir / "embeddings.sqlite3")
        return embed_with_cache(backend, cache, list(texts))[0]
    return np.stack([backend.embed_query(t) for t in texts])


def bq_pairs(split: str, cache_dir: Path) -> Pairs:
    """bq-faq ``split``: its reworded questions against its FAQ entries."""
    corpus = [json.loads(x) for x in (BQ / split / "corpus.jsonl").open(encoding="utf-8")]
    lines = [json.loads(x) for x in (BQ / split / "queries.jsonl").open(encoding="utf-8")]
    row = {c["id"]: i for i, c in enumerate(corpus)}
    return Pairs(
        embed([x["query"] for x in lines], cache_dir, query=True),
        embed([c["question"] for c in corpus], cache_dir, query=False),
        [[row[r] for r in x["relevant"] if r in row] for x in lines],
    )


def article_pairs(cache_dir: Path) -> tuple[Pairs, Pairs]:
    """(FAQ questions and similar questions -> their article; the sample questions), over
    every article of ``articles/``."""
    from kb.formats.markdown import parse_markdown

    articles = sorted(p for p in (REPO / "articles").rglob("*.md") if "_history" not in p.parts)
    parsed = [parse_markdown(p.read_text(encoding="utf-8"), p.name) for p in articles]
    row = {a.id: i for i, a in enumerate(parsed)}
    passages = embed([f"{a.title}\n{a.body}" for a in parsed], cache_dir, query=False)
    train_q: list[str] = []
    train_rel: list[list[int]] = []
    for i, a in enumerate(parsed):
        for q in [a.question, *a.similar_questions]:
            if q:
                train_q.append(q)
                train_rel.append([i])
    sample = [
        json.loads(x)
        for x in (REPO / "tests" / "data" / "sample_questions.jsonl").open(encoding="utf-8")
    ]
    train = Pairs(embed(train_q, cache_dir, query=True), passages, train_rel)
    test = Pairs(
        embed([x["query"] for x in sample], cache_dir, query=True),
        passages,
        [[row[r] for r in x["relevant"] if r in row] for x in sample],
    )
    return train, test


def scores(pairs: Pairs, adapter: np.ndarray | None, mode: str) -> tuple[float, float, float]:
    """hit@1, hit@5, MRR@10 of dense retrieval through ``adapter`` (None: the raw vectors)."""
    q, p = pairs.questions, pairs.passages
    if adapter is not None:
        q = apply(q, adapter)
        p = apply(p, adapter) if mode == "both" else p
    order = np.argsort(-(q @ p.T), axis=1)[:, :10]
    h1 = h5 = rr = 0.0
    for ranked, relevant in zip(order.tolist(), pairs.relevant, strict=True):
        hits = [k for k, j in enumerate(ranked) if j in set(relevant)]
        if hits:
            h1, h5, rr = h1 + (hits[0] == 0), h5 + (hits[0] < 5), rr + 1 / (hits[0] + 1)
    n = len(pairs.relevant)
    return round(h1 / n, 3), round(h5 / n, 3), round(rr / n, 3)


def apply(x: np.ndarray, adapter: np.ndarray) -> np.ndarray:
    """``normalise(x + x W)``, row by row."""
    y = x + x @ adapter
    return (y / np.linalg.norm(y, axis=1, keepdims=True)).astype(np.float32)


def train(pairs: Pairs, lam: float, temp: float, mode: str, steps: int) -> np.ndarray:
    """The adapter ``W`` learned from ``pairs`` (first relevant passage as the target)."""
    import torch

    torch.manual_seed(0)
    q = torch.tensor(pairs.questions)
    p = torch.tensor(pairs.passages)
    target = torch.tensor([r[0] for r in pairs.relevant])
    w = torch.zeros(q.shape[1], q.shape[1], requires_grad=True)
    optimiser = torch.optim.Adam([w], lr=1e-3)

    def through(x: torch.Tensor) -> torch.Tensor:
        y = x + x @ w
        return y / y.norm(dim=1, keepdim=True)

    for _ in range(steps):
        candidates = through(p) if mode == "both" else p
        logits = through(q) @ candidates.T / temp
        loss = torch.nn.functional.cross_entropy(logits, target) + lam * (w**2).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return w.detach().numpy()


def subset(pairs: Pairs, keep: np.ndarray) -> Pairs:
    """The questions ``keep`` selects, against the same passages."""
    return Pairs(
        pairs.questions[keep], pairs.passages, [pairs.relevant[i] for i in np.flatnonzero(keep)]
    )


def cross_validate(pairs: Pairs, mode: str, steps: int, by_passage: bool) -> tuple[float, float]:
    """The (lam, temp) of ``GRID`` with the best mean held-out MRR@10 over ``FOLDS`` folds
    (``by_passage``: a fold holds out passages with all their questions)."""
    rng = np.random.default_rng(0)
    keys = np.array([r[0] for r in pairs.relevant])
    if not by_passage:
        keys = np.arange(len(pairs.relevant))
    fold_of = rng.integers(0, FOLDS, size=int(keys.max()) + 1)[keys]
    best: tuple[float, tuple[float, float]] = (-1.0, GRID[0])
    for lam, temp in GRID:
        mrrs = []
        for fold in range(FOLDS):
            held = fold_of == fold
            adapter = train(subset(pairs, ~held), lam, temp, mode, steps)
            mrrs.append(scores(subset(pairs, held), adapter, mode)[2])
        mean = float(np.mean(mrrs))
        print(f"  CV {mode} lam {lam} temp {temp}: held-out MRR@10 {mean:.3f}", flush=True)
        best = max(best, (mean, (lam, temp)))
    return best[1]


def matched_hit1(faq: Pairs, test: Pairs, adapter: np.ndarray | None) -> float:
    """hit@1 of the test questions when an article also scores its best FAQ question's
    cosine (``faq``'s questions; what kb's FAQ matcher adds), through ``adapter`` (both)."""
    q, p, known = test.questions, faq.passages, faq.questions
    if adapter is not None:
        q, p, known = apply(q, adapter), apply(p, adapter), apply(known, adapter)
    best = q @ p.T
    by_question = q @ known.T
    for row, (article,) in enumerate(faq.relevant):
        best[:, article] = np.maximum(best[:, article], by_question[:, row])
    right = [int(np.argmax(best[i])) in set(r) for i, r in enumerate(test.relevant)]
    return round(float(np.mean(right)), 3)


def report(
    name: str, dev: Pairs, test: Pairs, steps: int, by_passage: bool, questions: bool = False
) -> None:
    """Choose on ``dev`` by CV, train on all of it, print dev and test before and after;
    ``questions``: dev's questions are FAQ questions of test's passages (also print the
    test hit@1 with them matched, ``matched_hit1``)."""
    print(f"\n## {name}\n\n| vectors | dev h1/h5/MRR | test h1/h5/MRR |\n|---|---|---|")
    print(f"| bundled model | {scores(dev, None, 'both')} | {scores(test, None, 'both')} |")
    if questions:
        print(f"| bundled model, FAQ questions matched | – | h1 {matched_hit1(dev, test, None)} |")
    for mode in ("query", "both"):
        lam, temp = cross_validate(dev, mode, steps, by_passage)
        adapter = train(dev, lam, temp, mode, steps)
        print(
            f"| adapter {mode} (lam {lam}, temp {temp}) | {scores(dev, adapter, mode)} | "
            f"{scores(test, adapter, mode)} |",
            flush=True,
        )
        if questions and mode == "both":
            matched = matched_hit1(dev, test, adapter)
            print(f"| adapter both, FAQ questions matched | – | h1 {matched} |")


def main() -> None:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--sets", nargs="*", default=["bq-faq", "articles"])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    if "bq-faq" in args.sets:
        dev, test = bq_pairs("dev", args.cache_dir), bq_pairs("test", args.cache_dir)
        report("bq-faq (dev pairs -> test half)", dev, test, args.steps, by_passage=True)
    if "articles" in args.sets:
        faq, sample = article_pairs(args.cache_dir)
        name = "articles/ (FAQ questions -> sample questions)"
        report(name, faq, sample, args.steps, by_passage=False, questions=True)


if __name__ == "__main__":
    main()
