"""Backups of the database that any kb database can restore (``kb backup`` / ``kb restore``).

A backup is a gzip file of JSON lines: a header (format, the schema's Alembic revision,
the row count of every table), then one line per row, tables in foreign-key order,
timestamps in UTC ISO form. It is read in one transaction, a consistent snapshot on
either database while writers go on, and holds every table (users and their password
hashes, API key hashes, the audit chain: keep it as safely as the database), and is
the same for SQLite and PostgreSQL, so it also moves a knowledge base from one to the
other. Restoring needs an empty database: one not yet created, which is migrated to the
backup's revision, filled in one transaction, then upgraded to the newest schema. The
search index is not in the backup: rebuild it after a restore (``kb reindex --full``).
"""

from __future__ import annotations

import gzip
import json
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, MetaData, Table, delete, func, insert, inspect, select, text
from sqlalchemy.exc import SAWarning, SQLAlchemyError
from sqlalchemy.types import Date, DateTime

from kb.errors import InvalidInput
from kb.store.db import Database, alembic_config

FORMAT = "kb-backup/1"
INSERT_BATCH = 500
SKIPPED_TABLES = frozenset({"alembic_version"})
#: The postgres search store's tables (``kb.search.postgres``): derived from the published
#: articles, rebuilt by ``kb reindex --full`` after a restore, never backed up.
DERIVED_PREFIX = "search_"


@dataclass(frozen=True)
class BackupSummary:
    """What a backup holds (or a restore wrote): the schema revision and rows per table."""

    revision: str
    rows: dict[str, int]


def write_backup(db: Database, path: Path) -> BackupSummary:
    """Write every table of ``db`` to ``path`` (replaced only when complete)."""
    partial = path.with_name(path.name + ".partial")
    with db.engine.connect() as connection, connection.begin():
        _snapshot(connection)
        revision = _revision(connection)
        if revision is None:
            raise InvalidInput("the database has no knowledge base to back up (run kb init)")
        tables = _tables(connection)
        counts = {
            t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in tables
        }
        try:
            with gzip.open(partial, "wt", encoding="utf-8") as out:
                _line(out, {"format": FORMAT, "revision": revision, "rows": counts})
                for table in tables:
                    for row in connection.execute(select(table).order_by(*table.primary_key)):
                        _line(out, {"t": table.name, "r": _encode(row._asdict())})
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(path)
    return BackupSummary(revision, counts)


