"""Translation links between articles: ``translation_of`` names the article a version
translates (an English FAQ beside its Chinese original), so retrieval can answer a question
with the version in the question's language (``kb.search.fusion.LanguagePreference``).

The model checks the link's form (``ArticleContent.validate``); this module checks, before
anything is written, that the linked article exists: in the database, or in the same batch
of articles being stored (an import may bring an original and its translation together).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.errors import InvalidInput
from kb.model import ArticleContent
from kb.store.tables import Article


def _stored_ids(session: Session, wanted: set[str]) -> set[str]:
    """The ids among ``wanted`` (lower case) that name a stored article (lower case)."""
    found: set[str] = set()
    names = sorted(wanted)
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        found.update(
            session.scalars(select(func.lower(Article.id)).where(func.lower(Article.id).in_(chunk)))
        )
    return found


def refuse_missing_translations(
    session: Session, contents: Sequence[ArticleContent], batch: Iterable[str] = ()
) -> None:
    """Raise ``InvalidInput`` naming the first article whose ``translation_of`` is neither a
    stored article nor one of ``contents`` (or ``batch``: more ids stored together); ids
    compare ignoring case, as article ids do."""
    together = {c.id.lower() for c in contents} | {b.lower() for b in batch}
    links = {c.translation_of.lower() for c in contents if c.translation_of}
    known = together | _stored_ids(session, links - together)
    for content in contents:
        if content.translation_of and content.translation_of.lower() not in known:
            raise InvalidInput(
                f"article {content.id}: translation_of {content.translation_of!r} names no "
                "article (import or create that article first, or leave the field empty)"
            )
