"""The change feed on the command line: ``kb feed [--unread]``, ``kb feed ack ENTRY``,
``kb feed acks ENTRY``, ``kb feed reminders`` and ``kb feed refresh`` (``review.feed``)."""

from __future__ import annotations

from datetime import date

import typer

from kb.cli.common import AS_OPTION, JSON_OPTION, STATE, console, emit, print_table
from kb.errors import InvalidInput
from kb.quality.changes import describe
from review import feed
from review.feed import AckReport, FeedItem

ENTRY_ARG = typer.Argument(..., help="The feed entry's id (kb feed lists them).")


def register(app: typer.Typer) -> None:
    """Add ``kb feed`` and its sub-commands."""
    feed_app = typer.Typer(
        help="The change feed: what changed in the knowledge base, and who has read it.",
        invoke_without_command=True,
    )
    feed_app.callback()(list_command)
    feed_app.command("ack")(ack)
    feed_app.command("acks")(acks)
    feed_app.command("reminders")(reminders)
    feed_app.command("refresh")(refresh)
    app.add_typer(feed_app, name="feed")


def list_command(
    ctx: typer.Context,
    unread: bool = typer.Option(False, "--unread", help="Only entries you have not acknowledged."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List the feed: unacknowledged must-read entries first, then the newest first.

    Becoming effective and expiring are entries too; they are written when the feed is
    read on or after the day (or by kb feed refresh)."""
    if ctx.invoked_subcommand is not None:
        return
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        items = feed.entries(session, who, unread_only=unread)
        data = [i.to_dict() for i in items]
    emit(data, as_json, lambda _d: print_items(items))


def print_items(items: list[FeedItem]) -> None:
    """One block per entry: a head line, then what changed."""
    if not items:
        console.print("nothing in the feed", highlight=False)
    for item in items:
        mark = "MUST READ " if item.must_read else ""
        state = "read" if item.acked else "unread"
        effective = f", effective {item.effective_from}" if item.effective_from else ""
        head = (
            f"#{item.id} {mark}[{state}] {item.kind}: {item.title} ({item.article_id} "
            f"v{item.version}, {item.article_type}, {item.audience}{effective})"
        )
        console.print(head, markup=False, highlight=False)
        for change in item.changes:
            console.print(f"    {describe(change)}", markup=False, highlight=False)


def ack(
    entry_id: int = ENTRY_ARG,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Acknowledge an entry as read (已阅读)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = feed.ack(session, who, entry_id).to_dict()
    emit(data, as_json, lambda d: console.print(f"acknowledged #{d['id']}", highlight=False))


def acks(
    entry_id: int = ENTRY_ARG,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Who has and who has not acknowledged an entry (supervisor or admin)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        report = feed.acks(session, who, entry_id)
        data = report.to_dict()
    emit(data, as_json, lambda _d: print_report(report))


def print_report(report: AckReport) -> None:
    """The entry, then its acknowledged and pending agents."""
    entry = report.entry
    console.print(f"#{entry.id} {entry.kind}: {entry.title}", markup=False, highlight=False)
    rows = [{"agent": u, "acknowledged": at.isoformat()} for u, at in report.acknowledged]
    rows += [{"agent": u, "acknowledged": "not yet"} for u in report.pending]
    print_table(rows, ["agent", "acknowledged"])


def reminders(
    everything: bool = typer.Option(False, "--all", help="Also entries that are not must-read."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Per agent, the entries they have not acknowledged (must-read only by default)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        due = feed.reminders(session, who, must_read_only=not everything)
    rows = [{"agent": name, "entries": [f"#{i}" for i in ids]} for name, ids in due.items()]
    emit(due, as_json, lambda _d: print_table(rows, ["agent", "entries"]))


def refresh(
    today: str | None = typer.Option(
        None, "--today", help="The day to refresh for (YYYY-MM-DD; default: today)."
    ),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write the entries of articles that became effective or expired (idempotent; reading
    the feed does it too)."""
    on = _day(today)
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        found = feed.refresh_as(session, who, on)
        written = [(e.id, e.kind, e.article_id, e.version) for e in found]
    data = [{"id": i, "kind": k, "article_id": a, "version": v} for i, k, a, v in written]
    emit(data, as_json, lambda d: console.print(f"{len(d)} new entries", highlight=False))


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--today must be a date like 2026-12-01, not '{text}'") from None
