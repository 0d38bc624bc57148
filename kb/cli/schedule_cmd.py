"""Scheduled publication on the command line (``review.schedule``): ``kb schedule``,
``kb unschedule``, ``kb scheduled`` and ``kb publish-due`` for cron."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from kb.cli.common import AS_OPTION, JSON_OPTION, STATE, console, emit, print_table
from kb.cli.review_cmd import (
    COMMENT_OPTION,
    ID_ARG,
    IMPORTANCE_OPTION,
    VERSION_OPTION,
    notify_index,
)
from kb.errors import InvalidInput
from kb.store.tables import ScheduledPublication
from review import publishing
from review import schedule as scheduling

AT_OPTION = typer.Option(
    None,
    "--at",
    help="When to publish, ISO 8601 (e.g. 2026-12-01T08:00; UTC unless it names a zone). "
    "Default: the version's effective_from, 00:00 UTC.",
)


def register(app: typer.Typer) -> None:
    """Add the commands of this module to the app."""
    app.command("schedule")(schedule)
    app.command("unschedule")(unschedule)
    app.command("scheduled")(scheduled)
    app.command("publish-due")(publish_due)


def _row(item: ScheduledPublication) -> dict[str, Any]:
    return {
        "article_id": item.article_id,
        "version": item.version,
        "publish_at": item.publish_at.isoformat(timespec="minutes"),
        "scheduled_by": item.scheduled_by,
        "importance": item.importance,
        "status": item.status,
    }


def _parse_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"--at '{text}' is not an ISO 8601 time (e.g. 2026-12-01T08:00)"
        ) from None


def schedule(
    article_id: str = ID_ARG,
    version: int | None = VERSION_OPTION,
    at: str | None = AT_OPTION,
    comment_text: str = COMMENT_OPTION,
    importance: str = IMPORTANCE_OPTION,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Schedule an approved version to be published later (publishers); a running `kb serve`
    or `kb publish-due` publishes it when due, as you, through the same rules as `kb publish`."""
    who, when = STATE.actor(actor), _parse_at(at)
    with STATE.db.session() as session:
        item = scheduling.schedule(
            session, who, article_id, version, when, comment_text, importance
        )
        data = _row(item)
    emit(
        data,
        as_json,
        lambda d: console.print(
            f"scheduled {d['article_id']} version {d['version']} for {d['publish_at']}",
            highlight=False,
        ),
    )


def unschedule(
    article_id: str = ID_ARG, actor: str | None = AS_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """Cancel an article's scheduled publication (publishers)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = _row(scheduling.unschedule(session, who, article_id))
    emit(
        data,
        as_json,
        lambda d: console.print(f"unscheduled {d['article_id']} version {d['version']}"),
    )


def scheduled(actor: str | None = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Scheduled publications still to be carried out, soonest first (editing roles)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        rows = [_row(i) for i in scheduling.list_pending(session, who)]
    emit(
        rows,
        as_json,
        lambda d: print_table(
            d,
            ["article_id", "version", "publish_at", "scheduled_by", "importance"],
            title="scheduled publications",
        ),
    )


def publish_due(as_json: bool = JSON_OPTION) -> None:
    """Publish every scheduled version whose time has come (for cron; safe to repeat).

    Each is published as the publisher who scheduled it, through the same roles and
    golden gate as `kb publish`; one that is refused is marked failed with the reason
    (shown here) and not retried. A running `kb serve` does the same every
    publish_due_interval_seconds; each schedule is published once whoever runs it.
    Exits 1 if any failed."""
    with publishing.transaction(STATE.runtime) as session:
        outcomes = scheduling.publish_due(session, golden_checker=STATE.runtime.golden_checker)
    if any(o.status == scheduling.DONE for o in outcomes):
        notify_index()
    rows = [o.__dict__ for o in outcomes]
    emit(
        rows,
        as_json,
        lambda d: console.print(
            "\n".join(
                f"{r['status']}: {r['article_id']} version {r['version']}"
                + (f" ({r['message']})" if r["message"] else "")
                for r in d
            )
            or "nothing due",
            markup=False,
            highlight=False,
        ),
    )
    if any(o.status == scheduling.FAILED for o in outcomes):
        raise typer.Exit(1)
