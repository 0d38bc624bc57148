"""The change feed: every publication that changes what agents would say, and who read it.

Entries are written by the review workflow in the publishing transaction
(``record_publication``: ``new`` or ``updated``; ``record_archive``: ``archived``),
with the publisher's importance (``normal`` or ``must_read``) and what changed in
plain words (``kb.quality.changes``). An article becoming effective or expiring is a change
too, but nobody acts on that day: ``refresh`` writes those entries (``effective``,
``expired``) once the date is reached. It is idempotent (one entry per article
version and kind) and runs on every read of the feed, so the feed is right without
a scheduler; ``kb feed refresh`` runs it on its own (e.g. from cron).

Any user who may read knowledge sees the feed and acknowledges entries ("已阅读");
unacknowledged must-read entries come first. Supervisors (and admins) see, per
entry, which agents (enabled users with the agent role) have and have not
acknowledged it, and a reminder list per agent. ``audience="public"`` leaves
internal changes out, for anything facing customers or bots; the HTTP API does
not expose the feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.errors import InvalidInput, NotFound
from kb.formats.markdown import render_markdown
from kb.model import EVER_PUBLISHED, Audience, State
from kb.quality.changes import Change, summarize
from kb.store.articles import get_version, to_content, utcnow
from kb.store.tables import ArticleVersion, FeedAck, FeedEntry, User
from review.diff import VersionDiff, diff_texts
from review.permissions import Action, authorize

NORMAL = "normal"
MUST_READ = "must_read"
IMPORTANCE = (NORMAL, MUST_READ)
KINDS = ("new", "updated", "archived", "effective", "expired")
SYSTEM = "kb"  # the author of entries written by refresh


def parse_importance(value: str | None) -> str:
    """``normal`` (default) or ``must_read`` (also ``must-read``); InvalidInput otherwise."""
    chosen = (value or NORMAL).strip().lower().replace("-", "_")
    if chosen not in IMPORTANCE:
        raise InvalidInput(f"unknown importance '{value}' (choose from normal, must_read)")
    return chosen


@dataclass
class FeedItem:
    """One feed entry as a reader sees it, with their acknowledgement."""

    id: int
    article_id: str
    version: int
    old_version: int | None
    kind: str
    title: str
    article_type: str
    audience: str
    tags: list[str]
    importance: str
    changes: list[Change]
    effective_from: date | None
    effective_to: date | None
    created_by: str
    created_at: datetime
    acked_at: datetime | None = None

    @property
    def acked(self) -> bool:
        """True when the reader has acknowledged the entry."""
        return self.acked_at is not None

    @property
    def must_read(self) -> bool:
        """True for a must-read entry."""
        return self.importance == MUST_READ

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "article_id": self.article_id,
            "version": self.version,
            "old_version": self.old_version,
            "kind": self.kind,
            "title": self.title,
            "type": self.article_type,
            "audience": self.audience,
            "tags": list(self.tags),
            "importance": self.importance,
            "changes": [c.to_dict() for c in self.changes],
            "effective_from": _iso(self.effective_from),
            "effective_to": _iso(self.effective_to),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "acked": self.acked,
            "acked_at": _iso(self.acked_at),
        }


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _utc(value: datetime) -> datetime:
    """A stored time as UTC (SQLite gives it back without its zone)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _item(row: FeedEntry, acked_at: datetime | None = None) -> FeedItem:
    return FeedItem(
        id=row.id,
        article_id=row.article_id,
        version=row.version,
        old_version=row.old_version,
        kind=row.kind,
        title=row.title,
        article_type=row.article_type,
        audience=row.audience,
        tags=list(row.tags or []),
        importance=row.importance,
        changes=[Change.from_dict(c) for c in row.changes or []],
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        created_by=row.created_by,
        created_at=_utc(row.created_at),
        acked_at=_utc(acked_at) if acked_at is not None else None,
    )


# --- writing entries (called by review.workflow, in the publishing transaction) ---------


def record_publication(
    session: Session,
    actor: str,
    row: ArticleVersion,
    previous: ArticleVersion | None,
    importance: str = NORMAL,
) -> FeedEntry:
    """The entry for publishing ``row``: ``updated`` against the version agents knew
    (``previous``, else the last one ever published), or ``new``."""
    before = previous or _last_ever_published(session, row)
    changes = summarize(to_content(before) if before is not None else None, to_content(row))
    kind = "updated" if before is not None else "new"
    old = before.version if before is not None else None
    return _add(session, row, kind, actor, parse_importance(importance), changes, old)


def record_archive(
    session: Session, actor: str, row: ArticleVersion, importance: str = NORMAL
) -> FeedEntry:
    """The entry for archiving ``row`` (its content leaves service)."""
    return _add(session, row, "archived", actor, parse_importance(importance), [], None)


def _last_ever_published(session: Session, row: ArticleVersion) -> ArticleVersion | None:
    query = (
        select(ArticleVersion)
        .where(
            ArticleVersion.article_id == row.article_id,
            ArticleVersion.version < row.version,
            ArticleVersion.state.in_([str(s) for s in EVER_PUBLISHED]),
        )
        .order_by(ArticleVersion.version.desc())
    )
    return session.scalars(query).first()


