"""Conversion: article versions and article files in, one Haystack Document per version out.

The first stage of the indexing pipeline. Every Document carries the article's body as
``content`` (for an FAQ article, the answer) and in ``meta`` what later stages and
retrieval need: ``article_id``, ``version``, ``title``, ``type``, ``lang``, ``audience``,
``tags``, ``owner``, ``effective_from`` / ``effective_to`` / ``review_due`` (ISO dates or
None), ``question`` and ``similar_questions``. The chunker reads ``type``, ``question``
and ``similar_questions`` to keep an FAQ article one unit; retrieval filters on
``audience`` and the effective dates.

- ``ArticleConverter`` takes stored versions as plain data (never ORM rows), so the
  pipeline runs without a database session: ``(ArticleContent, version)`` pairs, bare
  ``ArticleContent`` (version 1) or dicts with the ``ArticleContent`` fields plus ``id``
  (or ``article_id``) and ``version``.
- ``FileConverter`` takes files or directories in the formats ``kb import`` reads
  (Markdown with front matter, FAQ files, .txt, .html, .docx, .pdf; see
  ``kb.formats.importer.parse_file``) and indexes them as they are, without a database
  (benchmarks, hit tests). Plain documents are *not* cleaned here: the pipeline's
  cleaner does that, as it does for stored articles.
"""

from __future__ import annotations

import time
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any

from haystack import Document, component
from haystack.core.serialization import default_from_dict, default_to_dict

from kb.errors import InvalidInput
from kb.formats.importer import collect_files, parse_file
from kb.formats.limits import DEFAULT_MAX_CHARS
from kb.model import ArticleContent, ArticleType, Audience
from kb.progress import progress_mode, stage_done

#: What ``ArticleConverter`` accepts for one article version.
ArticleItem = ArticleContent | tuple[ArticleContent, int] | dict[str, Any]

_CONTENT_FIELDS = frozenset(f.name for f in fields(ArticleContent))
_DATE_FIELDS = ("effective_from", "effective_to", "review_due")


def article_document(content: ArticleContent, version: int, **extra: Any) -> Document:
    """The Document of one article version: body as content, metadata in meta.

    ``extra`` is added to meta (for example ``source`` for a file). The id is
    ``"<article_id>@v<version>"``; chunks get content-hash ids of their own.
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise InvalidInput(f"article {content.id}: version must be an integer >= 0: {version!r}")
    meta: dict[str, Any] = {"article_id": content.id, "version": version}
    meta.update(content.metadata())  # title, type, lang, audience, tags, owner, dates, FAQ
    meta.update(extra)
    return Document(id=f"{content.id}@v{version}", content=content.body, meta=meta)


def _date(value: Any, name: str, article_id: str) -> date | None:
    """A date from a date, an ISO string or None."""
    if value is None or value == "" or isinstance(value, date):
        return value or None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"article {article_id}: {name} is not an ISO date: {value!r}") from None


def content_from_dict(data: dict[str, Any]) -> tuple[ArticleContent, int]:
    """An ``(ArticleContent, version)`` pair from a plain dict (JSON-like values allowed)."""
    values = dict(data)
    article_id = values.pop("article_id", None) or values.get("id")
    if not article_id:
        raise InvalidInput("an article dict needs 'id' (or 'article_id')")
    values["id"] = str(article_id)
    version = values.pop("version", 1)
    unknown = sorted(set(values) - _CONTENT_FIELDS)
    if unknown:
        raise InvalidInput(f"article {article_id}: unknown field(s) {', '.join(unknown)}")
    try:
        values["type"] = ArticleType(values.get("type", ArticleType.POLICY))
        values["audience"] = Audience(values.get("audience", Audience.PUBLIC))
    except ValueError as exc:
        raise InvalidInput(f"article {article_id}: {exc}") from None
    for name in _DATE_FIELDS:
        values[name] = _date(values.get(name), name, str(article_id))
    values["tags"] = list(values.get("tags") or [])
    values["similar_questions"] = list(values.get("similar_questions") or [])
    values.setdefault("title", "")
    values.setdefault("body", "")
    return ArticleContent(**values).validate(), version


def _as_pair(item: ArticleItem) -> tuple[ArticleContent, int]:
    """Normalise one accepted input form to ``(ArticleContent, version)``."""
    if isinstance(item, ArticleContent):
        return item, 1
    if isinstance(item, dict):
        return content_from_dict(item)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], ArticleContent):
        return item[0], item[1]
    raise InvalidInput(
        f"ArticleConverter takes ArticleContent, (ArticleContent, version) or dicts, "
        f"not {type(item).__name__}"
    )


def item_article_id(item: ArticleItem) -> str:
    """The article id of one ``ArticleConverter`` input (validated as the converter does)."""
    return _as_pair(item)[0].id


@component
class ArticleConverter:
    """Haystack component: stored article versions in, one Document per version out.

    Each article id may appear once per run (one version of an article is served).
    With ``progress``, a ``reading`` line is shown on stderr (``kb.progress``).
    """

    def __init__(self, progress: bool = False) -> None:
        """:param progress: report the stage on stderr when done."""
        self.progress = progress

    @component.output_types(documents=list[Document])
    def run(self, articles: list[ArticleItem]) -> dict[str, list[Document]]:
        """Convert article versions to Documents (see the module docstring for meta).

        :param articles: ``(ArticleContent, version)`` pairs, ``ArticleContent`` or dicts.
        :returns: ``{"documents": [...]}``, in input order.
        """
        started = time.perf_counter()
        documents, seen = [], set()
        for item in articles:
            content, version = _as_pair(item)
            if content.id in seen:
                raise InvalidInput(f"article {content.id} is given twice")
            seen.add(content.id)
            documents.append(article_document(content, version))
        elapsed = time.perf_counter() - started
        stage_done("reading", len(documents), "articles", elapsed, progress_mode(self.progress))
        return {"documents": documents}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the component's init parameters."""
        return default_to_dict(self, progress=self.progress)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArticleConverter:
        """Rebuild the component from ``to_dict`` output."""
        return default_from_dict(cls, data)


