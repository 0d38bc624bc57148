"""``kb backup`` / ``kb restore``: the whole database to one file and back, on SQLite or
PostgreSQL alike (``kb.store.backup``; docs/deploy.md, "Backup and restore")."""

from __future__ import annotations

from pathlib import Path

import typer

from kb.cli.common import AS_OPTION, JSON_OPTION, STATE, console, emit
from kb.store.backup import BackupSummary, restore_backup, write_backup
from kb.store.db import Database
from review.permissions import Action, authorize


def register(app: typer.Typer) -> None:
    """Add ``kb backup`` and ``kb restore`` to the app."""
    app.command("backup")(backup)
    app.command("restore")(restore)


def _rows(summary: BackupSummary) -> int:
    return sum(summary.rows.values())


def backup(
    file: Path = typer.Argument(..., help="The backup file to write (gzip JSON lines)."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write every table of the database (SQLite or PostgreSQL) to FILE in one consistent
    read, while kb keeps serving. Admins only: it holds password and key hashes. The search
    index is not included (rebuild it after a restore)."""
    with STATE.db.session() as session:
        authorize(session, STATE.actor(actor), Action.MANAGE_USERS)
    summary = write_backup(STATE.db, file)
    data = {"file": str(file), "revision": summary.revision, "rows": summary.rows}
    emit(data, as_json, lambda _: None)
    if not as_json:
        console.print(
            f"backed up {_rows(summary)} row(s) of {len(summary.rows)} table(s) "
            f"(schema {summary.revision}) to {file}",
            highlight=False,
        )


def restore(
    file: Path = typer.Argument(..., help="A file written by `kb backup`."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Restore FILE into the configured database, which must be empty (not yet created:
    a new SQLite file, or a new PostgreSQL database); upgrade it to this kb's schema. Then
    rebuild the search index: `kb reindex --full`. A backup from SQLite restores into
    PostgreSQL and the reverse."""
    database = Database(STATE.config.effective_database_url)  # not STATE.db: no migrating
    try:
        summary = restore_backup(database, file)
    finally:
        database.dispose()
    data = {"file": str(file), "revision": summary.revision, "rows": summary.rows}
    emit(data, as_json, lambda _: None)
    if not as_json:
        console.print(
            f"restored {_rows(summary)} row(s) from {file}; now rebuild the search index: "
            "kb reindex --full",
            highlight=False,
        )
