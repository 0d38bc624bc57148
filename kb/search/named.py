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

A question that asks what the law says without naming it (法律依据是哪条, what does the
law say, the legal return period: ``LEGAL_QUESTION``) gets the first
``regulation`` article among the first ``LEGAL_DEPTH`` candidate articles first, when the
top one is not a regulation.

Only candidates that retrieval found are moved; a name alone never brings an article in,
and a question naming nothing is not touched. Measured in docs/benchmarks.md, "assist3
(issue 11)".
"""

from __future__ import annotations

import re
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

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
#: How many candidate articles a regulation may rank behind to be put first.
LEGAL_DEPTH = 5
REGULATION = "regulation"


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


def regulation_asked_for(question: str, docs: list[Document]) -> str | None:
    """When ``question`` asks what the law says and the top candidate is no regulation:
    the first regulation among the first ``LEGAL_DEPTH`` candidate articles."""
    if not docs or not LEGAL_QUESTION.search(to_simplified(question or "").lower()):
        return None
    if docs[0].meta.get("type") == REGULATION:
        return None
    articles: list[str] = []
    for doc in docs:
        article = str(doc.meta.get("article_id"))
        if article not in articles:
            articles.append(article)
        if len(articles) > LEGAL_DEPTH:
            return None
        if doc.meta.get("type") == REGULATION:
            return article
    return None


@component
class NamedSourcePreference:
    """Moves the chunks of the article the question names, or of the regulation it asks
    for, first (see the module)."""

    @component.output_types(documents=Ranked)
    def run(self, documents: Ranked, query: str = "") -> dict[str, Ranked]:
        """The chunks, those of the named article (if any) in front, otherwise unchanged."""
        docs = list(documents)
        article = named_article(query, docs) or regulation_asked_for(query, docs)
        if article is None or docs[0].meta.get("article_id") == article:
            return {"documents": documents}
        first = [d for d in docs if d.meta.get("article_id") == article]
        rest = [d for d in docs if d.meta.get("article_id") != article]
        return {"documents": Ranked(first + rest)}

    def to_dict(self) -> dict[str, Any]:
        """Serialise (no parameters)."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NamedSourcePreference:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)