def _add(
    session: Session,
    row: ArticleVersion,
    kind: str,
    actor: str,
    importance: str,
    changes: list[Change],
    old_version: int | None,
) -> FeedEntry:
    entry = FeedEntry(
        article_id=row.article_id,
        version=row.version,
        old_version=old_version,
        kind=kind,
        title=row.title,
        article_type=row.article.type if row.article is not None else "",
        audience=row.audience,
        tags=list(row.tags or []),
        importance=importance,
        changes=[c.to_dict() for c in changes],
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


# --- effective and expiry entries --------------------------------------------------------


def refresh(session: Session, today: date | None = None) -> list[FeedEntry]:
    """Write the ``effective`` and ``expired`` entries due by ``today``; idempotent.

    ``effective``: a published version whose ``effective_from`` has come and was after
    its publication (agents were told in advance; now it applies). ``expired``: a
    published version past its ``effective_to``.
    """
    on = today or date.today()
    dated = _dated_versions(session, on)
    existing = _existing_kinds(session, [row.article_id for row in dated])
    written = []
    for row in dated:
        for kind in _due_kinds(session, row, on, existing):
            entry = _add_once(session, row, kind, existing)
            if entry is not None:
                written.append(entry)
    return written


def refresh_as(session: Session, actor: str, today: date | None = None) -> list[FeedEntry]:
    """``refresh`` on behalf of a user (``kb feed refresh``): anyone who may read
    knowledge; the entries written are the same whoever asks."""
    authorize(session, actor, Action.READ)
    return refresh(session, today)


def _dated_versions(session: Session, on: date) -> list[ArticleVersion]:
    """Published versions that may be due an ``effective`` or ``expired`` entry and have
    none yet: one query, so reading the feed stays cheap in a large knowledge base. (A
    version created on or after its effective date was published after it: no entry.)"""
    version = ArticleVersion

    def missing(kind: str) -> Any:
        return ~exists().where(
            FeedEntry.article_id == version.article_id,
            FeedEntry.version == version.version,
            FeedEntry.kind == kind,
        )

    starts = and_(
        version.effective_from.is_not(None),
        version.effective_from <= on,
        version.effective_from > func.date(version.created_at),
        missing("effective"),
    )
    ends = and_(version.effective_to.is_not(None), version.effective_to < on, missing("expired"))
    query = select(version).where(version.state == str(State.PUBLISHED), or_(starts, ends))
    return list(session.scalars(query.order_by(version.article_id)))


def _existing_kinds(
    session: Session, article_ids: list[str]
) -> dict[tuple[str, int], dict[str, FeedEntry]]:
    found: dict[tuple[str, int], dict[str, FeedEntry]] = {}
    for start in range(0, len(article_ids), 500):
        chunk = article_ids[start : start + 500]
        for entry in session.scalars(select(FeedEntry).where(FeedEntry.article_id.in_(chunk))):
            found.setdefault((entry.article_id, entry.version), {})[entry.kind] = entry
    return found


def _due_kinds(
    session: Session,
    row: ArticleVersion,
    on: date,
    existing: dict[tuple[str, int], dict[str, FeedEntry]],
) -> list[str]:
    have = existing.get((row.article_id, row.version), {})
    due = []
    if row.effective_from is not None and row.effective_from <= on and "effective" not in have:
        published = have.get("updated") or have.get("new")
        since = (published.created_at if published else row.updated_at).date()
        if since < row.effective_from:
            due.append("effective")
    if row.effective_to is not None and row.effective_to < on and "expired" not in have:
        due.append("expired")
    return due


def _add_once(
    session: Session,
    row: ArticleVersion,
    kind: str,
    existing: dict[tuple[str, int], dict[str, FeedEntry]],
) -> FeedEntry | None:
    """Add the entry unless a concurrent refresh did (the unique key decides)."""
    have = existing.setdefault((row.article_id, row.version), {})
    published = have.get("updated") or have.get("new")
    importance = published.importance if published is not None else NORMAL
    changes = []
    if published is not None and kind == "effective":  # what now applies
        changes = [Change.from_dict(c) for c in published.changes]
    try:
        with session.begin_nested():
            entry = _add(session, row, kind, SYSTEM, importance, changes, None)
    except IntegrityError:
        return None
    have[kind] = entry
    return entry


# --- reading and acknowledging -----------------------------------------------------------


def entries(
    session: Session,
    actor: str,
    *,
    unread_only: bool = False,
    audience: str | None = None,
    today: date | None = None,
    limit: int | None = None,
) -> list[FeedItem]:
    """The feed as ``actor`` sees it: unacknowledged must-read entries first, then the
    newest first. ``audience="public"`` leaves internal changes out."""
    user = authorize(session, actor, Action.READ)
    refresh(session, today)
    acked = _acks_of(session, user.name)
    query = select(FeedEntry).order_by(FeedEntry.created_at.desc(), FeedEntry.id.desc())
    if audience == str(Audience.PUBLIC):
        query = query.where(FeedEntry.audience == str(Audience.PUBLIC))
    items = [_item(row, acked.get(row.id)) for row in session.scalars(query)]
    if unread_only:
        items = [i for i in items if not i.acked]
    items.sort(key=lambda i: 0 if (i.must_read and not i.acked) else 1)
    return items[:limit] if limit else items


def _acks_of(session: Session, name: str) -> dict[int, datetime]:
    rows = session.execute(
        select(FeedAck.entry_id, FeedAck.acked_at).where(FeedAck.user_name == name)
    )
    return {entry_id: _utc(at) for entry_id, at in rows}


def get_entry(session: Session, entry_id: int) -> FeedEntry:
    """The feed entry with this id, or NotFound."""
    row = session.get(FeedEntry, entry_id)
    if row is None:
        raise NotFound(f"no feed entry {entry_id} (kb feed lists them)")
    return row


def ack(session: Session, actor: str, entry_id: int) -> FeedItem:
    """Acknowledge an entry as read ("已阅读"); acknowledging again keeps the first time."""
    user = authorize(session, actor, Action.READ)
    row = get_entry(session, entry_id)
    found = session.scalar(
        select(FeedAck).where(FeedAck.entry_id == row.id, FeedAck.user_name == user.name)
    )
    if found is None:
        found = FeedAck(entry_id=row.id, user_name=user.name, acked_at=utcnow())
        session.add(found)
        session.flush()
    return _item(row, found.acked_at)


def entry_diff(session: Session, actor: str, entry_id: int) -> VersionDiff:
    """The diff behind an entry: the version agents knew → this one (a new article
    against nothing, version 0). Both versions were published, so anyone who may read
    knowledge may see it; an archive or expiry shows the version leaving service."""
    authorize(session, actor, Action.READ)
    row = get_entry(session, entry_id)
    version = get_version(session, row.article_id, row.version)
    new = render_markdown(to_content(version))
    if row.old_version is None:
        old_text = "" if row.kind == "new" else new
        return VersionDiff(row.article_id, 0, row.version, "", version.state,
                           diff_texts(old_text, new))  # fmt: skip
    before = get_version(session, row.article_id, row.old_version)
    blocks = diff_texts(render_markdown(to_content(before)), new)
    return VersionDiff(row.article_id, before.version, row.version, before.state, version.state,
                       blocks)  # fmt: skip


# --- supervisors -------------------------------------------------------------------------


@dataclass
class AckReport:
    """Who has and who has not acknowledged one entry."""

    entry: FeedItem
    acknowledged: list[tuple[str, datetime]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "entry": self.entry.to_dict(),
            "acknowledged": [
                {"user": u, "acked_at": at.isoformat()} for u, at in self.acknowledged
            ],
            "pending": list(self.pending),
        }


def agents(session: Session) -> list[str]:
    """The agents known to kb: enabled users holding the agent role, by name."""
    users = session.scalars(select(User).where(User.disabled.is_(False)).order_by(User.name))
    return [u.name for u in users if "agent" in (u.roles or [])]


def acks(session: Session, actor: str, entry_id: int) -> AckReport:
    """Per entry, which agents have acknowledged it (with when) and which have not."""
    authorize(session, actor, Action.SUPERVISE)
    row = get_entry(session, entry_id)
    return _report(row, _acks_by_entry(session, [row.id]).get(row.id, {}), agents(session))


def _acks_by_entry(session: Session, ids: list[int]) -> dict[int, dict[str, datetime]]:
    found: dict[int, dict[str, datetime]] = {}
    for start in range(0, len(ids), 500):
        query = select(FeedAck).where(FeedAck.entry_id.in_(ids[start : start + 500]))
        for ack_row in session.scalars(query):
            found.setdefault(ack_row.entry_id, {})[ack_row.user_name] = _utc(ack_row.acked_at)
    return found


def _report(row: FeedEntry, seen: dict[str, datetime], team: list[str]) -> AckReport:
    done = sorted(((name, seen[name]) for name in team if name in seen), key=lambda p: p[1])
    return AckReport(_item(row), done, [name for name in team if name not in seen])


def overview(session: Session, actor: str, today: date | None = None) -> list[AckReport]:
    """Every entry's acknowledgement report, unacknowledged must-read first."""
    authorize(session, actor, Action.SUPERVISE)
    refresh(session, today)
    rows = list(session.scalars(select(FeedEntry).order_by(FeedEntry.created_at.desc())))
    seen = _acks_by_entry(session, [row.id for row in rows])
    team = agents(session)
    reports = [_report(row, seen.get(row.id, {}), team) for row in rows]
    reports.sort(key=lambda r: 0 if (r.entry.must_read and r.pending) else 1)
    return reports


def reminders(session: Session, actor: str, must_read_only: bool = True) -> dict[str, list[int]]:
    """Per agent, the entries they have not acknowledged (must-read only by default)."""
    reports = overview(session, actor)
    due: dict[str, list[int]] = {}
    for report in reports:
        if must_read_only and not report.entry.must_read:
            continue
        for name in report.pending:
            due.setdefault(name, []).append(report.entry.id)
    return due