@component
class FileConverter:
    """Haystack component: article files (or directories of them) in, Documents out.

    Files are parsed like ``kb import`` parses them; every article gets ``version``
    (default 1) and meta ``source``, the file path. Names starting with ``_`` or
    ``.`` inside a directory are skipped, as on import. Any unreadable file or a
    duplicate article id raises ``InvalidInput`` naming the file.
    """

    def __init__(
        self,
        version: int = 1,
        default_type: str = "policy",
        max_bytes: int = 20_000_000,
        max_chars: int = DEFAULT_MAX_CHARS,
        progress: bool = False,
    ) -> None:
        """:param version: the version number given to every article (0 or more).
        :param default_type: the type of plain documents (.txt, .html, .docx, .pdf, .md
            without front matter): ``policy``, ``regulation`` or ``faq``.
        :param max_bytes: the largest file accepted (the ``import_max_bytes`` setting).
        :param max_chars: the most text per article (the ``import_max_chars`` setting).
        :param progress: report the ``reading`` stage on stderr when done."""
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise InvalidInput(f"FileConverter: version must be an integer >= 0, not {version!r}")
        try:
            ArticleType(default_type)
        except ValueError:
            raise InvalidInput(f"FileConverter: unknown default_type {default_type!r}") from None
        if max_bytes < 1 or max_chars < 1:
            raise InvalidInput("FileConverter: max_bytes and max_chars must be positive")
        self.version = version
        self.default_type = default_type
        self.max_bytes = max_bytes
        self.max_chars = max_chars
        self.progress = progress

    @component.output_types(documents=list[Document])
    def run(self, sources: list[str | Path]) -> dict[str, list[Document]]:
        """Parse the files (directories are walked) into one Document per article.

        :param sources: file and directory paths.
        :returns: ``{"documents": [...]}``, files in sorted order within each directory.
        """
        started = time.perf_counter()
        documents: list[Document] = []
        seen: dict[str, str] = {}
        for root, path in collect_files(Path(s) for s in sources):
            source = path.relative_to(root).as_posix()
            try:
                articles = parse_file(
                    path,
                    source=source,
                    max_bytes=self.max_bytes,
                    max_chars=self.max_chars,
                    default_type=ArticleType(self.default_type),
                )
            except OSError as exc:
                raise InvalidInput(f"{path}: cannot read ({exc.strerror or exc})") from None
            for article in articles:
                if article.id in seen:
                    raise InvalidInput(
                        f"{path}: duplicate id '{article.id}' (also in {seen[article.id]})"
                    )
                seen[article.id] = str(path)
                documents.append(article_document(article, self.version, source=str(path)))
        elapsed = time.perf_counter() - started
        stage_done("reading", len(documents), "articles", elapsed, progress_mode(self.progress))
        return {"documents": documents}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(
            self,
            version=self.version,
            default_type=self.default_type,
            max_bytes=self.max_bytes,
            max_chars=self.max_chars,
            progress=self.progress,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileConverter:
        """Rebuild the component from ``to_dict`` output."""
        return default_from_dict(cls, data)
