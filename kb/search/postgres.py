"""The ``postgres`` search store: chunks, vectors and BM25 terms in PostgreSQL (pgvector).

Tables (migrations 0013 to 0016, PostgreSQL only):

- ``search_chunks``: one narrow row per chunk: the filter columns (audience, type, lang,
  normalised tags, effective dates), the ``embedding`` as a pgvector ``vector`` (stored
  inline) and the token count; ``seq`` keeps insertion order (ties rank in it, as the
  local index ranks in row order). ``ix_search_chunks_filter`` (0014) covers the filter
  columns, lengths and ``seq`` so lexical search joins its scored chunks to them without
  reading the wide rows (an index-only scan).
- ``search_texts``: each chunk's text, meta (jsonb) and jieba-segmented search text
  (``terms``, with a ``simple`` ``tsvector`` over it for ad-hoc SQL): kept apart so that
  scanning the vectors does not read them.
- ``search_sentences``: the sentence-window vectors of document chunks
  (``kb.search.sentences``).
- ``search_postings`` (0016): ``(term, seq, tf, length)``, the chunk's ``seq`` and token
  count beside each posting, primary key ``(term, seq)`` covering ``tf`` and ``length``:
  lexical search computes bm25s's Lucene BM25 in SQL from it (the same jieba tokens as the
  local store, so both rank alike), reading each query term's postings by an index-only
  scan and summing per ``seq`` before it joins the scored chunks to their filter columns.
- ``search_state``: one row: the version counter (bumped by every change, in the same
  transaction), the model, the dimension and the corpus statistics BM25 needs.

Filters go into the SQL (``where_sql``); dense search (``<#>`` on unit vectors, the chunk's
cosine blended with its best sentence's as the local store does) is exact below
``EXACT_BELOW`` chunks and goes through pgvector HNSW indexes above (migration 0015,
iterative scans so the filters still yield ``top_k`` rows). Each process
holds a catalog of the live version's chunk texts and meta (loaded when the version
changes, like a local snapshot but without vectors): FAQ questions and the audience guard
read it. A new version is loaded and prepared (its language basis, audience map and the
preparers' state such as the FAQ question index, ``kb.search.preparing``) off the request
path, by ``refresh`` in a background thread or the API's watcher, while requests keep the
previous view; since searches read the live tables and FAQ candidates from the catalog are
checked there too (``PostgresSearchView.served``), a request served from the previous view
never returns a chunk that was removed (archived, rolled back) before its queries ran.
Writes (``apply``) run in one transaction, which may be the caller's own
(``apply(update, connection=...)``): the publication's transaction, so a version is
searchable on every replica when it commits.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from haystack import Document

from kb.errors import Conflict, InvalidInput, NotReady
from kb.language import base_language
from kb.search.bm25 import K1, B, BM25Index, ChineseTokenizer, TokenizerPool
from kb.search.catalog import ChunkCatalog
from kb.search.crosslang import MIN_LANGUAGE_TEXTS, language_along, language_basis
from kb.search.dense import VectorIndex, as_matrix
from kb.search.filters import SearchFilters, _iso, _norm_tag
from kb.search.index import (
    IndexSnapshot,
    _json_default,
    _search_text,
    _sentence_matrix,
    prepare_chunks,
)
from kb.search.preparing import Preparer, ViewPreparers
from kb.search.sentences import SENTENCE_META, SentenceVectors
from kb.search.store import Hit, IndexUpdate

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from kb.config import Config
    from kb.store.db import Database

logger = logging.getLogger(__name__)

PREFIX = "pg-"
# (index, table): pgvector HNSW indexes on the vectors (migration 0015, ``_ensure_ann``)
ANN_INDEXES = (
    ("ix_search_chunks_embedding_hnsw", "search_chunks"),
    ("ix_search_sentences_embedding_hnsw", "search_sentences"),
)
# Below this many chunks a view searches exactly: a scan of every vector is fast there
# (docs/benchmarks.md, "pghnsw") and ranks ties exactly as the local store.
EXACT_BELOW = 10_000
EF_SEARCH = 100  # HNSW candidate list at least (pgvector's default: 40)
MAX_EF_SEARCH = 1000  # pgvector's maximum
# Lexical search applies the filters to this many best-scored chunks first (LEXICAL_SQL):
# joining every scored chunk to its filter columns cost ~30% of a search at 100,000 chunks
# (docs/benchmarks.md, "pglex2").
LEXICAL_CUT = 200


def where_sql(filters: SearchFilters | None, alias: str = "c") -> tuple[str, dict[str, Any]]:
    """The SQL condition (on ``search_chunks`` as ``alias``) equal to ``filters.matches``."""
    if filters is None:
        return "TRUE", {}
    parts: list[str] = []
    params: dict[str, Any] = {}
    if filters.audience == "public":
        parts.append(f"{alias}.audience = 'public'")
    if filters.types:
        parts.append(f"{alias}.type = ANY(%(f_types)s)")
        params["f_types"] = list(filters.types)
    if filters.lang is not None:
        parts.append(f"({alias}.lang = %(f_lang)s OR {alias}.lang LIKE %(f_lang_sub)s)")
        params["f_lang"] = filters.lang
        params["f_lang_sub"] = filters.lang.replace("%", r"\%").replace("_", r"\_") + "-%"
    if filters.tags:
        parts.append(f"{alias}.tags @> %(f_tags)s")
        params["f_tags"] = list(filters.tags)
    day = filters.as_of.isoformat()
    parts.append(f"({alias}.effective_from IS NULL OR {alias}.effective_from <= %(f_day)s)")
    parts.append(f"({alias}.effective_to IS NULL OR %(f_day)s <= {alias}.effective_to)")
    params["f_day"] = day
    return " AND ".join(parts), params


def _version_name(number: int) -> str:
    """The view name of a version counter value."""
    return f"{PREFIX}{number:08d}"


class PostgresSearchView(ChunkCatalog):
    """One version of the PostgreSQL store as a ``kb.search.store.SearchView``.

    Searches run in SQL on the live tables; the catalog (chunk texts and meta, no
    vectors) is this process's copy of the version, read when it was taken up.
    """

    def __init__(
        self, store: PostgresSearchIndex, number: int, docs: list[Document], dim: int
    ) -> None:
        """Internal: ``PostgresSearchIndex.snapshot`` makes views."""
        self._store = store
        self.number = number
        self.dim = dim
        self._catalog(docs)
        self._basis: np.ndarray | None = None
        self._materialized: IndexSnapshot | None = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """``pg-<counter>``: the version counter of ``search_state`` when taken."""
        return _version_name(self.number)

    @property
    def identity(self) -> str:
        """The database (password hidden)."""
        return self._store.identity

    @property
    def bm25_tokenizer(self) -> ChineseTokenizer:
        """The jieba tokenizer of the store."""
        return self._store.tokenizer

    def articles(self) -> dict[str, int]:
        """``{article_id: version}`` of every article served."""
        return {str(d.meta["article_id"]): int(d.meta.get("version") or 0) for d in self._docs}

    def served(self, chunk_ids: Iterable[str], filters: SearchFilters) -> set[str]:
        """Those of ``chunk_ids`` in this catalog that the live tables still hold and
        whose row passes ``filters`` (in SQL): candidates taken from the catalog (FAQ
        questions) are checked here, so a view kept while a newer one is prepared never
        returns a chunk removed since."""
        wanted = [c for c in dict.fromkeys(chunk_ids) if c in self._row]
        return self._store.live_chunks(wanted, filters) if wanted else set()

    def _found(self, rows: Iterable[tuple[str, float]]) -> list[Hit]:
        """Catalog documents with their scores (rows of chunks the catalog lacks, written
        after this view was taken, are left out)."""
        out: list[Hit] = []
        for chunk_id, score in rows:
            row = self._row.get(chunk_id)
            if row is not None:
                out.append((replace(self._docs[row], score=float(score)), float(score)))
        return out

    def dense_search(
        self,
        query_embedding: Sequence[float] | np.ndarray,
        top_k: int,
        *,
        filters: SearchFilters | None = None,
        sentence_weight: float = 0.0,
    ) -> list[Hit]:
        """The ``top_k`` nearest chunks that pass ``filters`` (filtered in SQL)."""
        if top_k <= 0 or not self._docs:
            return []
        query = as_matrix(np.asarray(query_embedding, dtype=np.float32).reshape(1, -1), self.dim)
        exact = len(self._docs) < self._store.exact_below
        rows = self._store.dense_rows(query[0], top_k, filters, sentence_weight, exact=exact)
        return self._found(rows)

    def lexical_search(
        self, query_text: str, top_k: int, *, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """The ``top_k`` best BM25 matches (score > 0) that pass ``filters`` (in SQL)."""
        if top_k <= 0:
            return []
        tokens = self.bm25_tokenizer.tokenize(query_text)
        return self._found(self._store.lexical_rows(tokens, top_k, filters))

    def embeddings(self, chunk_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of those chunk ids that are present."""
        return self._store.vectors_of(list(chunk_ids))

    def language_basis(self) -> np.ndarray:
        """The language direction(s), from per-language mean vectors computed in SQL
        (when the view is prepared, before it is served)."""
        if self._basis is None:
            centroids = self._store.language_centroids(MIN_LANGUAGE_TEXTS)
            self._basis = language_basis(centroids, self.dim)
        return self._basis

    def prepare(self) -> None:
        """Compute what requests read of this version (language basis, audience map)."""
        self.language_basis()
        self.article_audiences()

    def language_along(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """These chunks' coordinates along ``language_basis``."""
        basis = self.language_basis()
        vectors = self.embeddings(chunk_ids)
        matrix = np.stack([vectors[c] for c in chunk_ids]) if chunk_ids else None
        if matrix is None:
            return np.zeros((0, len(basis)), dtype=np.float32)
        return language_along(matrix, basis)

    def materialize(self) -> IndexSnapshot:
        """This version read into an in-memory ``IndexSnapshot`` (once per view)."""
        with self._lock:
            if self._materialized is None:
                self._materialized = self._store.read_snapshot(self)
            return self._materialized


class PostgresSearchIndex:
    """The search index in a PostgreSQL database with pgvector (``search_store: postgres``)."""

    kind = "postgres"

    def __init__(
        self,
        database: Database | Engine,
        jieba_user_dict: str | Path | None = None,
        check_interval_ms: int = 1000,
        tokenizers: TokenizerPool | None = None,
        exact_below: int = EXACT_BELOW,
        lexical_cut: int = LEXICAL_CUT,
    ) -> None:
        """Use the search tables of ``database`` (created by ``kb init``'s migrations); the
        BM25 tokenizer comes from ``tokenizers`` (the process's pool; default: a new one).
        Dense search is exact on versions of fewer than ``exact_below`` chunks, through
        the HNSW indexes above; lexical search filters the ``lexical_cut`` best-scored
        chunks first (``LEXICAL_SQL``; the result is the same)."""
        from sqlalchemy import Engine

        engine = database if isinstance(database, Engine) else database.engine
        if engine.dialect.name != "postgresql":
            raise InvalidInput(
                "search_store 'postgres' needs database_url to be a PostgreSQL database "
                f"(it is {engine.dialect.name})"
            )
        self.engine = engine
        pool = tokenizers if tokenizers is not None else TokenizerPool()
        self.tokenizer = pool.get(jieba_user_dict)
        self.check_interval = check_interval_ms / 1000
        self.exact_below = exact_below
        self.lexical_cut = lexical_cut
        self.identity = str(engine.url.render_as_string(hide_password=True))
        self._view: PostgresSearchView | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        # the connections taught the vector type; weak, so a closed connection's slot (and
        # its id(), which a new connection may reuse) is not taken for a taught one
        self._registered: weakref.WeakSet[Any] = weakref.WeakSet()
        self._preparers = ViewPreparers()
        self._background: threading.Thread | None = None
        self._lock_background = threading.Lock()

    @classmethod
    def from_config(
        cls,
        config: Config,
        database: Database | None = None,
        tokenizers: TokenizerPool | None = None,
    ) -> PostgresSearchIndex:
        """The store in ``database`` (default: ``config.effective_database_url``), its
        tokenizer from ``tokenizers``."""
        from kb.store.db import Database

        user_dict = str(config.jieba_user_dict or "")
        db = database or Database(config.effective_database_url)
        return cls(db, None if user_dict in ("", ".") else user_dict, tokenizers=tokenizers)

    # --- connections -----------------------------------------------------------------------

    @contextmanager
    def _cursor(self, connection: Any = None) -> Iterator[Any]:
        """A psycopg cursor: on ``connection`` (a psycopg connection in the caller's
        transaction) or in a transaction of its own, committed on success."""
        if connection is not None:
            self._register(connection)
            with connection.cursor() as cur:  # the caller commits
                yield cur
            return
        with self.engine.begin() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            self._register(raw)
            with raw.cursor() as cur:
                yield cur

    def _register(self, raw: Any) -> None:
        """Teach a psycopg connection the ``vector`` type (once per connection)."""
        if raw in self._registered:
            return
        from pgvector.psycopg import register_vector

        try:
            register_vector(raw)
        except Exception as exc:  # psycopg.ProgrammingError: the type is missing
            raise NotReady(
                "the database has no pgvector 'vector' type: run `kb init` on a PostgreSQL "
                f"with the vector extension available ({exc})"
            ) from None
        self._registered.add(raw)

    # --- the live view ---------------------------------------------------------------------

    def _state(self, cur: Any) -> tuple[int, str, int, int, float] | None:
        """``(version, model_id, dim, chunks, total_length)`` or None before any write."""
        cur.execute(
            "SELECT version, model_id, dim, chunk_count, total_length "
            "FROM search_state WHERE id = 1"
        )
        row = cur.fetchone()
        return None if row is None else (int(row[0]), row[1], int(row[2]), int(row[3]), row[4])

    def current_version(self) -> str | None:
        """``pg-<counter>`` of the live version, or None before the first write."""
        with self._cursor() as cur:
            state = self._state(cur)
        return None if state is None else _version_name(state[0])

    def manifest(self, connection: Any = None) -> dict[str, Any] | None:
        """``{"version", "model_id", "dim", "articles": {article_id: version}}`` of the
        live version as seen in ``connection``'s transaction; None before the first write."""
        with self._cursor(connection) as cur:
            state = self._state(cur)
            if state is None:
                return None
            cur.execute("SELECT DISTINCT article_id, article_version FROM search_chunks")
            articles = dict(sorted(cur.fetchall()))
        return {
            "version": _version_name(state[0]),
            "model_id": state[1],
            "dim": state[2],
            "articles": articles,
        }

    def chunk_count(self, connection: Any = None) -> int:
        """How many chunks the store serves (0 before the first write)."""
        with self._cursor(connection) as cur:
            state = self._state(cur)
        return 0 if state is None else state[3]

    def dim(self) -> int:
        """The vectors' dimension (``NotReady`` before the first write)."""
        with self._cursor() as cur:
            state = self._state(cur)
        if state is None:
            raise NotReady("the search store is empty; run `kb ingest` first")
        return state[2]

    def snapshot(self) -> PostgresSearchView:
        """The live view. The first call loads it; afterwards, at most every
        ``check_interval``, a background thread looks for a newer version and prepares it
        while this and the next calls return the view held (``refresh``)."""
        if self._view is None:
            self.refresh()
        elif time.monotonic() - self._checked_at >= self.check_interval:
            self._refresh_in_background()
        view = self._view
        if view is None:
            raise NotReady("the search store is empty; run `kb ingest` first")
        return view

    def held(self) -> PostgresSearchView | None:
        """The view served now, without checking the database."""
        return self._view

    def on_new_view(self, preparer: Preparer) -> None:
        """Run ``preparer(view)`` on each new view before it is served (held weakly;
        ``kb.search.preparing``)."""
        self._preparers.add(preparer)

    def refresh(self, *, wait: bool = True) -> bool:
        """Take up the live version if it changed: load its catalog, prepare it (language
        basis, audience map, the preparers), then serve it; True when a new view is served.

        With another thread's refresh in progress (which may have read the state before
        the caller's own commit), ``wait`` waits for it and checks again; ``wait=False``
        (the background refresher) returns False at once when a view is held."""
        if not self._lock.acquire(blocking=wait or self._view is None):
            return False
        try:
            self._checked_at = time.monotonic()
            view = self._load_view()
            if view is None:
                return False
            view.prepare()
            self._preparers.run(view)
            self._view = view
            return True
        finally:
            self._lock.release()

    def _load_view(self) -> PostgresSearchView | None:
        """The live version's view (catalog loaded, not prepared), or None when it is the
        one held or nothing was written."""
        with self._cursor() as cur:
            state = self._state(cur)
            if state is None or (self._view is not None and self._view.number == state[0]):
                return None
            cur.execute(
                "SELECT c.id, t.content, t.meta FROM search_chunks c "
                "JOIN search_texts t USING (id) ORDER BY c.seq"
            )
            docs = [Document(id=i, content=c, meta=m) for i, c, m in cur.fetchall()]
        return PostgresSearchView(self, state[0], docs, state[2])

    def _refresh_in_background(self) -> None:
        """Start one thread that runs ``refresh`` (none while one is running)."""
        with self._lock_background:
            if self._background is not None and self._background.is_alive():
                return
            self._checked_at = time.monotonic()
            self._background = threading.Thread(
                target=self._refresh_logged, name="kb-pg-refresh", daemon=True
            )
            self._background.start()

    def _refresh_logged(self) -> None:
        """``refresh``, its failure logged (the view held stays served)."""
        try:
            self.refresh(wait=False)
        except Exception:
            held = self._view.version if self._view is not None else None
            logger.exception("loading a new search store version failed; keeping %s", held)

    # --- searches --------------------------------------------------------------------------

    def dense_rows(
        self,
        query: np.ndarray,
        top_k: int,
        filters: SearchFilters | None,
        sentence_weight: float,
        *,
        exact: bool = False,
    ) -> list[tuple[str, float]]:
        """``(chunk_id, score)`` of the ``top_k`` best chunks passing ``filters``: the
        cosine, blended with the best sentence's when ``sentence_weight`` > 0 (the
        candidates: the ``top_k`` nearest chunks and the chunks of the ``4 top_k``
        nearest sentences, as ``kb.search.sentences.pooled_search``).

        ``exact``: scan every vector (ties in ``seq`` order, as the local store); else
        the candidates come from the HNSW indexes (an iterative scan, so a selective
        filter still yields ``top_k``) and are ranked by ``(score, seq)`` afterwards."""
        cond, params = where_sql(filters)
        params |= {"q": query, "k": top_k, "k4": 4 * top_k, "w": sentence_weight}
        with self._cursor() as cur:
            if not exact:
                _ann_settings(cur, 4 * top_k if sentence_weight > 0 else top_k)
            cur.execute(_dense_sql(cond, sentence_weight > 0, exact), params)
            return [(r[0], float(r[1])) for r in cur.fetchall()]

    def lexical_rows(
        self, tokens: Sequence[str], top_k: int, filters: SearchFilters | None
    ) -> list[tuple[str, float]]:
        """``(chunk_id, BM25 score)`` of the ``top_k`` best chunks passing ``filters``
        (bm25s's Lucene BM25, as ``kb.search.bm25``; each query token counted as often as
        it occurs; corpus statistics over every chunk, as the local index)."""
        if not tokens:
            return []
        cond, params = where_sql(filters)
        params |= {"terms": list(tokens), "k": top_k, "k1": K1, "b": B}
        params["cut"] = max(self.lexical_cut, top_k)
        with self._cursor() as cur:
            cur.execute(LEXICAL_SQL.format(cond=cond), params)
            return [(r[0], float(r[1])) for r in cur.fetchall()]

    def vectors_of(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those chunk ids that are present."""
        if not chunk_ids:
            return {}
        with self._cursor() as cur:
            cur.execute("SELECT id, embedding FROM search_chunks WHERE id = ANY(%s)", (chunk_ids,))
            return {i: _array(v) for i, v in cur.fetchall()}

    def live_chunks(self, chunk_ids: list[str], filters: SearchFilters | None) -> set[str]:
        """Those of ``chunk_ids`` the live tables hold whose row passes ``filters``."""
        cond, params = where_sql(filters)
        params["ids"] = chunk_ids
        sql = f"SELECT c.id FROM search_chunks c WHERE c.id = ANY(%(ids)s) AND {cond}"
        with self._cursor() as cur:
            cur.execute(sql, params)
            return {r[0] for r in cur.fetchall()}

    def language_centroids(self, at_least: int) -> dict[str, np.ndarray]:
        """The mean chunk vector of each language with at least ``at_least`` chunks."""
        with self._cursor() as cur:
            cur.execute(
                "SELECT lang_base, avg(embedding) FROM search_chunks "
                "GROUP BY lang_base HAVING count(*) >= %s",
                (at_least,),
            )
            return {lang: _array(v) for lang, v in cur.fetchall()}

    def read_snapshot(self, view: PostgresSearchView) -> IndexSnapshot:
        """The store read into an ``IndexSnapshot`` (for the hit test and golden check)."""
        with self._cursor() as cur:
            state = self._state(cur)
            if state is None:
                raise NotReady("the search store is empty; run `kb ingest` first")
            cur.execute(
                "SELECT c.id, t.content, t.meta, c.embedding, t.terms FROM search_chunks c "
                "JOIN search_texts t USING (id) ORDER BY c.seq"
            )
            rows = cur.fetchall()
            cur.execute(
                "SELECT s.chunk_id, s.embedding FROM search_sentences s "
                "JOIN search_chunks c ON c.id = s.chunk_id ORDER BY c.seq, s.position"
            )
            sentence_rows = cur.fetchall()
        dim = state[2]
        docs = [Document(id=r[0], content=r[1], meta=r[2]) for r in rows]
        vectors = as_matrix([_array(r[3]) for r in rows], dim)
        per_chunk: dict[str, list[np.ndarray]] = {}
        for chunk_id, vector in sentence_rows:
            per_chunk.setdefault(chunk_id, []).append(_array(vector))
        sentences = SentenceVectors.from_chunks(
            [np.stack(per_chunk[d.id]) if d.id in per_chunk else None for d in docs], dim
        )
        bm25 = BM25Index.build(
            ((r[0], r[4].split(" ") if r[4] else []) for r in rows), self.tokenizer
        )
        articles = {str(d.meta["article_id"]): d.meta.get("version") for d in docs}
        manifest = {
            "version": view.version,
            "model_id": state[1],
            "dim": dim,
            "chunk_count": len(docs),
            "sentence_count": len(sentences),
            "article_count": len(articles),
            "articles": articles,
            "store": "postgres",
        }
        path = Path(f"postgres-{view.version}")  # no files: golden lists are not cached
        return IndexSnapshot(path, manifest, docs, VectorIndex.build(vectors, dim), bm25, sentences)

    # --- writes ----------------------------------------------------------------------------

    def apply(self, update: IndexUpdate, connection: Any = None) -> str:
        """Serve ``update`` (see ``write``); the new version. In a transaction of its own
        the view this process holds (if any) is refreshed once it commits."""
        version = self.write(update, connection)[0]
        if connection is None and self._view is not None:
            self.refresh()
        return version

    def write(self, update: IndexUpdate, connection: Any = None) -> tuple[str, int]:
        """Serve ``update`` (see ``IndexUpdate``) in one transaction: the caller's
        (``connection``, a psycopg connection) or one of its own. Returns the new version
        and how many stored chunks were dropped.

        Writers are serialised by a row lock on ``search_state``; the model and
        dimension must be those of the chunks already stored (else ``Conflict``:
        rebuild with ``full``).
        """
        first = update.chunks[0].embedding if update.chunks else None
        dim = update.dim or (len(first) if first is not None else 0)
        docs, vectors = prepare_chunks(update.chunks, dim)[:2] if update.chunks else ([], None)
        with self._cursor(connection) as cur:
            cur.execute("SELECT dim, model_id FROM search_state WHERE id = 1 FOR UPDATE")
            row = cur.fetchone()
            if row is not None and not update.full:
                if (dim and dim != row[0]) or (update.model_id and update.model_id != row[1]):
                    raise Conflict(
                        f"the search store uses {row[1]} ({row[0]}-d), not {update.model_id} "
                        f"({dim}-d): rebuild the whole index"
                    )
                dim = dim or int(row[0])
            if not dim:
                raise InvalidInput("the embedding dimension is unknown: pass dim")
            if update.full:
                cur.execute("DELETE FROM search_chunks")
            else:
                gone = sorted(update.touched())
                cur.execute("DELETE FROM search_chunks WHERE article_id = ANY(%s)", (gone,))
            removed = max(cur.rowcount, 0)
            _ensure_ann(cur, dim)
            if docs:
                assert vectors is not None
                self._insert(cur, update.chunks, docs, vectors, dim)
            number = self._bump(cur, update.model_id or (row[1] if row else ""), dim)
            return _version_name(number), removed

    def _insert(
        self,
        cur: Any,
        chunks: Sequence[Document],
        docs: list[Document],
        vectors: np.ndarray,
        dim: int,
    ) -> None:
        """Insert the chunks, their sentence vectors and their lexical postings."""
        chunk_rows: list[tuple[Any, ...]] = []
        text_rows: list[tuple[Any, ...]] = []
        sentence_rows: list[tuple[str, int, np.ndarray]] = []
        counts: dict[str, Counter[str]] = {}
        for original, doc, vector in zip(chunks, docs, vectors, strict=True):
            tokens = self.tokenizer.tokenize(_search_text(doc))
            chunk_rows.append(_chunk_row(doc, vector, len(tokens)))
            text_rows.append((doc.id, doc.content or "", _meta_json(doc), " ".join(tokens)))
            counts[doc.id] = Counter(tokens)
            sentences = _sentence_matrix(original, dim)
            if sentences is not None:
                sentence_rows.extend((doc.id, i, v) for i, v in enumerate(sentences))
        cur.executemany(
            "INSERT INTO search_chunks (id, article_id, article_version, audience, type, lang, "
            "lang_base, tags, effective_from, effective_to, embedding, length) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            chunk_rows,
        )
        with cur.copy("COPY search_texts (id, content, meta, terms) FROM STDIN") as copy:
            for row in text_rows:
                copy.write_row(row)
        if sentence_rows:
            cur.executemany(
                "INSERT INTO search_sentences (chunk_id, position, embedding) VALUES (%s, %s, %s)",
                sentence_rows,
            )
        self._insert_postings(cur, counts)

    def _insert_postings(self, cur: Any, counts: dict[str, Counter[str]]) -> None:
        """Insert the lexical postings of the chunks just inserted (``{chunk_id: token
        counts}``), keyed by their ``seq`` and carrying their length."""
        if not counts:
            return
        cur.execute("SELECT id, seq, length FROM search_chunks WHERE id = ANY(%s)", (list(counts),))
        rows = cur.fetchall()
        with cur.copy("COPY search_postings (term, seq, tf, length) FROM STDIN") as copy:
            for chunk_id, seq, length in rows:
                for term, tf in counts[chunk_id].items():
                    copy.write_row((term, seq, tf, length))

    def _bump(self, cur: Any, model_id: str, dim: int) -> int:
        """Advance the version counter and the corpus statistics; the new counter."""
        cur.execute(
            "INSERT INTO search_state (id, version, model_id, dim, chunk_count, total_length, "
            "updated_at) SELECT 1, 1, %(m)s, %(d)s, count(*), coalesce(sum(length), 0), now() "
            "FROM search_chunks ON CONFLICT (id) DO UPDATE SET "
            "version = search_state.version + 1, model_id = EXCLUDED.model_id, "
            "dim = EXCLUDED.dim, chunk_count = EXCLUDED.chunk_count, "
            "total_length = EXCLUDED.total_length, updated_at = EXCLUDED.updated_at "
            "RETURNING version",
            {"m": model_id, "d": dim},
        )
        return int(cur.fetchone()[0])


# Lexical search: each query term's document frequency counted from its postings (an
# index-only scan of search_postings_pkey), the BM25 sum per chunk ``seq`` over the
# postings alone (the chunk's length is stored beside each posting), and only then the
# scored chunks joined to their filter columns (ix_search_chunks_filter covers ``seq``).
# ``w`` is materialised so that the idf is computed once per term, not once per posting.
# The filters are first applied to the ``cut`` best-scored chunks only (``best``): when at
# least ``k`` of them pass, they hold the top ``k`` exactly (a chunk outside them ranks
# below all of them); otherwise (a selective filter) every scored chunk is joined to its
# filter columns (``fit``'s second branch, which PostgreSQL runs only in that case).
# A document-frequency table kept by the writes was measured no faster at 100,000 chunks
# (docs/benchmarks.md, "pglex2"), so the frequencies are counted.
LEXICAL_SQL = """
WITH st AS (SELECT chunk_count::float8 AS n,
        GREATEST(total_length / NULLIF(chunk_count, 0), 1e-9) AS avgdl
    FROM search_state WHERE id = 1),
q AS (SELECT t AS term, count(*)::float8 AS times
    FROM unnest(%(terms)s::text[]) AS t GROUP BY t),
w AS MATERIALIZED (SELECT q.term, q.times * ln(1 + (st.n - d.df + 0.5) / (d.df + 0.5)) AS idf
    FROM q CROSS JOIN st CROSS JOIN LATERAL (
        SELECT count(*)::float8 AS df FROM search_postings p WHERE p.term = q.term) AS d
    WHERE d.df > 0),
s AS MATERIALIZED (SELECT p.seq, sum(w.idf * p.tf / (p.tf + %(k1)s * ((1 - %(b)s)
        + %(b)s * p.length / st.avgdl))) AS s
    FROM w JOIN search_postings p USING (term) CROSS JOIN st GROUP BY p.seq),
best AS (SELECT c.id, b.s, b.seq
    FROM (SELECT seq, s FROM s WHERE s > 0 ORDER BY s DESC, seq LIMIT %(cut)s) AS b
    JOIN search_chunks c ON c.seq = b.seq WHERE {cond}),
fit AS (SELECT id, s, seq FROM best WHERE (SELECT count(*) FROM best) >= %(k)s
    UNION ALL
    SELECT c.id, s.s, s.seq FROM s JOIN search_chunks c ON c.seq = s.seq
    WHERE {cond} AND s.s > 0 AND (SELECT count(*) FROM best) < %(k)s)
SELECT id, s FROM fit ORDER BY s DESC, seq LIMIT %(k)s
"""


def _dense_sql(cond: str, sentences: bool, exact: bool) -> str:
    """Dense search SQL: the nearest chunks (and sentences) passing ``cond``.

    The exact form orders by the negated distance (and ``seq`` for chunks), which no
    index can serve, so it scans every vector whatever the planner's costs (ordering by
    ``(distance, seq)`` would not do: an HNSW scan under an incremental sort serves it);
    the ANN form orders by the distance alone, which the HNSW indexes serve, and ranks
    what they return by ``(score, seq)``."""

    def nearest(alias: str, tie: str) -> str:
        if exact:
            return f"-({alias}.embedding <#> %(q)s) DESC{tie}"
        return f"{alias}.embedding <#> %(q)s"

    if not sentences:
        return f"""
        SELECT id, s FROM (
            SELECT c.id, c.seq, -(c.embedding <#> %(q)s) AS s FROM search_chunks c
            WHERE {cond} ORDER BY {nearest("c", ", c.seq")} LIMIT %(k)s) AS near
        ORDER BY s DESC, seq"""
    return f"""
    WITH own AS (
        SELECT c.id FROM search_chunks c WHERE {cond}
        ORDER BY {nearest("c", ", c.seq")} LIMIT %(k)s),
    near AS (
        SELECT s.chunk_id AS id FROM search_sentences s
        JOIN search_chunks c ON c.id = s.chunk_id WHERE {cond}
        ORDER BY {nearest("s", "")} LIMIT %(k4)s),
    cand AS (SELECT id FROM own UNION SELECT id FROM near),
    scored AS (
        SELECT c.id, c.seq, -(c.embedding <#> %(q)s) AS own,
            (SELECT max(-(s.embedding <#> %(q)s)) FROM search_sentences s
             WHERE s.chunk_id = c.id) AS best
        FROM search_chunks c JOIN cand USING (id))
    SELECT id, CASE WHEN best IS NULL THEN own
        ELSE (1 - %(w)s) * own + %(w)s * best END AS s
    FROM scored ORDER BY s DESC, seq LIMIT %(k)s"""


def _ann_settings(cur: Any, wanted: int) -> None:
    """This transaction's HNSW search settings: an iterative scan (pgvector 0.8), so rows
    the filters drop are replaced, and a candidate list of at least ``wanted`` rows."""
    ef_search = min(MAX_EF_SEARCH, max(EF_SEARCH, wanted))
    cur.execute(
        "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
        "set_config('hnsw.ef_search', %s, true)",
        (str(ef_search),),
    )


def _ensure_ann(cur: Any, dim: int) -> None:
    """Give the vector columns the dimension ``dim`` and the HNSW indexes (at a store's
    first write, or a full rebuild with a model of another dimension; else a no-op)."""
    cur.execute(
        "SELECT atttypmod FROM pg_attribute "
        "WHERE attrelid = 'search_chunks'::regclass AND attname = 'embedding'"
    )
    if cur.fetchone()[0] == dim:
        return
    for name, table in ANN_INDEXES:
        cur.execute(
            f"ALTER TABLE {table} ALTER COLUMN embedding TYPE vector({int(dim)}), "
            "ALTER COLUMN embedding SET STORAGE PLAIN"
        )
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING hnsw (embedding vector_ip_ops)"
        )


def _array(value: Any) -> np.ndarray:
    """A ``vector`` value as read by pgvector's adapter, as a float32 array."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float32)


def _meta_json(doc: Document) -> str:
    """The chunk's meta as JSON (dates as ISO strings, as the local store writes them)."""
    try:
        return json.dumps(doc.meta, ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"chunk {doc.id}: meta is not JSON serialisable: {exc}") from None


def _chunk_row(doc: Document, vector: np.ndarray, length: int) -> tuple[Any, ...]:
    """The ``search_chunks`` values of one chunk (the filter columns, vector, length)."""
    meta = doc.meta
    version = meta.get("version")
    return (
        doc.id,
        str(meta["article_id"]),
        int(version) if version is not None else None,
        str(meta.get("audience") or "internal"),
        meta.get("type"),
        str(meta.get("lang") or "").lower(),
        base_language(meta.get("lang")),
        sorted({_norm_tag(str(t)) for t in meta.get("tags") or []}),
        _iso(meta.get("effective_from")),
        _iso(meta.get("effective_to")),
        vector,
        length,
    )


def update_from_snapshot(snapshot: IndexSnapshot) -> IndexUpdate:
    """A full ``IndexUpdate`` serving exactly what a local snapshot serves (its stored
    vectors and sentence vectors; nothing is embedded again): moves a local index into
    the PostgreSQL store."""
    vectors = snapshot.vector_matrix()
    sentences = snapshot.sentence_vectors()
    per_row: dict[int, list[np.ndarray]] = {}
    if len(sentences):
        matrix = sentences.index.vectors()
        for i, row in enumerate(sentences.rows.tolist()):
            per_row.setdefault(int(row), []).append(matrix[i])
    chunks = []
    for row, doc in enumerate(snapshot.documents()):
        meta = dict(doc.meta)
        if row in per_row:
            meta[SENTENCE_META] = np.stack(per_row[row]).tolist()
        chunks.append(
            Document(id=doc.id, content=doc.content, meta=meta, embedding=vectors[row].tolist())
        )
    return IndexUpdate(
        chunks=chunks,
        model_id=str(snapshot.manifest["model_id"]),
        dim=int(snapshot.manifest["dim"]),
        full=True,
    )
