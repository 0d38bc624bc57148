"""What one process loads once for searching: embedding backends, BM25 tokenizers, local
index readers and FAQ question indexes.

The process's ``kb.runtime.Runtime`` owns one ``SearchResources`` (``runtime.resources``)
and every searcher, pipeline, index writer and checker it builds takes its parts from it,
so no model, tokenizer or index version is loaded twice in one process. Nothing here is
module-level state: a test (or a tool) that wants isolation makes its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kb.embedders.base import BackendPool
from kb.search.bm25 import TokenizerPool
from kb.search.faq import QuestionIndexCache
from kb.search.snapshot import ReaderPool


@dataclass
class SearchResources:
    """The pools of one process (see the module docstring)."""

    backends: BackendPool = field(default_factory=BackendPool)
    tokenizers: TokenizerPool = field(default_factory=TokenizerPool)
    question_indexes: QuestionIndexCache = field(default_factory=QuestionIndexCache)
    readers: ReaderPool = field(init=False)

    def __post_init__(self) -> None:
        """The readers tokenise with this bundle's tokenizers."""
        self.readers = ReaderPool(self.tokenizers)
