"""The search index on disk: immutable versions, an atomic pointer, loading for readers.

Layout under the index directory::

    CURRENT                        name of the live version (replaced atomically)
    write.lock                     flock'ed by the one build that may run at a time
    versions/v000042-20261122T120000/
        manifest.json              format, model id, dim, counts, {article_id: version}, timing
        chunks.jsonl.gz            one chunk a line: id, content, meta (no embeddings; gzip -1)
        vectors.faiss              FAISS IndexFlatIP, row i = line i of chunks.jsonl.gz
        sentences.npz              sentence vectors of document chunks and their chunk rows
                                   (``kb.search.sentences``; absent in versions built before it)
        bm25/                      BM25 matrix (bm25s) and the tokens of every chunk
        faq_bm25/                  BM25 of the FAQ questions (``kb.search.faq_questions``;
                                   absent in versions built before it and without FAQs)
    versions/.tmp-<name>/          a build in progress (or one that crashed)
    versions/.trash-<name>/        an old version being deleted

A build writes a complete version under a temporary name, fsyncs it, renames it into
place and only then replaces ``CURRENT`` (temp file + fsync + ``os.replace``). A crash or
SIGKILL at any moment therefore leaves either the previous version or the new one live,
never a partial one; the next build removes the leftovers and keeps the newest
``keep_versions`` versions (never the live one). A loaded snapshot holds everything it
serves in memory, so deleting its directory later does not disturb a reader.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document

from kb.config import Config
from kb.errors import Conflict, InvalidInput, NotReady
from kb.language import base_language
from kb.search.bm25 import BM25Index, ChineseTokenizer, TokenizerPool
from kb.search.catalog import ChunkCatalog
from kb.search.crosslang import common_languages, language_along, language_basis
from kb.search.dense import VectorIndex, as_matrix, language_means
from kb.search.faq_questions import QUESTIONS_BM25_DIR, questions_bm25
from kb.search.faq_questions import matches as questions_match
from kb.search.filters import SearchFilters
from kb.search.preparing import Preparer, ViewPreparers
from kb.search.sentences import (
    SENTENCE_META,
    SENTENCE_VECTORS_FILE,
    SentenceVectors,
    pooled_scores,
    pooled_search,
)

logger = logging.getLogger(__name__)

#: Bumped whenever what a version stores changes meaning (for example another sentence
#: window recipe, ``kb.search.sentences``); a version of another format is refused when loaded
#: and rebuilt whole by the next sync (``kb ingest``), never updated in place.
FORMAT_VERSION = 1
POINTER = "CURRENT"
LOCK_FILE = "write.lock"
VERSIONS_DIR = "versions"
MANIFEST_FILE = "manifest.json"
CHUNKS_FILE = "chunks.jsonl.gz"
VECTORS_FILE = "vectors.faiss"
#: First fetch of a filtered dense search, in multiples of the results wanted (issue 16).
FILTERED_FETCH = 4
BM25_DIR = "bm25"
_TMP = ".tmp-"
_TRASH = ".trash-"
_NAME = re.compile(r"^v(\d{6,})-\d{8}T\d{6}$")

Where = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class WriteResult:
    """What a build did: the live version afterwards and the chunk counts."""

    version: str
    written: int
    removed: int
    created: bool
    #: the new version as loaded, built in memory (None when nothing was written)
    snapshot: IndexSnapshot | None = None


def _json_default(value: Any) -> Any:
    """JSON for the meta values chunks may carry besides plain JSON types."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _write_chunks(path: Path, docs: Sequence[Document]) -> None:
    """Write ``chunks.jsonl.gz``: id, content and meta of every chunk, in row order."""
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for doc in docs:
            rec = {"id": doc.id, "content": doc.content, "meta": doc.meta}
            try:
                line = json.dumps(rec, ensure_ascii=False, default=_json_default)
            except (TypeError, ValueError) as exc:
                raise InvalidInput(
                    f"chunk {doc.id}: meta is not JSON serialisable: {exc}"
                ) from None
            f.write(line + "\n")


#: Meta strings up to this length are held once per loaded version (``_read_chunks``).
SHARED_STRING_CHARS = 200