def _snapshot(connection: Connection) -> None:
    """Make every read of this transaction see one moment of the database."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    elif connection.dialect.name == "sqlite":
        # Python's sqlite3 runs SELECTs outside a transaction: open one, so that the
        # first read fixes the snapshot (WAL: writers go on meanwhile, unseen)
        connection.exec_driver_sql("BEGIN")


def read_header(path: Path) -> BackupSummary:
    """The header of the backup at ``path``; ``InvalidInput`` when it is not one."""
    with _open(path) as lines:
        header = next(lines, None)
    return _summary(header, path)


def restore_backup(db: Database, path: Path) -> BackupSummary:
    """Fill the empty database ``db`` from the backup at ``path``, then upgrade it.

    Refused, changing nothing, when the database already holds a knowledge base or the
    file is not a complete kb backup."""
    from alembic import command
    from alembic.util import CommandError

    summary = read_header(path)
    if inspect(db.engine).has_table("alembic_version"):
        raise InvalidInput("restore needs an empty database: this one holds a knowledge base")
    try:
        command.upgrade(alembic_config(db.engine), summary.revision)
        with db.engine.begin() as connection:
            written = _fill(connection, path, summary)
    except CommandError:
        _drop_all(db)
        raise InvalidInput(
            f"{path} has schema revision {summary.revision!r}, which this kb does not know "
            "(restore it with the kb release that made it)"
        ) from None
    except (SQLAlchemyError, ValueError, TypeError, KeyError) as exc:
        _drop_all(db)
        raise InvalidInput(f"{path} holds rows the database refuses: {exc}") from None
    except BaseException:
        _drop_all(db)
        raise
    db.migrate()
    return BackupSummary(summary.revision, written)


def _fill(connection: Connection, path: Path, summary: BackupSummary) -> dict[str, int]:
    ordered = _tables(connection)
    for table in reversed(ordered):  # rows the migrations seed (e.g. the audit head)
        connection.execute(delete(table))
    tables = {t.name: t for t in ordered}
    written = dict.fromkeys(tables, 0)
    batch: list[dict[str, Any]] = []
    current: Table | None = None
    with _open(path) as lines:
        next(lines)
        for number, record in enumerate(lines, start=2):
            table = tables.get(record.get("t", "")) if isinstance(record, dict) else None
            if table is None or not isinstance(record.get("r"), dict):
                raise InvalidInput(f"{path}: line {number} is not a row of a kb table")
            if current is not None and (table is not current or len(batch) >= INSERT_BATCH):
                connection.execute(insert(current), batch)
                batch = []
            current = table
            batch.append(_decode(table, record["r"]))
            written[table.name] += 1
    if current is not None and batch:
        connection.execute(insert(current), batch)
    if {k: v for k, v in written.items() if v or k in summary.rows} != summary.rows:
        raise InvalidInput(f"{path}: incomplete backup (rows differ from its header)")
    if connection.dialect.name == "postgresql":
        _reset_sequences(connection, tables.values())
    return written


def _reset_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """Move PostgreSQL's id sequences past the restored ids."""
    for table in tables:
        for column in table.primary_key:
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if sequence:
                connection.execute(
                    text(
                        f'SELECT setval(:s, COALESCE(MAX("{column.name}"), 1), '
                        f'MAX("{column.name}") IS NOT NULL) FROM "{table.name}"'
                    ),
                    {"s": sequence},
                )


def _drop_all(db: Database) -> None:
    """Leave the database as empty as it was before a failed restore."""
    with db.engine.begin() as connection:
        for table in reversed(_tables(connection, derived=True)):
            table.drop(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _tables(connection: Connection, derived: bool = False) -> list[Table]:
    """The database's own tables (as migrated), parents before children; the search store's
    derived tables only with ``derived``."""
    metadata = MetaData()
    with warnings.catch_warnings():  # SQLite cannot reflect lower(id) indexes; not needed
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        metadata.reflect(connection)
    return [
        t
        for t in metadata.sorted_tables
        if t.name not in SKIPPED_TABLES and (derived or not t.name.startswith(DERIVED_PREFIX))
    ]


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _encode(row: dict[str, Any]) -> dict[str, Any]:
    encoded = {}
    for name, value in row.items():
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)
            value = aware.astimezone(UTC).isoformat(timespec="microseconds")
        elif isinstance(value, date):
            value = value.isoformat()
        encoded[name] = value
    return encoded


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    decoded = {}
    for name, value in row.items():
        column = table.columns.get(name)
        if column is None:
            raise InvalidInput(f"the backup has a column {table.name}.{name} the schema lacks")
        if value is not None and isinstance(column.type, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(column.type, Date):
            value = date.fromisoformat(value)
        decoded[name] = value
    return decoded


def _line(out: IO[str], data: dict[str, Any]) -> None:
    out.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")


@contextmanager
def _open(path: Path) -> Iterator[Iterator[Any]]:
    """The backup's lines as JSON values; ``InvalidInput`` for what is not a kb backup."""
    if not path.is_file():
        raise InvalidInput(f"no backup file at {path}")
    with gzip.open(path, "rt", encoding="utf-8") as file:
        yield _parsed(file, path)


def _parsed(file: IO[str], path: Path) -> Iterator[Any]:
    try:
        for line in file:
            yield json.loads(line)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path} is not a readable kb backup ({exc})") from None


def _summary(header: Any, path: Path) -> BackupSummary:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InvalidInput(f"{path} is not a kb backup ({FORMAT})")
    return BackupSummary(str(header["revision"]), dict(header["rows"]))
