"""A question that names its source gets it first: a document by its title, or "the law".

Customers and agents name the law or the rules they ask about ("快递暂行条例里没保价的快件怎么
赔", "邮政法对给据邮件赔多少"). The FAQ that answers the everyday form of the question shares
more words with it and has more rankings behind it (its questions are matched twice,
``kb.search.fusion``), so it used to come first and be quoted, while the question asked what
the named document says. When the question contains the *name* of a candidate article (the
text between 《》 in its title, or that name without the 中华人民共和国 prefix of Chinese
statutes, at least ``MIN_NAME_CHARS`` characters, compared in Simplified form), that
article's chunks go first (``NamedSourcePreference``, a pipeline stage after the language
preference).

A question that asks what the law says without naming it in 《》 form (法律依据是哪条,
what does the Postal Law say, the legal return period: ``LEGAL_QUESTION``) gets a
``regulation`` article among the first ``LEGAL_DEPTH`` candidate articles first, when the
top one is not a regulation: the one whose *title* is nearest the question
(``TitleVectors``: the question's vector against each candidate regulation's title, as a
passage, with the pipeline's embedding model). The title says which law an article is
about, in any language the model knows ("Postal Law" against 《中华人民共和国邮政法》), where
the article's text mostly says what the law is about (compensation, lost mail) and matches
the wrong law as well: "What does the Postal Law say about compensation for lost
registered mail?" used to get the English summary of the interim express regulations
first, the first regulation in fused order (docs/benchmarks.md, "precision (issue 11)").
Without an embedding (a pipeline without the embedder) the first regulation goes first.

The chunks of an article moved first because the question names it are marked
(``meta[NAMED]``): the confidence does not hold fusion's lower score against it
(``kb.answer.confidence``). A regulation moved for a question on the law in general is not
marked. Only candidates that retrieval found are moved; a name alone never brings an article in,
and a question naming nothing is not touched. Measured in docs/benchmarks.md, "assist3
(issue 11)".
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from haystack import Document, component, default_from_dict, default_to_dict

from kb.embedders import EmbedderSpec
from kb.embedders.base import BackendPool, UsesSharedBackend, create_backend
from kb.search.snapshot import Ranked
from kb.text import to_simplified

#: Shorter names ("法") would match ordinary words.
MIN_NAME_CHARS = 3
_BOOK_TITLE = re.compile(r"《([^《》]+)》")
_STATUTE_PREFIX = "中华人民共和国"
#: Words that ask what the law says (Simplified, lower case). Not 合法吗 / 违法吗: whether
#: a situation is lawful is what an FAQ answers (docs/benchmarks.md, assist3).
LEGAL_QUESTION = re.compile(
    r"法律|法规|条例|法条|依据|哪条|\blaws?\b|\blegal(?:ly)?\b|\bregulations?\b|\bstatut",
    re.I,
)
#: Among how many candidate articles (fused order) a regulation is looked for. 5 while the
#: first regulation went first; 6 since the one with the nearest title does (the dev
#: questions, docs/benchmarks.md "precision (issue 11)": only "What does the Postal Law
#: say…?" changed, its law 6th behind another regulation).
LEGAL_DEPTH = 6
REGULATION = "regulation"
#: Meta key set on the chunks of an article moved first because the question names it.
NAMED = "named_in_question"


def title_names(title: str) -> list[str]:
    """The names a title gives its document: each 《…》 in it, and the same without the
    中华人民共和国 prefix (Simplified, lower case; names shorter than ``MIN_NAME_CHARS`` left
    out)."""
    names: list[str] = []
    for found in _BOOK_TITLE.findall(to_simplified(title or "")):
        name = found.strip().lower()
        names.append(name)
        if name.startswith(_STATUTE_PREFIX):
            names.append(name[len(_STATUTE_PREFIX) :])
    return [n for n in dict.fromkeys(names) if len(n) >= MIN_NAME_CHARS]


def named_article(question: str, docs: list[Document]) -> str | None:
    """The first candidate (fused order) whose title's name the question contains."""
    text = to_simplified(question or "").lower()
    for doc in docs:
        if any(name in text for name in title_names(str(doc.meta.get("title") or ""))):
            return str(doc.meta.get("article_id"))
    return None


#: Cosines of the question with titles (one per title, in order).
TitleSimilarity = Callable[[Sequence[str]], Sequence[float]]


