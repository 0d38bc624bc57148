"""Published articles that give no chunk: why, and the record of them beside the index.

The invariant ``kb ingest`` keeps: after any index update, every published article
either has at least one chunk in the live index at its published version, or is
listed here with that version and the reason, so ``kb ingest`` and ``kb index status``
report it instead of leaving a silent gap (or calling it out of date forever).

An FAQ article always gives one chunk (its questions, even without answer text); any
other article gives none when its body is empty or whitespace, is only boilerplate the
cleaner removes, or is only headings or markup (``---``, an empty table) with no text.

The record is ``<index_dir>/unindexable.json``, ``{"articles": {id: {"version": n,
"reason": "..."}}}``, written atomically by the index updater under the sync lock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from haystack import Document

RECORD_FILE = "unindexable.json"
NO_TEXT = "the body has no text"
ONLY_BOILERPLATE = "the body is only site boilerplate that cleaning removes"
ONLY_MARKUP = "the body has only headings or markup, no text"
#: Found by the check after writing, not by the chunker: a bug, logged as an error.
MISSING = "no chunk reached the index (unexpected: see the log)"


@dataclass(frozen=True)
class Unindexable:
    """One published article version that has no chunk, and why."""

    article_id: str
    version: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def _reason(original: Document, cleaned: Document) -> str:
    """Why a converted article version gave no chunk."""
    if not (original.content or "").strip():
        return NO_TEXT
    if not (cleaned.content or "").strip():
        return ONLY_BOILERPLATE
    return ONLY_MARKUP


def find_unindexable(
    converted: list[Document], cleaned: list[Document], chunks: Iterable[Document]
) -> list[Unindexable]:
    """The converted article versions that no chunk came from (stage outputs, in order)."""
    chunked = {d.meta.get("article_id") for d in chunks}
    return [
        Unindexable(str(doc.meta["article_id"]), int(doc.meta["version"]), _reason(doc, clean))
        for doc, clean in zip(converted, cleaned, strict=True)
        if doc.meta.get("article_id") not in chunked
    ]


def read_record(index_dir: Path) -> dict[str, Unindexable]:
    """The recorded unindexable articles by id (none if there is no record)."""
    try:
        data = json.loads((index_dir / RECORD_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {
        article_id: Unindexable(article_id, int(item["version"]), str(item["reason"]))
        for article_id, item in data.get("articles", {}).items()
    }


def write_record(index_dir: Path, entries: Mapping[str, Unindexable]) -> None:
    """Replace the record atomically with ``entries``."""
    data = {
        "articles": {
            article_id: {"version": entry.version, "reason": entry.reason}
            for article_id, entry in sorted(entries.items())
        }
    }
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = index_dir / f".{RECORD_FILE}.tmp"
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, index_dir / RECORD_FILE)


def updated_record(
    before: Mapping[str, Unindexable],
    *,
    touched: Iterable[str],
    found: Iterable[Unindexable],
) -> dict[str, Unindexable]:
    """The record after an update: ``touched`` articles (re-indexed or removed) are
    dropped, then the ones ``found`` unindexable in this update are added."""
    after = dict(before)
    for article_id in touched:
        after.pop(article_id, None)
    after.update((entry.article_id, entry) for entry in found)
    return after
