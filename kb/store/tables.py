"""The SQLAlchemy tables of kb. Schema changes go through Alembic (kb/store/migrations).

Versions are immutable once submitted: only a ``draft`` row may change content,
and every change is guarded by its ``revision`` counter (optimistic locking).
The lifecycle rules that move ``state`` live in ``review``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of every kb table."""

    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[str]: JSON}


class Article(Base):
    """An article: stable id and type; its content lives in its versions.

    Ids are unique ignoring case (``Dup-1`` and ``dup-1`` would be one article to a
    person, a URL or a case-insensitive file system): ``uq_articles_id_lower``. Case
    twins that existed before migration 0003 are left out of that index (see there).
    """

    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    published_version: Mapped[int | None] = mapped_column(Integer, nullable=True)

    versions: Mapped[list[ArticleVersion]] = relationship(
        back_populates="article", order_by="ArticleVersion.version", cascade="all, delete-orphan"
    )


Index("uq_articles_id_lower", func.lower(Article.id), unique=True)


class ArticleVersion(Base):
    """One version of an article: its full content, metadata, state and hash."""

    __tablename__ = "article_versions"
    __table_args__ = (
        UniqueConstraint("article_id", "version", name="uq_article_version"),
        Index("ix_article_versions_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    question: Mapped[str] = mapped_column(Text, default="")
    similar_questions: Mapped[list[str]] = mapped_column(default=list)
    lang: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(default=list)
    audience: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(128), default="")
    effective_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    effective_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    review_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The article this version translates ("": none; kb.store.translations checks it exists).
    translation_of: Mapped[str] = mapped_column(String(128), default="", server_default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text, default="")
    based_on: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The authors of this version's content for the four-eyes rule: who saved it, plus the
    # authors of the unreviewed version it was based on (kb.store.articles.authors_building_on).
    editors: Mapped[list[str]] = mapped_column(default=list)

    article: Mapped[Article] = relationship(back_populates="versions")
    comments: Mapped[list[ReviewComment]] = relationship(
        back_populates="article_version", order_by="ReviewComment.id", cascade="all, delete-orphan"
    )


class ReviewComment(Base):
    """A comment made while reviewing one version, kept with that version."""

    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("article_versions.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16), default="comment")
    body: Mapped[str] = mapped_column(Text)

    article_version: Mapped[ArticleVersion] = relationship(back_populates="comments")


class User(Base):
    """A person who uses kb, with one or more roles."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    roles: Mapped[list[str]] = mapped_column(default=list)
    password_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """A bot's API key. Only a hash is stored; ``prefix`` finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    scopes: Mapped[list[str]] = mapped_column(default=list)
    audience: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CliToken(Base):
    """A person's token for the CLI (``cli_auth: token``). Only a hash is stored;
    ``prefix`` finds the row. A user has at most one token that is not revoked."""

    __tablename__ = "cli_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user: Mapped[User] = relationship()


class AuditEvent(Base):
    """One append-only, hash-chained audit record (see review.audit)."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    article_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The head of the audit hash chain: one row (``id`` 1) holding the last ``seq``
    and ``hash``. Appenders lock it to serialise (no forks); ``verify`` checks that the
    newest event matches it, so deleting the last events is detected too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class IndexEvent(Base):
    """Outbox of changes to the served set, written in the publishing transaction.

    The ingest side consumes them (``processed_at``) to update the index
    incrementally: ``action`` is ``upsert`` (serve this article's published
    version) or ``remove`` (stop serving the article).
    """

    __tablename__ = "index_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(16))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class QueryLog(Base):
    """One search or suggestion served; the question (and the answer, in ``trace``) are
    stored with personal data masked."""

    __tablename__ = "query_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="")
    session_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    requester: Mapped[str] = mapped_column(String(64), default="")
    audience: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    answered: Mapped[bool] = mapped_column(Boolean)
    handoff: Mapped[bool] = mapped_column(Boolean, index=True)
    confidence: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    cited_article_ids: Mapped[list[str]] = mapped_column(default=list)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    # What produced the suggestion (kb.quality.replay.trace_of): index version, article versions
    # and chunks, scores, confidence, threshold, mode, the answer masked. NULL once
    # older than query_trace_days (kb prune) and for rows written before migration 0006.
    trace: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)


class Feedback(Base):
    """An agent's or bot's verdict on one suggestion: one per requester and request
    (a second verdict replaces the first)."""

    __tablename__ = "feedback"
    __table_args__ = (Index("uq_feedback_request_given_by", "request_id", "given_by", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("query_log.request_id"), index=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    correct_article_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    given_by: Mapped[str] = mapped_column(String(64), default="")


class GoldenQuestion(Base):
    """A question with the article(s) that must answer it (``kb golden``; ``kb.quality.golden``).

    Kept by editors (``source`` ``manual``) or accepted from an agent's "wrong answer, the
    right article is X" feedback (``feedback``, ``feedback_id``). Removing one clears
    ``active``; the row stays for the record. Every published FAQ's own questions are
    golden questions too, derived when a check runs, never stored here.
    """

    __tablename__ = "golden_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(Text)
    expected: Mapped[list[str]] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    feedback_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)


class FeedEntry(Base):
    """One change to what agents would say, in the change feed (``review.feed``).

    Written when a version is published or archived (``new``, ``updated``,
    ``archived``) and, on the day it happens, when a published version becomes
    effective or expires (``effective``, ``expired``). ``changes`` holds what changed
    in plain words (``kb.quality.changes``); ``importance`` is ``normal`` or ``must_read``, set
    by the publisher. One entry per article version and kind.
    """

    __tablename__ = "feed_entries"
    __table_args__ = (UniqueConstraint("article_id", "version", "kind", name="uq_feed_entry"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    old_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    article_type: Mapped[str] = mapped_column(String(16))
    audience: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(default=list)
    importance: Mapped[str] = mapped_column(String(16), default="normal")
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    effective_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    effective_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class FeedAck(Base):
    """A user's "已阅读" on one feed entry (one per user and entry)."""

    __tablename__ = "feed_acks"
    __table_args__ = (UniqueConstraint("entry_id", "user_name", name="uq_feed_ack"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("feed_entries.id", ondelete="CASCADE"))
    user_name: Mapped[str] = mapped_column(String(64), index=True)
    acked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PracticeRound(Base):
    """A practice round: customer questions put to one agent (``review.practice``).

    ``audience`` ``public`` draws only from public articles (a customer-facing round);
    ``internal`` may use internal ones too. ``score`` (0-100) is set when every
    question has a reply.
    """

    __tablename__ = "practice_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_name: Mapped[str] = mapped_column(String(64), index=True)
    started_by: Mapped[str] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(default=list)
    types: Mapped[list[str]] = mapped_column(default=list)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)

    items: Mapped[list[PracticeItem]] = relationship(
        back_populates="round", order_by="PracticeItem.position", cascade="all, delete-orphan"
    )


class PracticeItem(Base):
    """One question of a practice round, the agent's reply and its scoring."""

    __tablename__ = "practice_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("practice_rounds.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    article_id: Mapped[str] = mapped_column(String(128))
    article_version: Mapped[int] = mapped_column(Integer)
    topic: Mapped[str] = mapped_column(String(128), default="")
    reply: Mapped[str | None] = mapped_column(Text, nullable=True)
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    facts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    round: Mapped[PracticeRound] = relationship(back_populates="items")


class EditorAutosave(Base):
    """The editor form a user has not saved yet (``review.autosave``): one per user.

    Written by the app as the user types, so a reload, a new tab or a crash keeps the
    work; cleared when the form is saved or discarded. ``form`` holds the raw field values
    (possibly invalid: nothing is validated before a save); ``base`` the version the form
    was loaded from (article id, version, revision, state), NULL for a new article.
    """

    __tablename__ = "editor_autosaves"

    user_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    form: Mapped[dict[str, Any]] = mapped_column(JSON)
    base: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UnansweredAssignment(Base):
    """Who works on an unanswered-question group (``kb.quality.assignments``): one row per
    group id (``kb.quality.unanswered.QuestionGroup.id``), replaced on reassignment, removed when
    unassigned or when the group is resolved or dismissed."""

    __tablename__ = "unanswered_assignments"

    group_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    assignee: Mapped[str] = mapped_column(String(64), index=True)
    assigned_by: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UnansweredMark(Base):
    """An unanswered question dealt with (``kb.quality.unanswered``): ``resolved`` by an article, or
    ``dismissed``. Hand-offs of the same question (``question_key``, normalised) logged up to
    ``ts`` leave the queue; a hand-off after it brings the question back."""

    __tablename__ = "unanswered_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_key: Mapped[str] = mapped_column(Text, index=True)
    status: Mapped[str] = mapped_column(String(16))
    article_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ScheduledPublication(Base):
    """An approved version to publish at ``publish_at`` as ``scheduled_by`` would
    (``review.schedule``). ``status``: ``pending`` until ``kb publish-due`` carries it out
    (``done``) or cannot (``failed``, with ``outcome`` saying why), or ``cancelled``."""

    __tablename__ = "scheduled_publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    publish_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    scheduled_by: Mapped[str] = mapped_column(String(64))
    importance: Mapped[str] = mapped_column(String(16), default="normal")
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RateBucket(Base):
    """One token bucket of the API's rate limits, shared by every API replica
    (``kb.api.ratelimit_db``; used when the database is PostgreSQL). ``name`` is the scope
    and the key or client address; ``updated`` is the database's clock at the last take.
    A row idle for a minute is full again and may be deleted."""

    __tablename__ = "rate_buckets"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