def candidate_regulations(docs: list[Document]) -> dict[str, str]:
    """``{article: title}`` of the regulations among the first ``LEGAL_DEPTH`` candidate
    articles (fused order)."""
    articles: list[str] = []
    found: dict[str, str] = {}
    for doc in docs:
        article = str(doc.meta.get("article_id"))
        if article not in articles:
            articles.append(article)
        if len(articles) > LEGAL_DEPTH:
            break
        if doc.meta.get("type") == REGULATION and article not in found:
            found[article] = str(doc.meta.get("title") or "")
    return found


def regulation_asked_for(
    question: str, docs: list[Document], similarity: TitleSimilarity | None = None
) -> str | None:
    """When ``question`` asks what the law says and the top candidate is no regulation:
    of the regulations among the first ``LEGAL_DEPTH`` candidate articles, the one whose
    title ``similarity`` puts nearest the question (the first on ties, and the first
    without ``similarity``)."""
    if not docs or not LEGAL_QUESTION.search(to_simplified(question or "").lower()):
        return None
    if docs[0].meta.get("type") == REGULATION:
        return None
    found = candidate_regulations(docs)
    if len(found) < 2 or similarity is None:
        return next(iter(found), None)
    scores = list(similarity(list(found.values())))
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return list(found)[best]


def _marked(doc: Document) -> Document:
    """A copy of ``doc`` whose meta says the question names its article (``NAMED``)."""
    return replace(doc, meta={**doc.meta, NAMED: True})


class TitleVectors(UsesSharedBackend):
    """Article titles embedded as passages with one embedding model, each title once (the
    newest ``KEPT`` kept): ``similarity(query vector)`` compares a question with titles."""

    KEPT = 4096

    def __init__(self, spec: EmbedderSpec, backends: BackendPool | None = None) -> None:
        """Embed with the backend of ``spec`` in ``backends`` (default: a pool of its own)."""
        self.spec = spec
        self.backends = backends if backends is not None else BackendPool()
        self._backend = None
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # searches run in several threads

    def vectors(self, titles: Sequence[str]) -> np.ndarray:
        """The titles' vectors (rows in order), embedding those not seen yet."""
        with self._lock:
            known = {t: self._vectors[t] for t in titles if t in self._vectors}
        new = [t for t in dict.fromkeys(titles) if t not in known]
        if new:
            embedded = self._get_backend().embed_passages(new)
            for title, vector in zip(new, embedded, strict=True):
                known[title] = np.asarray(vector, dtype=np.float32)
            with self._lock:
                self._vectors.update((t, known[t]) for t in new)
                while len(self._vectors) > self.KEPT:
                    self._vectors.popitem(last=False)
        return np.stack([known[t] for t in titles])

    def similarity(self, query: np.ndarray) -> TitleSimilarity:
        """A function titles -> their cosines with the (unit) ``query`` vector."""
        vector = np.asarray(query, dtype=np.float32)
        return lambda titles: (self.vectors(titles) @ vector).tolist()


@component
class NamedSourcePreference:
    """Moves the chunks of the article the question names, or of the regulation it asks
    for, first (see the module)."""

    def __init__(
        self,
        spec: EmbedderSpec | dict[str, Any] | None = None,
        backends: BackendPool | None = None,
    ) -> None:
        """Compare titles with the question through the embedding model of ``spec``
        (default: the bundled one; backend from ``backends``, the process's pool); it is
        loaded only when a question on the law has two candidate regulations."""
        self.spec = EmbedderSpec.from_dict(spec)
        create_backend(self.spec)  # validates; loads nothing
        self.titles = TitleVectors(self.spec, backends)

    @component.output_types(documents=Ranked)
    def run(
        self, documents: Ranked, query: str = "", embedding: np.ndarray | None = None
    ) -> dict[str, Ranked]:
        """The chunks, those of the named article (if any) in front, otherwise unchanged;
        ``embedding``: the question's vector (titles are compared with it)."""
        docs = list(documents)
        similarity = None if embedding is None else self.titles.similarity(embedding)
        named = named_article(query, docs)
        article = named or regulation_asked_for(query, docs, similarity)
        if article is None or docs[0].meta.get("article_id") == article:
            return {"documents": documents}
        first = [d for d in docs if d.meta.get("article_id") == article]
        if named:
            first = [_marked(d) for d in first]
        rest = [d for d in docs if d.meta.get("article_id") != article]
        return {"documents": Ranked(first + rest)}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(self, spec=self.spec.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NamedSourcePreference:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)
