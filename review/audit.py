"""The audit log: append-only, hash-chained events (``kb audit verify``, ``kb history``).

Every lifecycle transition, user change and permission refusal is one
``AuditEvent``. Each event's ``hash`` is ``sha256(prev_hash + canonical JSON of
its fields)`` (fields: seq, ts, actor, action, outcome, article_id, version,
from_state, to_state, comment, content_hash), and ``prev_hash`` is the hash of
the event before it (``GENESIS`` for the first). The ``audit_head`` row holds
the newest seq and hash.

Appends are serialised: the appender takes the write lock (``BEGIN IMMEDIATE``
on SQLite, ``SELECT ... FOR UPDATE`` of the head row elsewhere) and only then
reads the head, inside the same transaction that inserts the events and moves
the head. Two concurrent appenders therefore never fork the chain, and ``seq``
numbers are consecutive, so ``verify`` detects a changed, deleted (anywhere,
including the newest events) or reordered event and names the first bad seq.

The chain has no secret: whoever can write the database can rebuild it after a
change, or delete its newest events and move the head back with them. An
``Anchor`` (``kb audit anchor``: the head's seq and hash, kept outside the
database) closes that gap: ``verify(session, anchor)`` also checks that the log
still reaches the anchored seq and that the event there has the anchored hash,
which commits to every event before it (docs/audit.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from kb.errors import InvalidInput
from kb.store.articles import utcnow
from kb.store.tables import AuditEvent, AuditHead
from review.locking import is_sqlite, lock_for_write

GENESIS = "0" * 64
HEAD_ID = 1


@dataclass
class Event:
    """What one audit event records (seq, time and hashes are added on append)."""

    actor: str
    action: str
    outcome: str = "ok"
    article_id: str | None = None
    version: int | None = None
    from_state: str | None = None
    to_state: str | None = None
    comment: str = ""
    content_hash: str | None = None


EVENT_FIELDS = tuple(Event.__dataclass_fields__)


@dataclass
class VerifyResult:
    """The outcome of ``verify``: ok, or the first bad seq and what is wrong with it."""

    ok: bool
    checked: int
    head_seq: int
    first_bad_seq: int | None = None
    problem: str = ""


def ts_text(ts: datetime) -> str:
    """A timestamp as hashed: UTC, microseconds, no offset (naive values are UTC)."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.isoformat(timespec="microseconds")


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The chained hash of one event's fields (``seq``, ``ts`` and the ``Event`` fields)."""
    data = {key: fields[key] for key in ("seq", *EVENT_FIELDS)}
    data["ts"] = ts_text(fields["ts"])
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the chain head and return (seq, hash) as committed by the last appender."""
    lock_for_write(session)
    query = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
    if not is_sqlite(session):
        query = query.with_for_update()
        session.info["kb_audit_head_tx"] = session.get_transaction()
    row = session.execute(query).first()
    if row is not None:
        return row.seq, row.hash
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, digest = (last.seq, last.hash) if last else (0, GENESIS)
    session.execute(insert(AuditHead).values(id=HEAD_ID, seq=seq, hash=digest))
    return seq, digest


def append_many(session: Session, events: Sequence[Event]) -> list[int]:
    """Append events to the chain in the session's transaction; return their seqs."""
    if not events:
        return []
    seq, prev = _lock_head(session)
    now = utcnow()
    rows = []
    for event in events:
        seq += 1
        fields = {"seq": seq, "ts": now, **{key: getattr(event, key) for key in EVENT_FIELDS}}
        digest = event_hash(prev, fields)
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(AuditEvent), rows)
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=seq, hash=prev))
    return [row["seq"] for row in rows]


def append(session: Session, event: Event) -> int:
    """Append one event in the session's transaction; return its seq."""
    return append_many(session, [event])[0]


ANCHOR_PREFIX = "kb-audit-anchor"
ANCHOR_PATTERN = re.compile(
    rf"{ANCHOR_PREFIX} seq=(?P<seq>\d+) hash=(?P<hash>[0-9a-f]{{64}})(?: at=(?P<at>\S+))?"
)


@dataclass(frozen=True)
class Anchor:
    """The chain head at one moment, to keep outside the database."""

    seq: int
    hash: str
    at: str = ""

    def text(self) -> str:
        """The one-line form ``kb audit anchor`` prints and ``--anchor`` reads."""
        return f"{ANCHOR_PREFIX} seq={self.seq} hash={self.hash} at={self.at}"