def _read_chunks(path: Path) -> list[Document]:
    """Read ``chunks.jsonl.gz`` back into Documents (without embeddings).

    Every line's meta keys and short string values (audience, dates, language, type, tags,
    titles ...) are new string objects when JSON is parsed; equal ones are shared instead
    (issue 16: ~115 MB less at 100,000 chunks). Lists stay one per chunk.
    """
    pool: dict[str, str] = {}
    keys: dict[tuple[str, ...], tuple[str, ...]] = {}

    def share(value: Any) -> Any:
        if type(value) is str and len(value) <= SHARED_STRING_CHARS:
            return pool.setdefault(value, value)
        if type(value) is list:
            return [share(v) for v in value]
        return value

    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for record in map(json.loads, f):
            meta: dict[str, Any] = record["meta"]
            names = tuple(meta)
            shared = keys.get(names) or keys.setdefault(names, tuple(map(share, names)))
            meta = dict(zip(shared, map(share, meta.values()), strict=True))
            docs.append(Document(id=record["id"], content=record["content"], meta=meta))
    return docs


def _fsync_path(path: Path) -> None:
    """Flush one file or directory to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flush every file and directory under ``root`` (and ``root`` itself)."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath))


def _search_text(doc: Document) -> str:
    """The text BM25 indexes: the normalised ``search_text``, else the content."""
    return doc.meta.get("search_text") or doc.content or ""


def _both(where: Where | None, filters: SearchFilters | None) -> Where | None:
    """One meta test for a ``where`` callable and ``filters`` (either may be None)."""
    if filters is None:
        return where
    if where is None:
        return filters.matches
    return lambda meta: filters.matches(meta) and where(meta)


class IndexSnapshot(ChunkCatalog):
    """One loaded, read-only index version: chunks, vectors and BM25, all in memory."""

    def __init__(
        self,
        path: Path,
        manifest: dict[str, Any],
        docs: list[Document],
        vectors: VectorIndex,
        bm25: BM25Index,
        sentences: SentenceVectors | None = None,
        questions: BM25Index | None = None,
    ) -> None:
        """Internal: use ``IndexStore.open_snapshot`` or ``IndexSnapshot.load``;
        ``questions``: the BM25 index of the FAQ questions, when the version has one."""
        self.path = path
        self.manifest = manifest
        self.version: str = manifest["version"]
        self._catalog(docs)
        self._vectors = vectors
        self._bm25 = bm25
        self._sentences = sentences or SentenceVectors.empty(vectors.dim)
        self._questions = questions
        self._bm25_rows: np.ndarray | None = None
        self._centroids: dict[str, np.ndarray] | None = None
        self._basis: np.ndarray | None = None
        self._along: np.ndarray | None = None
        if not (len(docs) == len(vectors) == len(bm25) == manifest["chunk_count"]):
            raise NotReady(f"index version {self.version} is inconsistent; rebuild it")
        if len(self._sentences) and self._sentences.rows[-1] >= len(docs):
            raise NotReady(f"index version {self.version} has stray sentence vectors; rebuild it")

    @classmethod
    def load(cls, path: Path, tokenizer: ChineseTokenizer | None = None) -> IndexSnapshot:
        """Load the version stored in directory ``path``."""
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT_VERSION:
            raise NotReady(
                f"index {path.name} has format {manifest.get('format')}, this kb reads format "
                f"{FORMAT_VERSION}: rebuild it with `kb ingest` or `kb reindex --full`"
            )
        docs = _read_chunks(path / CHUNKS_FILE)
        vectors = VectorIndex.load(path / VECTORS_FILE)
        bm25 = BM25Index.load(path / BM25_DIR, tokenizer)
        sentences = SentenceVectors.load(path / SENTENCE_VECTORS_FILE, vectors.dim)
        questions = None
        if (path / QUESTIONS_BM25_DIR).is_dir():
            questions = BM25Index.load(path / QUESTIONS_BM25_DIR, tokenizer)
        return cls(path, manifest, docs, vectors, bm25, sentences, questions)

    @property
    def identity(self) -> str:
        """The directory this version was loaded from (``kb.search.store.SearchView``)."""
        return str(self.path)

    def materialize(self) -> IndexSnapshot:
        """This snapshot itself: it is in memory already."""
        return self

    def articles(self) -> dict[str, int]:
        """``{article_id: version}`` of every article this index serves."""
        return dict(self.manifest["articles"])

    @property
    def bm25_tokenizer(self) -> ChineseTokenizer:
        """The tokenizer BM25 queries of this snapshot go through."""
        return self._bm25.tokenizer

    def stored_questions_bm25(self, tokenizer: ChineseTokenizer) -> BM25Index | None:
        """The BM25 index of the FAQ questions stored with this version, if it is that of
        its questions segmented by ``tokenizer`` (``kb.search.faq_questions``), else None."""
        if questions_match(self._questions, self._docs, tokenizer):
            return self._questions
        return None

    def sentence_vectors(self) -> SentenceVectors:
        """The sentence vectors of this version (read-only)."""
        return self._sentences

    def prepare_search(self) -> None:
        """Build what the first search would otherwise build (the 8-bit copies of large
        vector sets, ``VectorIndex.prepare_scans``): called while a version is loaded or
        adopted, before requests see it."""
        self._vectors.prepare_scans()
        self._sentences.index.prepare_scans()

    def vector_matrix(self) -> np.ndarray:
        """Every chunk's vector, row ``i`` for chunk ``i`` (a copy)."""
        return self._vectors.vectors()

    def language_centroids(self) -> dict[str, np.ndarray]:
        """The mean chunk vector of each article language (``kb.language.base_language``)
        that enough chunks are in (``kb.search.crosslang.common_languages``), computed once."""
        if self._centroids is None:
            langs = [base_language(d.meta.get("lang")) for d in self._docs]
            self._centroids = common_languages(language_means(self._vectors, langs), langs)
        return self._centroids

    def language_basis(self) -> np.ndarray:
        """The language direction(s) of this version's chunks (``kb.search.crosslang``)."""
        if self._basis is None:
            self._basis = language_basis(self.language_centroids(), self._vectors.dim)
        return self._basis

    def language_along(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """These chunks' coordinates along the language basis (``kb.search.crosslang``)."""
        if self._along is None:
            basis, n = self.language_basis(), len(self._vectors)
            blocks = [
                language_along(self._vectors.vectors(np.arange(i, min(i + 4096, n))), basis)
                for i in range(0, n, 4096)
            ]
            self._along = np.concatenate(blocks) if blocks else np.zeros((0, len(basis)))
        return self._along[[self._row[c] for c in chunk_ids]]

    def bm25_scores(
        self,
        query_texts: Sequence[str],
        tokens: Sequence[Sequence[str]] | None = None,
        rows: Sequence[int] | np.ndarray | None = None,
    ) -> np.ndarray:
        """The BM25 score of every chunk for each text (texts x chunks, in row order);
        ``tokens``: the texts tokenised by ``bm25_tokenizer`` already; ``rows``: only these
        chunk rows (texts x rows)."""
        if self._bm25_rows is None:
            self._bm25_rows = np.array([self._row[c] for c in self._bm25.ids], dtype=np.int64)
        if rows is not None:
            of_chunk = np.empty(len(self._docs), dtype=np.int64)
            of_chunk[self._bm25_rows] = np.arange(len(self._bm25_rows))
            return self._bm25.scores_many(query_texts, tokens, of_chunk[np.asarray(rows)])
        scores = self._bm25.scores_many(query_texts, tokens)
        out = np.zeros((len(query_texts), len(self._docs)), dtype=np.float32)
        out[:, self._bm25_rows] = scores
        return out

    def bm25_token_sets(self, chunk_ids: Iterable[str]) -> list[set[str]]:
        """The distinct BM25 tokens of each of these chunks (as stored)."""
        return self._bm25.token_sets(chunk_ids)

    @property
    def bm25_index(self) -> BM25Index:
        """The chunks' BM25 index (read-only)."""
        return self._bm25

    def dense_scores(
        self,
        queries: np.ndarray,
        rows: Sequence[int] | np.ndarray | None = None,
        sentence_weight: float = 0.0,
    ) -> np.ndarray:
        """The dense score ``dense_search`` ranks by, for each query vector and every chunk
        (or chunk ``rows``): queries x chunks, computed exactly, in bulk."""
        chosen = np.arange(len(self._docs)) if rows is None else np.asarray(rows, np.int64)
        return pooled_scores(self._vectors, self._sentences, queries, chosen, sentence_weight)

    def embeddings(self, chunk_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of those chunk ids that are present (lets ingest skip re-embedding)."""
        found = [(cid, self._row[cid]) for cid in chunk_ids if cid in self._row]
        matrix = self._vectors.vectors([row for _, row in found])
        return {cid: matrix[i] for i, (cid, _) in enumerate(found)}

    def dense_search(
        self,
        query_embedding: Sequence[float] | np.ndarray,
        top_k: int,
        where: Where | None = None,
        sentence_weight: float = 0.0,
        *,
        filters: SearchFilters | None = None,
    ) -> list[tuple[Document, float]]:
        """The ``top_k`` chunks nearest the query (cosine), among those whose meta passes ``where``
        and ``filters`` (the data form ``kb.search.store.SearchView`` passes).

        FAISS filters nothing itself, so this fetches ``top_k`` (``FILTERED_FETCH`` x ``top_k``
        under a filter: the audience and date filters drop a few chunks of most first
        fetches, and a second round would redo the whole search), then 4x, 16x ... up to
        every chunk until ``top_k`` pass the filter: a selective filter still gets its
        ``top_k``.
        ``sentence_weight`` > 0 blends each chunk's cosine with its best sentence's
        (``kb.search.sentences``); chunks without sentence vectors keep their own cosine.
        """
        if top_k <= 0 or not self._docs:
            return []
        where = _both(where, filters)
        search: Callable[[Any, int], list[tuple[int, float]]] = self._vectors.search
        if sentence_weight > 0 and len(self._sentences):
            search = self._pooled_search(query_embedding, sentence_weight)
        fetch = top_k if where is None else FILTERED_FETCH * top_k
        while True:
            hits = search(query_embedding, fetch)
            if where is not None:
                hits = [(row, s) for row, s in hits if where(self._docs[row].meta)]
            if len(hits) >= top_k or fetch >= len(self._docs):
                break
            fetch *= 4
        return [(replace(self._docs[row], score=s), s) for row, s in hits[:top_k]]

    def _pooled_search(
        self, query_embedding: Sequence[float] | np.ndarray, weight: float
    ) -> Callable[[Any, int], list[tuple[int, float]]]:
        """A ``search(query, k)`` over chunk scores blended with their best sentence."""
        query = np.asarray(query_embedding, dtype=np.float32).reshape(1, -1)
        query = as_matrix(query, self._vectors.dim)[0]
        return lambda _, k: pooled_search(self._vectors, self._sentences, query, k, weight)

    def lexical_search(
        self, query_text: str, top_k: int, *, filters: SearchFilters | None = None
    ) -> list[tuple[Document, float]]:
        """``bm25_search`` with the filters as data (``kb.search.store.SearchView``)."""
        return self.bm25_search(query_text, top_k, _both(None, filters))

    def bm25_search(
        self, query_text: str, top_k: int, where: Where | None = None
    ) -> list[tuple[Document, float]]:
        """The ``top_k`` best BM25 matches whose meta passes ``where`` (positive scores only)."""
        results: list[tuple[Document, float]] = []
        if top_k <= 0:
            return results
        if where is None:
            hits = self._bm25.search(query_text, top_k)
            return [(replace(d, score=s), s) for d, s in ((self.chunk(c), s) for c, s in hits)]
        for row, score in self._bm25.ranked(query_text):
            doc = self._docs[self._row[self._bm25.ids[row]]]
            if where is None or where(doc.meta):
                results.append((replace(doc, score=score), score))
                if len(results) >= top_k:
                    break
        return results


class IndexStore:
    """The index directory: opens the live version and writes new ones (one writer at a time)."""

    def __init__(
        self,
        index_dir: str | Path,
        keep_versions: int = 3,
        jieba_user_dict: str | Path | None = None,
        lock_timeout: float = 300.0,
        tokenizers: TokenizerPool | None = None,
    ) -> None:
        """Store configuration only; nothing is read or created until used. The BM25
        tokenizer comes from ``tokenizers`` (the process's pool; default: one of its own)."""
        if keep_versions < 1:
            raise InvalidInput("keep_versions must be at least 1")
        self.index_dir = Path(index_dir)
        self.keep_versions = keep_versions
        self.jieba_user_dict = jieba_user_dict
        self.lock_timeout = lock_timeout
        self.tokenizers = tokenizers if tokenizers is not None else TokenizerPool()

    @classmethod
    def from_config(
        cls, config: Config, keep_versions: int = 3, tokenizers: TokenizerPool | None = None
    ) -> IndexStore:
        """The store at ``config.effective_index_dir`` with the configured user dictionary."""
        return cls(
            config.effective_index_dir,
            keep_versions,
            config.jieba_user_dict,
            tokenizers=tokenizers,
        )

    @property
    def versions_dir(self) -> Path:
        """Where the version directories live."""
        return self.index_dir / VERSIONS_DIR

    def tokenizer(self) -> ChineseTokenizer:
        """The BM25 tokenizer of this store (from its ``TokenizerPool``)."""
        return self.tokenizers.get(self.jieba_user_dict)

    def current_version(self) -> str | None:
        """Name of the live version, or None when no index has been built."""
        try:
            name = (self.index_dir / POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name if _NAME.match(name) else None

    def versions(self) -> list[str]:
        """Names of the complete versions on disk, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        return sorted(p.name for p in self.versions_dir.iterdir() if _NAME.match(p.name))

    def open_snapshot(self) -> IndexSnapshot:
        """Load the live version; ``NotReady`` when there is none."""
        for _attempt in range(3):
            name = self.current_version()
            if name is None:
                raise NotReady(f"no search index in {self.index_dir}; build one first")
            try:
                return IndexSnapshot.load(self.versions_dir / name, self.tokenizer())
            except FileNotFoundError:
                if self.current_version() == name:  # not a race with a build: really missing
                    raise NotReady(f"index version {name} is missing or incomplete") from None
        raise NotReady(f"the index in {self.index_dir} keeps changing; try again")

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Hold the directory's write lock (released by the OS if the process dies)."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with (self.index_dir / LOCK_FILE).open("a") as f:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise Conflict(f"another index build holds {f.name}") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def write_version(
        self,
        chunks: Sequence[Document],
        *,
        model_id: str,
        dim: int | None = None,
        remove_article_ids: Iterable[str] = (),
        full: bool = False,
        base: IndexSnapshot | None = None,
    ) -> WriteResult:
        """Build a new version and make it live.

        ``base``: the live version as a reader of this process holds it; used instead of
        loading it from disk when it is still the live one (the pointer is checked under
        the write lock). The result carries the new version's snapshot, which that reader
        can serve without loading it (``IndexReader.adopt``).

        ``full``: the version holds exactly ``chunks``. Otherwise it is the live version minus
        every chunk of ``remove_article_ids`` and of the articles in ``chunks``, plus
        ``chunks``; kept chunks reuse their stored vectors and BM25 tokens. An incremental
        call that changes nothing returns the live version with ``created=False``.
        Chunks need an embedding and ``meta['article_id']``; ``meta['sentence_embeddings']``
        (optional) holds their sentence vectors (``kb.search.sentences``), stored apart.
        """
        started = time.monotonic()
        if dim is None and chunks and chunks[0].embedding is not None:
            dim = len(chunks[0].embedding)
        new_docs, new_vectors, new_sentences = (
            prepare_chunks(chunks, dim or 0) if chunks else ([], None, None)
        )
        with self._write_lock():
            self._clean_leftovers()
            base = None if full else self._open_base(base)
            if base is not None:
                dim = _check_compatible(base, model_id, dim)
            if not dim:
                raise InvalidInput("the embedding dimension is unknown: pass dim")
            if new_vectors is None:
                new_vectors = np.zeros((0, dim), dtype=np.float32)
            new = (new_docs, new_vectors, new_sentences or SentenceVectors.empty(dim))
            remove = set(remove_article_ids) | {d.meta["article_id"] for d in new_docs}
            if base is not None and not new_docs and not remove & set(base.articles()):
                return WriteResult(base.version, 0, 0, False)  # nothing to change
            docs, vectors, sentences, bm25, removed = self._combine(base, remove, *new)
            questions = self._questions(base, docs, new_docs)
            name = self._next_name()
            tmp = self.versions_dir / f"{_TMP}{name}"
            tmp.mkdir(parents=True)
            _write_chunks(tmp / CHUNKS_FILE, docs)
            vector_index = VectorIndex.build(vectors, dim)
            vector_index.save(tmp / VECTORS_FILE)
            sentences.save(tmp / SENTENCE_VECTORS_FILE)
            bm25.save(tmp / BM25_DIR)
            if questions is not None:
                questions.save(tmp / QUESTIONS_BM25_DIR)
            manifest = _manifest(name, model_id, dim, docs, sentences, base, full, bm25, started)
            (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
            _fsync_tree(tmp)
            os.rename(tmp, self.versions_dir / name)
            _fsync_path(self.versions_dir)
            self._set_pointer(name)
            self._apply_retention()
        logger.info(
            "index version %s: %d chunks (+%d -%d)", name, len(docs), len(new_docs), removed
        )
        snapshot = IndexSnapshot(
            self.versions_dir / name, manifest, docs, vector_index, bm25, sentences, questions
        )
        return WriteResult(name, len(new_docs), removed, True, snapshot)

    def _combine(
        self,
        base: IndexSnapshot | None,
        remove: set[str],
        new_docs: list[Document],
        new_vectors: np.ndarray,
        new_sentences: SentenceVectors,
    ) -> tuple[list[Document], np.ndarray, SentenceVectors, BM25Index, int]:
        """The chunks, vectors, sentence vectors and BM25 of the next version; count removed."""
        tokenizer = self.tokenizer()
        if base is None:
            new_tokens = [(d.id, tokenizer.tokenize(_search_text(d))) for d in new_docs]
            bm25 = BM25Index.build(new_tokens, tokenizer)
            return new_docs, new_vectors, new_sentences, bm25, 0
        return combine(base, remove, new_docs, new_vectors, new_sentences, tokenizer)

    def _questions(
        self, base: IndexSnapshot | None, docs: list[Document], new_docs: list[Document]
    ) -> BM25Index | None:
        """The FAQ questions' BM25 index of the next version: ``base``'s updated with the
        new chunks' questions when it has one, else built from every question."""
        stored = base.stored_questions_bm25(self.tokenizer()) if base is not None else None
        return questions_bm25(docs, self.tokenizer(), stored, new_docs)

    def _open_base(self, held: IndexSnapshot | None = None) -> IndexSnapshot | None:
        """The live version to build on (``held`` if it is that version, as loaded from this
        store), or None when there is none yet."""
        name = self.current_version()
        if name is None:
            return None
        if (
            held is not None
            and held.version == name
            and not held.manifest.get("overlay")
            and held.path == self.versions_dir / name
            and held.bm25_tokenizer.signature == self.tokenizer().signature
        ):
            return held
        return self.open_snapshot()

    def _next_name(self) -> str:
        """A new version name that sorts after every existing one."""
        numbers = [int(m.group(1)) for n in self.versions() if (m := _NAME.match(n))]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        return f"v{max(numbers, default=0) + 1:06d}-{stamp}"

    def _set_pointer(self, name: str) -> None:
        """Atomically make ``name`` the live version."""
        tmp = self.index_dir / f"{POINTER}{_TMP}{os.getpid()}"
        with tmp.open("w", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.index_dir / POINTER)
        _fsync_path(self.index_dir)

    def _clean_leftovers(self) -> None:
        """Remove what crashed builds left: temp version dirs, trash, temp pointer files."""
        for path in self.index_dir.glob(f"{POINTER}{_TMP}*"):
            path.unlink(missing_ok=True)
        if self.versions_dir.is_dir():
            for path in self.versions_dir.iterdir():
                if path.name.startswith((_TMP, _TRASH)):
                    logger.info("removing leftover %s", path)
                    shutil.rmtree(path, ignore_errors=True)

    def _apply_retention(self) -> None:
        """Delete all but the newest ``keep_versions`` versions, never the live one."""
        live = self.current_version()
        names = self.versions()
        for name in names[: max(0, len(names) - self.keep_versions)]:
            if name == live:
                continue
            trash = self.versions_dir / f"{_TRASH}{name}"
            os.rename(self.versions_dir / name, trash)
            shutil.rmtree(trash, ignore_errors=True)


def combine(
    base: IndexSnapshot,
    remove: set[str],
    new_docs: list[Document],
    new_vectors: np.ndarray,
    new_sentences: SentenceVectors,
    tokenizer: ChineseTokenizer,
) -> tuple[list[Document], np.ndarray, SentenceVectors, BM25Index, int]:
    """``base`` minus every chunk of the ``remove`` articles, plus ``new_docs``.

    Returns the chunks, their vectors, their sentence vectors, the BM25 index and how
    many chunks were removed. Kept chunks reuse their stored vectors, sentence vectors
    and BM25 tokens; only the new ones are segmented. Used to write a new version and
    to build an in-memory overlay (``kb.search.overlay``).
    """
    new_tokens = [(d.id, tokenizer.tokenize(_search_text(d))) for d in new_docs]
    keep = [i for i, d in enumerate(base._docs) if d.meta.get("article_id") not in remove]
    sentences = base._sentences.kept(keep).appended(new_sentences, len(keep))
    docs = [base._docs[i] for i in keep] + new_docs
    ids = [d.id for d in docs]
    if len(set(ids)) != len(ids):
        raise InvalidInput("a new chunk has the id of a chunk of another article")
    vectors = np.concatenate([base._vectors.vectors(keep), new_vectors])
    kept = set(keep)
    gone = {d.id for i, d in enumerate(base._docs) if i not in kept}
    if base._bm25.signature == tokenizer.signature:
        bm25 = base._bm25.updated(gone, new_tokens)
    else:  # the user dictionary changed: stored tokens are stale, re-segment everything
        logger.info("BM25 tokenizer changed since %s; re-segmenting all chunks", base.version)
        pairs = [(d.id, tokenizer.tokenize(_search_text(d))) for d in docs]
        bm25 = BM25Index.build(pairs, tokenizer)
    return docs, vectors, sentences, bm25, len(base) - len(keep)


def prepare_chunks(
    chunks: Sequence[Document], dim: int
) -> tuple[list[Document], np.ndarray, SentenceVectors]:
    """Validate chunks; return them without embeddings, their vectors, their sentence vectors."""
    seen: set[str] = set()
    versions: dict[str, Any] = {}
    for doc in chunks:
        if doc.embedding is None:
            raise InvalidInput(f"chunk {doc.id} has no embedding; run the embedder first")
        article_id = doc.meta.get("article_id")
        if not isinstance(article_id, str) or not article_id:
            raise InvalidInput(f"chunk {doc.id} has no meta['article_id']")
        if doc.id in seen:
            raise InvalidInput(f"chunk id {doc.id} appears twice")
        seen.add(doc.id)
        if versions.setdefault(article_id, doc.meta.get("version")) != doc.meta.get("version"):
            raise InvalidInput(f"chunks of article {article_id} come from two versions")
    matrix = as_matrix([d.embedding for d in chunks], dim)
    dim = matrix.shape[1]
    per_chunk = [_sentence_matrix(d, dim) for d in chunks]
    docs = [
        Document(
            id=d.id, content=d.content, meta={k: v for k, v in d.meta.items() if k != SENTENCE_META}
        )
        for d in chunks
    ]
    return docs, matrix, SentenceVectors.from_chunks(per_chunk, dim)


def _sentence_matrix(doc: Document, dim: int) -> np.ndarray | None:
    """The chunk's sentence vectors from ``meta['sentence_embeddings']`` (None: none)."""
    value = doc.meta.get(SENTENCE_META)
    if not value:
        return None
    try:
        return as_matrix(value, dim)
    except InvalidInput as exc:
        raise InvalidInput(f"chunk {doc.id}: {SENTENCE_META}: {exc}") from None


def _check_compatible(base: IndexSnapshot, model_id: str, dim: int | None) -> int:
    """The live version's dim, after checking the new chunks' model and dim match it."""
    base_dim = int(base.manifest["dim"])
    if base.manifest["model_id"] != model_id or (dim and dim != base_dim):
        raise Conflict(
            f"the live index uses {base.manifest['model_id']} ({base_dim}-d), not {model_id} "
            f"({dim}-d): rebuild the whole index"
        )
    return base_dim


def _manifest(
    name: str,
    model_id: str,
    dim: int,
    docs: Sequence[Document],
    sentences: SentenceVectors,
    base: IndexSnapshot | None,
    full: bool,
    bm25: BM25Index,
    started: float,
) -> dict[str, Any]:
    """The manifest of a new version."""
    articles = {d.meta["article_id"]: d.meta.get("version") for d in docs}
    return {
        "format": FORMAT_VERSION,
        "version": name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.monotonic() - started, 3),
        "model_id": model_id,
        "dim": dim,
        "chunk_count": len(docs),
        "sentence_count": len(sentences),
        "article_count": len(articles),
        "articles": dict(sorted(articles.items())),
        "base_version": base.version if base is not None else None,
        "full": full or base is None,
        "tokenizer": bm25.signature,
    }


class IndexReader:
    """The live snapshot for a long-running reader (API, Streamlit), reloaded when it changes.

    ``snapshot()`` checks the pointer at most every ``check_interval_ms``; a new version is
    loaded by one thread while the others keep serving the old snapshot, then the reference
    is swapped. A request keeps the snapshot it got for its whole life.
    """

    def __init__(
        self,
        index_dir: str | Path,
        check_interval_ms: int = 1000,
        jieba_user_dict: str | Path | None = None,
        tokenizers: TokenizerPool | None = None,
    ) -> None:
        """Store configuration only; the index is loaded on the first ``snapshot()``; its
        tokenizer comes from ``tokenizers`` (the process's pool; default: one of its own)."""
        self.store = IndexStore(index_dir, jieba_user_dict=jieba_user_dict, tokenizers=tokenizers)
        self.check_interval = check_interval_ms / 1000
        self._snapshot: IndexSnapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._preparers = ViewPreparers()

    @classmethod
    def from_config(
        cls, config: Config, check_interval_ms: int = 1000, tokenizers: TokenizerPool | None = None
    ) -> IndexReader:
        """A reader of ``config.effective_index_dir`` that tokenises queries as the index does."""
        return cls(
            config.effective_index_dir, check_interval_ms, config.jieba_user_dict, tokenizers
        )

    def snapshot(self) -> IndexSnapshot:
        """The current snapshot; ``NotReady`` while no index exists."""
        if self._snapshot is None or time.monotonic() - self._checked_at >= self.check_interval:
            self.refresh()
        snapshot = self._snapshot
        if snapshot is None:
            raise NotReady(f"no search index in {self.store.index_dir}; build one first")
        return snapshot

    def held(self) -> IndexSnapshot | None:
        """The snapshot this reader serves now (None before the first load); no reload."""
        return self._snapshot

    def on_new_view(self, preparer: Preparer) -> None:
        """Run ``preparer(snapshot)`` on each newly loaded version before it is served
        (held weakly; ``kb.search.preparing``)."""
        self._preparers.add(preparer)

    def adopt(self, snapshot: IndexSnapshot) -> bool:
        """Serve ``snapshot`` (a version this process just wrote, built in memory) if it
        is the live version, instead of loading it from disk; True when swapped in."""
        with self._lock:
            if self.store.current_version() != snapshot.version:
                return False
            if snapshot.path != self.store.versions_dir / snapshot.version:
                return False
            snapshot.prepare_search()
            self._snapshot = snapshot
            self._checked_at = time.monotonic()
            return True

    def refresh(self) -> bool:
        """Load the live version if it changed; True when a new snapshot was swapped in."""
        if not self._lock.acquire(blocking=self._snapshot is None):
            return False  # another thread is loading; keep serving the old snapshot
        try:
            self._checked_at = time.monotonic()
            name = self.store.current_version()
            if name is None or (self._snapshot and self._snapshot.version == name):
                return False
            try:
                snapshot = self.store.open_snapshot()
            except (NotReady, OSError, ValueError) as exc:
                if self._snapshot is None:
                    raise
                logger.warning("keeping index %s: %s", self._snapshot.version, exc)
                return False
            snapshot.prepare_search()
            self._preparers.run(snapshot)
            self._snapshot = snapshot
            return True
        finally:
            self._lock.release()
