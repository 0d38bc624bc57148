"""Scheduled publication: a publisher approves now, the version is published later.

``schedule`` records an approved version to publish at a chosen time (default: the
start, UTC, of its ``effective_from`` day); ``publish_due`` (``kb publish-due``, from
cron) publishes every pending one whose time has come through ``workflow.publish``, as
the publisher who scheduled it: the same roles, golden gate, change feed and index
outbox as a manual publish. It is idempotent: a schedule is carried out once
(``done``), or ``failed`` with the reason (e.g. a golden answer would break, or the
publisher lost the role), and never retried by itself. An article has at most one
pending schedule; scheduling again replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kb.errors import InvalidInput, KbError
from kb.model import State
from kb.quality.golden_check import CheckerFactory
from kb.store.articles import utcnow
from kb.store.tables import ScheduledPublication
from review import audit, feed, workflow
from review.locking import lock_article, lock_for_write
from review.permissions import Action, authorize
from review.states import next_state
from review.versions import label, pick, versions_of

PENDING, DONE, FAILED, CANCELLED = "pending", "done", "failed", "cancelled"
SCHEDULE_ACTION, UNSCHEDULE_ACTION = "schedule_publish", "unschedule_publish"


@dataclass(frozen=True)
class Outcome:
    """What ``publish_due`` did with one schedule."""

    article_id: str
    version: int
    scheduled_by: str
    status: str
    message: str


def _when(at: datetime | None, effective_from: date | None, what: str) -> datetime:
    if at is None:
        if effective_from is None:
            raise InvalidInput(f"{what} has no effective_from date: give the time to publish")
        at = datetime.combine(effective_from, time(), tzinfo=UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if at <= utcnow():
        raise InvalidInput(
            f"{at.isoformat(timespec='minutes')} has passed: publish {what} now instead"
        )
    return at


def _pending_row(session: Session, article_id: str) -> ScheduledPublication | None:
    return session.scalars(
        select(ScheduledPublication).where(
            ScheduledPublication.article_id == article_id,
            ScheduledPublication.status == PENDING,
        )
    ).first()


def schedule(
    session: Session,
    actor: str,
    article_id: str,
    version: int | None = None,
    at: datetime | None = None,
    comment: str = "",
    importance: str = feed.NORMAL,
) -> ScheduledPublication:
    """Schedule an approved version (default: the newest) to be published at ``at``
    (default: its ``effective_from``, 00:00 UTC); replaces the article's pending one."""
    importance = feed.parse_importance(importance)
    user = authorize(session, actor, Action.PUBLISH, article_id=article_id)
    lock_article(session, article_id)
    row = pick(versions_of(session, article_id), State.APPROVED, version, article_id)
    next_state(row.state, Action.PUBLISH, label(row))
    when = _when(at, row.effective_from, label(row))
    previous = _pending_row(session, article_id)
    if previous is not None:
        previous.status, previous.outcome = CANCELLED, f"replaced by {label(row)}"
    item = ScheduledPublication(
        article_id=article_id,
        version=row.version,
        publish_at=when,
        scheduled_by=user.name,
        importance=importance,
        comment=comment,
        status=PENDING,
        outcome="",
        created_at=utcnow(),
    )
    session.add(item)
    note = f"scheduled for {when.isoformat(timespec='minutes')}"
    audit.append(session, _event(user.name, SCHEDULE_ACTION, row.article_id, row.version, note))
    session.flush()
    return item


def unschedule(session: Session, actor: str, article_id: str) -> ScheduledPublication:
    """Cancel the article's pending scheduled publication (InvalidInput if none)."""
    user = authorize(session, actor, Action.PUBLISH, article_id=article_id)
    lock_article(session, article_id)
    item = _pending_row(session, article_id)
    if item is None:
        raise InvalidInput(f"article '{article_id}' has no scheduled publication")
    item.status, item.outcome, item.done_at = CANCELLED, f"cancelled by {user.name}", utcnow()
    audit.append(session, _event(user.name, UNSCHEDULE_ACTION, article_id, item.version, ""))
    return item


def _event(actor: str, action: str, article_id: str, version: int, note: str) -> audit.Event:
    return audit.Event(
        actor=actor, action=action, article_id=article_id, version=version, comment=note
    )


def pending(session: Session) -> dict[str, ScheduledPublication]:
    """The pending schedule of each article that has one."""
    rows = session.scalars(
        select(ScheduledPublication).where(ScheduledPublication.status == PENDING)
    )
    return {row.article_id: row for row in rows}


def list_pending(session: Session, actor: str) -> list[ScheduledPublication]:
    """Pending schedules, soonest first, for a user who may see drafts."""
    authorize(session, actor, Action.VIEW_DRAFTS)
    return sorted(pending(session).values(), key=lambda r: (r.publish_at, r.article_id))


def due(session: Session, now: datetime | None = None) -> list[ScheduledPublication]:
    """Pending schedules whose time has come, oldest first."""
    return list(
        session.scalars(
            select(ScheduledPublication)
            .where(ScheduledPublication.status == PENDING)
            .where(ScheduledPublication.publish_at <= (now or utcnow()))
            .order_by(ScheduledPublication.publish_at, ScheduledPublication.id)
        )
    )


def _claim(session: Session, item: ScheduledPublication) -> bool:
    """Take a due schedule for this process: True if it was still pending.

    The write lock (SQLite) or the row lock of the conditional update (PostgreSQL) is
    held to the end of the transaction, so another process's claim of the same row waits
    and then finds it no longer pending.
    """
    lock_for_write(session)
    claimed = session.execute(
        update(ScheduledPublication)
        .where(ScheduledPublication.id == item.id, ScheduledPublication.status == PENDING)
        .values(status=DONE, done_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(claimed, "rowcount", 0) == 1)


def publish_due(
    session: Session, now: datetime | None = None, golden_checker: CheckerFactory | None = None
) -> list[Outcome]:
    """Publish every due schedule this process claims, as its publisher, through the golden
    gate of ``golden_checker`` (each in a savepoint: one refused publication is recorded as
    ``failed`` and does not stop the others). Schedules another process claimed first are
    left to it (no outcome here)."""
    outcomes = []
    for item in due(session, now):
        if not _claim(session, item):
            continue
        try:
            with session.begin_nested():
                workflow.publish(
                    session,
                    item.scheduled_by,
                    item.article_id,
                    item.version,
                    item.comment or "scheduled publication",
                    importance=item.importance,
                    golden_checker=golden_checker,
                )
            item.status, item.outcome = DONE, ""
        except KbError as exc:
            item.status, item.outcome = FAILED, exc.message
        item.done_at = utcnow()
        outcomes.append(
            Outcome(item.article_id, item.version, item.scheduled_by, item.status, item.outcome)
        )
    return outcomes