def _head(session: Session) -> tuple[int, str]:
    head = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
    ).first()
    return (head.seq, head.hash) if head else (0, GENESIS)


def current_anchor(session: Session) -> Anchor:
    """The chain head now, with the time it was taken (UTC)."""
    seq, digest = _head(session)
    return Anchor(seq, digest, ts_text(utcnow()) + "Z")


def parse_anchor(text: str, where: str = "the anchor") -> Anchor:
    """An anchor from its one-line form (InvalidInput naming ``where`` if it is not one)."""
    found = ANCHOR_PATTERN.search(text)
    if found is None:
        raise InvalidInput(
            f"{where}: not an audit anchor (expected '{ANCHOR_PREFIX} seq=N hash=<64 hex>', "
            "as printed by kb audit anchor)"
        )
    return Anchor(int(found["seq"]), found["hash"], found["at"] or "")


def _anchor_problem(session: Session, anchor: Anchor, last: int) -> tuple[int, str] | None:
    """(first bad seq, problem) if the verified chain no longer holds ``anchor``."""
    taken = f" taken at {anchor.at}" if anchor.at else ""
    if last < anchor.seq:
        return last + 1, (
            f"the log ends at event {last}, but the anchor{taken} says it reached event "
            f"{anchor.seq}: events {last + 1} to {anchor.seq} were deleted (and the head moved)"
        )
    found: str | None = GENESIS
    if anchor.seq > 0:
        found = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == anchor.seq))
    if found != anchor.hash:
        return anchor.seq, (
            f"event {anchor.seq} is not the one anchored{taken}: the log was rewritten up to there"
        )
    return None


def verify(session: Session, anchor: Anchor | None = None) -> VerifyResult:
    """Recompute the chain; report the first changed, missing or out-of-order event, and
    (given an ``anchor``) a log that no longer reaches or matches the anchored head."""
    result = _verify_chain(session)
    if result.ok and anchor is not None:
        problem = _anchor_problem(session, anchor, result.head_seq)
        if problem is not None:
            return VerifyResult(False, result.checked, result.head_seq, *problem)
    return result


def _verify_chain(session: Session) -> VerifyResult:
    """Recompute the chain; report the first changed, missing or out-of-order event."""
    head_seq, head_hash = _head(session)
    expected, prev, checked = 1, GENESIS, 0
    rows = session.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq))
    for row in rows.mappings().yield_per(2000):
        problem = _check_row(row, expected, prev)
        if problem:
            bad = expected if row["seq"] != expected else row["seq"]
            return VerifyResult(False, checked, head_seq, bad, problem)
        checked += 1
        expected, prev = row["seq"] + 1, row["hash"]
    last = expected - 1
    if head_seq > last:
        problem = f"events {last + 1} to {head_seq} are missing (the chain head says {head_seq})"
        return VerifyResult(False, checked, head_seq, last + 1, problem)
    if head_seq < last:
        problem = f"event {head_seq + 1} was added behind the chain's back (head says {head_seq})"
        return VerifyResult(False, checked, head_seq, head_seq + 1, problem)
    if head_hash != prev:
        problem = f"event {last} does not match the chain head (replaced, or the head altered)"
        return VerifyResult(False, checked, head_seq, last, problem)
    return VerifyResult(True, checked, head_seq)


def _check_row(row: Any, expected: int, prev: str) -> str:
    seq = row["seq"]
    if seq != expected:
        return f"event {expected} is missing (the next event is {seq})"
    if event_hash(row["prev_hash"], row) != row["hash"]:
        return f"event {seq} was changed (its hash does not match its content)"
    if row["prev_hash"] != prev:
        return f"event {seq} does not follow event {seq - 1} (deleted, inserted or reordered)"
    return ""


def article_events(session: Session, article_id: str) -> list[AuditEvent]:
    """Every audit event of one article, oldest first (refusals included)."""
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.article_id == article_id).order_by(AuditEvent.seq)
        )
    )


def event_dict(row: AuditEvent) -> dict[str, Any]:
    """An audit event as JSON-ready data."""
    return {
        "seq": row.seq,
        "ts": ts_text(row.ts),
        **{key: getattr(row, key) for key in EVENT_FIELDS},
        "hash": row.hash,
    }
