"""What a reviewer compares: an article's fields one by one, and its body as a diff.

``compare_fields`` lists every field of two versions (or of a new article, with nothing
before it) with its value on each side and whether it changed; lists (tags, similar
questions) stay lists and dates stay dates, so a front end labels and formats them
in its own language instead of showing front matter. ``body_diff`` compares the body
(an FAQ's answer) alone, with ``review.diff``'s character-level blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.model import ArticleContent, ArticleType
from kb.store.tables import AuditEvent
from review.diff import Block, diff_texts
from review.permissions import Action, authorize

#: The fields a reviewer checks, in the order they are shown (the body comes after).
FIELDS = (
    "title",
    "type",
    "audience",
    "lang",
    "translation_of",
    "owner",
    "tags",
    "effective_from",
    "effective_to",
    "review_due",
    "question",
    "similar_questions",
)
FAQ_ONLY = ("question", "similar_questions")

FieldValue = str | list[str] | date | None


@dataclass(frozen=True)
class FieldChange:
    """One field on both sides: ``old`` is None for a new article's every field."""

    name: str
    old: FieldValue
    new: FieldValue
    changed: bool


def _value(content: ArticleContent, name: str) -> FieldValue:
    value: Any = getattr(content, name)
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, date) or value is None:
        return value
    return str(value)


def compare_fields(old: ArticleContent | None, new: ArticleContent) -> list[FieldChange]:
    """Every reviewable field of ``new`` beside ``old``'s; FAQ fields only where one is an FAQ."""
    is_faq = new.type == ArticleType.FAQ or (old is not None and old.type == ArticleType.FAQ)
    changes = []
    for name in FIELDS:
        if name in FAQ_ONLY and not is_faq:
            continue
        after = _value(new, name)
        before = _value(old, name) if old is not None else None
        changed = old is None or before != after
        changes.append(FieldChange(name, before, after, changed))
    return changes


def body_diff(old: ArticleContent, new: ArticleContent) -> list[Block]:
    """The difference between the two bodies (no front matter)."""
    return diff_texts(old.body, new.body)


@dataclass(frozen=True)
class Approval:
    """Who approved a version, when, and what they said."""

    actor: str
    ts: Any
    comment: str


def approvals(session: Session, actor: str, article_id: str, version: int) -> list[Approval]:
    """The approvals of one version, from the audit log (who and when), oldest first."""
    authorize(session, actor, Action.VIEW_DRAFTS, article_id=article_id)
    rows = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.article_id == article_id,
            AuditEvent.version == version,
            AuditEvent.action == str(Action.APPROVE),
            AuditEvent.outcome == "ok",
        )
        .order_by(AuditEvent.seq)
    )
    return [Approval(r.actor, r.ts, r.comment or "") for r in rows]
