"""``kb eval``: retrieval quality and latency on labelled question files.

A file holds one JSON object per line in either label style of ``../shared/eval/README.md``:

- id labels ``{"id", "query", "relevant": [article ids]}``: a result is a hit when its
  article id is in ``relevant``. Ranked at article level: the chunks are ranked, then every
  article after its first (best) chunk is dropped ("duplicates removed per article").
- text-span labels ``{"id", "query", "expect_any": [strings], "source"}``: a result is a hit
  when its passage, normalised (``kb.text.normalize_for_eval``: NFKC, Traditional ->
  Simplified, pinyin annotations and all whitespace removed), contains one of the
  ``expect_any`` strings normalised the same way. Ranked at passage level (these labels
  name a passage, not an article), a repeated chunk counted once.

An optional ``"audience": "internal"`` runs that question as an agent; the default is
``public`` (a bot). Per file: hit@1, hit@5, MRR@10 (a query whose first hit is below rank
10 scores 0) and the latency of each search, median (p50) and 95th percentile (p95).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import InvalidInput
from kb.search.filters import SearchFilters
from kb.text import normalize_for_eval

ID_LABELS = "id"
SPAN_LABELS = "text-span"
DEPTH = 10


@dataclass(frozen=True)
class EvalQuery:
    """One labelled question."""

    id: str
    query: str
    relevant: tuple[str, ...] = ()
    expect_any: tuple[str, ...] = ()
    audience: str = "public"
    source: str = ""

    @property
    def style(self) -> str:
        """``id`` or ``text-span``."""
        return ID_LABELS if self.relevant else SPAN_LABELS


@dataclass(frozen=True)
class Hit:
    """One ranked item as the evaluator sees it."""

    article_id: str
    passage: str
    chunk_id: str = ""


#: A retrieval method: (query, filters, passage level?) -> ranked items, best first.
Retrieve = Callable[[EvalQuery, SearchFilters, bool], Sequence[Hit]]


def _strings(value: Any, name: str, where: str) -> tuple[str, ...]:
    """A non-empty list of non-empty strings."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{where}: '{name}' must be a non-empty list of strings")
    items = tuple(v for v in value if v.strip())
    if not items:
        raise InvalidInput(f"{where}: '{name}' holds only empty strings")
    return items


def parse_line(data: Any, where: str) -> EvalQuery:
    """Validate one decoded line."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: each line must be a JSON object")
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput(f"{where}: missing 'query'")
    has_ids, has_spans = "relevant" in data, "expect_any" in data
    if has_ids == has_spans:
        raise InvalidInput(f"{where}: give exactly one of 'relevant' or 'expect_any'")
    audience = str(data.get("audience") or "public")
    if audience not in ("public", "internal"):
        raise InvalidInput(f"{where}: audience must be public or internal")
    return EvalQuery(
        id=str(data.get("id") or where),
        query=query,
        relevant=_strings(data["relevant"], "relevant", where) if has_ids else (),
        expect_any=_strings(data["expect_any"], "expect_any", where) if has_spans else (),
        audience=audience,
        source=str(data.get("source") or ""),
    )


def load_queries(path: str | Path) -> list[EvalQuery]:
    """Read a labelled file (JSON Lines, blank lines skipped); errors name the line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    queries = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{where}: not valid JSON ({exc.msg})") from None
        queries.append(parse_line(data, where))
    if not queries:
        raise InvalidInput(f"{path}: no questions")
    return queries


def dedupe(items: Iterable[Hit], by_article: bool) -> list[Hit]:
    """Keep the first item of each article (or of each chunk)."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.article_id if by_article else (item.chunk_id or item.passage)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def first_hit_rank(query: EvalQuery, ranked: Sequence[Hit], depth: int = DEPTH) -> int | None:
    """1-based rank of the first hit among the top ``depth`` deduplicated items, or None."""
    items = dedupe(ranked, by_article=query.style == ID_LABELS)[:depth]
    if query.style == ID_LABELS:
        wanted = set(query.relevant)
        hits = (i for i, item in enumerate(items, 1) if item.article_id in wanted)
    else:
        needles = [normalize_for_eval(s) for s in query.expect_any]
        hits = (
            i
            for i, item in enumerate(items, 1)
            if any(n in normalize_for_eval(item.passage) for n in needles)
        )
    return next(hits, None)


@dataclass
class QueryOutcome:
    """How one question fared."""

    id: str
    query: str
    rank: int | None
    latency_ms: float
    top: list[str]


@dataclass
class FileReport:
    """The metrics of one file."""

    file: str
    label_style: str
    queries: int
    hit_at_1: float
    hit_at_5: float
    mrr_at_10: float
    latency_p50_ms: float
    latency_p95_ms: float
    outcomes: list[QueryOutcome] = field(default_factory=list, repr=False)

    def to_dict(self, with_outcomes: bool = False) -> dict[str, Any]:
        """JSON-ready form; per-question outcomes only when asked."""
        data = asdict(self)
        if not with_outcomes:
            data.pop("outcomes")
        return data


def metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    """hit@1, hit@5 and MRR@10 of first-hit ranks (None: no hit in the top 10)."""
    n = len(ranks) or 1
    return {
        "hit_at_1": sum(r == 1 for r in ranks) / n,
        "hit_at_5": sum(r is not None and r <= 5 for r in ranks) / n,
        "mrr_at_10": sum(1 / r for r in ranks if r is not None and r <= DEPTH) / n,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (linear interpolation), 0 for no values."""
    return float(np.percentile(values, q)) if values else 0.0


def evaluate(
    name: str,
    queries: Sequence[EvalQuery],
    retrieve: Retrieve,
    as_of: date | str | None = None,
) -> FileReport:
    """Run every question through ``retrieve`` and compute the file's metrics."""
    outcomes = []
    for q in queries:
        filters = SearchFilters.build(audience=q.audience, as_of=as_of)
        started = time.perf_counter()
        ranked = retrieve(q, filters, q.style == SPAN_LABELS)
        latency = (time.perf_counter() - started) * 1000
        rank = first_hit_rank(q, ranked)
        top = [h.article_id for h in dedupe(ranked, q.style == ID_LABELS)[:5]]
        outcomes.append(QueryOutcome(q.id, q.query, rank, latency, top))
    styles = sorted({q.style for q in queries})
    latencies = [o.latency_ms for o in outcomes]
    return FileReport(
        file=name,
        label_style="+".join(styles),
        queries=len(queries),
        **{k: round(v, 4) for k, v in metrics([o.rank for o in outcomes]).items()},
        latency_p50_ms=round(percentile(latencies, 50), 1),
        latency_p95_ms=round(percentile(latencies, 95), 1),
        outcomes=outcomes,
    )


def searcher_retrieve(searcher: Any) -> Retrieve:
    """A ``Retrieve`` over a ``kb.search.retrieval.Searcher`` (articles or passages, top 10)."""

    def retrieve(query: EvalQuery, filters: SearchFilters, passages: bool) -> list[Hit]:
        response = searcher.search(query.query, filters, top_k=DEPTH, one_per_article=not passages)
        return [Hit(r.article_id, r.passage, r.chunk_id) for r in response.results]

    return retrieve


def run_files(
    paths: Sequence[str | Path], retrieve: Retrieve, as_of: date | str | None = None
) -> list[FileReport]:
    """Evaluate each file (all files are read and checked before any is run)."""
    loaded = [(str(p), load_queries(p)) for p in paths]
    return [evaluate(name, queries, retrieve, as_of) for name, queries in loaded]
