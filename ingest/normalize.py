"""Normalisation: the text BM25 and the embedder index, beside the text people read.

``TextNormalizer`` leaves ``content`` exactly as it is (display and citations quote it)
and writes ``meta["search_text"]``: ``kb.text.normalize_for_matching`` of the content
(NFKC, pinyin annotations removed, Traditional -> Simplified, lower case, whitespace
collapsed). Queries go through the same function, ``normalize_query``, so a Simplified
question matches a Traditional article.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import replace

from haystack import Document, component
from haystack.core.serialization import default_from_dict, default_to_dict

from kb.errors import ConfigError
from kb.text import normalize_for_matching

#: The meta key the normalised text is written to.
SEARCH_TEXT = "search_text"

#: Queries are normalised exactly like indexed text.
normalize_query = normalize_for_matching


@component
class TextNormalizer:
    """Haystack component: set ``meta["search_text"]`` to the matching form of each document.

    ``content``, ``id`` and every other meta key are kept. By default the search text
    is built from ``content``. ``text_field`` names a meta key to build it from instead
    when a document has it (for example the chunker's ``faq_text``: question, similar
    questions and answer); ``prefix_fields`` names meta keys (for example ``title``,
    ``section``) whose values are put before that text, one per line, so short chunks
    match on their heading too.
    """

    def __init__(self, text_field: str | None = None, prefix_fields: list[str] | None = None):
        """:param text_field: meta key to take the text from when present (default: content).
        :param prefix_fields: meta keys whose string values are put before the text."""
        if text_field is not None and not text_field:
            raise ConfigError("TextNormalizer: text_field must be a meta key or None")
        self.text_field = text_field
        self.prefix_fields = list(prefix_fields or [])

    def search_text(self, doc: Document) -> str:
        """The normalised text indexed for ``doc``."""
        text = doc.content or ""
        if self.text_field and isinstance(doc.meta.get(self.text_field), str):
            text = doc.meta[self.text_field]
        prefixes = [doc.meta.get(key) for key in self.prefix_fields]
        parts = [p for p in prefixes if isinstance(p, str) and p.strip()]
        return normalize_for_matching("\n".join([*parts, text]))

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """Add ``meta["search_text"]`` to every document.

        :param documents: documents (typically chunks) to normalise.
        :returns: ``{"documents": [...]}``: new Documents with the same id and content.
        """
        out = []
        for doc in documents:
            meta = deepcopy(doc.meta)
            meta[SEARCH_TEXT] = self.search_text(doc)
            out.append(replace(doc, id=doc.id, meta=meta))
        return {"documents": out}

    def to_dict(self) -> dict:
        """Serialise the component's configuration."""
        return default_to_dict(self, text_field=self.text_field, prefix_fields=self.prefix_fields)

    @classmethod
    def from_dict(cls, data: dict) -> TextNormalizer:
        """Build the component from ``to_dict`` output."""
        return default_from_dict(cls, data)
