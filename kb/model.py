"""The article model: what an article is, independent of storage and file formats.

``ArticleContent`` is the editable content of one article version: everything an
author writes. Storage (``kb.store.articles``) adds ids, version numbers and states;
formats (``kb.formats``) read and write it as files.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from kb.errors import InvalidInput


class ArticleType(StrEnum):
    """The three kinds of knowledge an editor writes."""

    POLICY = "policy"  # 政策: the company's own rules
    REGULATION = "regulation"  # 法规: summaries of laws and regulations
    FAQ = "faq"  # 标准问 + 相似问 + 答案


class Audience(StrEnum):
    """Who may see an article: internal = agents only; public = agents and bots."""

    INTERNAL = "internal"
    PUBLIC = "public"


class State(StrEnum):
    """Lifecycle states of one article version (rules in review.states)."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    ARCHIVED = "archived"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # was published, replaced by a newer published version


# States of versions that were published at some point (their content passed review or
# was published deliberately by an admin's bootstrap import).
EVER_PUBLISHED = frozenset({State.PUBLISHED, State.SUPERSEDED, State.ARCHIVED})


ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LANG_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
#: Longest title, standard question and similar question (a bulk FAQ's title defaults to
#: its question), and most similar questions per FAQ.
MAX_TITLE_CHARS = 1000
MAX_QUESTION_CHARS = 1000
MAX_SIMILAR_QUESTIONS = 1000


def question_key(text: str) -> str:
    """What makes two FAQ questions the same question: the same text in NFKC form, spaces
    aside ("怎么 退款" and "怎么退款", "ＡＢＣ" and "ABC" are one question; a different
    letter case or question mark is left to the editor)."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def distinct_questions(question: str, candidates: list[str]) -> list[str]:
    """Similar questions for ``question`` from ``candidates``: stripped, in order, without
    blanks, the question itself or repeats (``question_key``), at most
    ``MAX_SIMILAR_QUESTIONS`` (e.g. an unanswered group's questions made into an FAQ)."""
    seen = {question_key(question)}
    found: list[str] = []
    for candidate in (c.strip() for c in candidates):
        key = question_key(candidate)
        if candidate and key not in seen and len(found) < MAX_SIMILAR_QUESTIONS:
            seen.add(key)
            found.append(candidate)
    return found


@dataclass
class ArticleContent:
    """The content and metadata of one article version, as an author writes it.

    For FAQ articles ``question`` is the standard question (标准问),
    ``similar_questions`` its paraphrases (相似问) and ``body`` the answer.
    """

    id: str
    type: ArticleType
    title: str
    body: str
    lang: str = "zh"
    tags: list[str] = field(default_factory=list)
    audience: Audience = Audience.PUBLIC
    owner: str = ""
    effective_from: date | None = None
    effective_to: date | None = None
    review_due: date | None = None
    question: str = ""
    similar_questions: list[str] = field(default_factory=list)
    #: The id of the article this one translates (``""``: none); see ``kb.store.translations``.
    translation_of: str = ""

    def validate(self) -> ArticleContent:
        """Check the invariants; raise InvalidInput naming the offending field."""
        if not ID_PATTERN.match(self.id or ""):
            raise InvalidInput(
                f"invalid id {self.id!r}: use letters, digits, '.', '_' or '-' (max 128)"
            )
        if not self.title.strip():
            raise InvalidInput(f"article {self.id}: title is empty")
        if len(self.title) > MAX_TITLE_CHARS:
            raise InvalidInput(
                f"article {self.id}: title is longer than {MAX_TITLE_CHARS} characters"
            )
        if not LANG_PATTERN.match(self.lang or ""):
            raise InvalidInput(f"article {self.id}: invalid lang {self.lang!r} (e.g. zh, en)")
        if self.type == ArticleType.FAQ and not self.question.strip():
            raise InvalidInput(f"article {self.id}: an FAQ article needs a question")
        if self.type != ArticleType.FAQ and self.similar_questions:
            raise InvalidInput(f"article {self.id}: only FAQ articles have similar_questions")
        self._validate_questions()
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise InvalidInput(f"article {self.id}: effective_to is before effective_from")
        self._validate_translation()
        return self

    def _validate_questions(self) -> None:
        """The standard question and the similar questions: bounded, none blank, and no
        question given twice (``question_key``: the same NFKC text, spaces aside)."""
        if len(self.question) > MAX_QUESTION_CHARS:
            raise InvalidInput(
                f"article {self.id}: the question is longer than {MAX_QUESTION_CHARS} characters"
            )
        if len(self.similar_questions) > MAX_SIMILAR_QUESTIONS:
            raise InvalidInput(
                f"article {self.id}: more than {MAX_SIMILAR_QUESTIONS} similar questions"
            )
        seen = {question_key(self.question): self.question} if self.question.strip() else {}
        for similar in self.similar_questions:
            if not similar.strip():
                raise InvalidInput(f"article {self.id}: a similar question is empty")
            if len(similar) > MAX_QUESTION_CHARS:
                raise InvalidInput(
                    f"article {self.id}: similar question '{similar[:40]}' is longer than "
                    f"{MAX_QUESTION_CHARS} characters"
                )
            key = question_key(similar)
            if key in seen:
                raise InvalidInput(
                    f"article {self.id}: similar question '{similar}' repeats '{seen[key]}'"
                )
            seen[key] = similar

    def _validate_translation(self) -> None:
        """``translation_of`` is empty or another article's well-formed id (that the
        article exists is checked where articles are stored: ``kb.store.translations``)."""
        link = self.translation_of
        if not link:
            return
        if not ID_PATTERN.match(link):
            raise InvalidInput(
                f"article {self.id}: invalid translation_of {link!r} (an article id)"
            )
        if link.lower() == self.id.lower():
            raise InvalidInput(f"article {self.id}: translation_of names the article itself")

    @property
    def answer(self) -> str:
        """The answer of an FAQ article (its body)."""
        return self.body

    def metadata(self) -> dict[str, Any]:
        """Everything but id and body, JSON-ready (dates as ISO strings)."""

        def iso(value: date | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "type": str(self.type),
            "title": self.title,
            "lang": self.lang,
            "tags": list(self.tags),
            "audience": str(self.audience),
            "owner": self.owner,
            "effective_from": iso(self.effective_from),
            "effective_to": iso(self.effective_to),
            "review_due": iso(self.review_due),
            "question": self.question,
            "similar_questions": list(self.similar_questions),
            # only when set: the hashes of articles without a link stay what they were
            **({"translation_of": self.translation_of} if self.translation_of else {}),
        }

    def content_hash(self) -> str:
        """SHA-256 over the canonical JSON of content and metadata."""
        canonical = json.dumps(
            {"id": self.id, "body": self.body, **self.metadata()},
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def is_effective(self, on: date) -> bool:
        """True when ``on`` lies within [effective_from, effective_to]."""
        if self.effective_from and on < self.effective_from:
            return False
        return not (self.effective_to and on > self.effective_to)
