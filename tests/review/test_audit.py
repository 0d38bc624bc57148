"""The audit hash chain: intact logs verify; editing, deleting or reordering a row directly
in the database is detected and the first bad event is named."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from kb.errors import InvalidInput
from kb.store.db import Database
from kb.store.tables import AuditEvent, AuditHead
from review import audit, contents, editing, workflow
from tests.review.helpers import content, publish_article, run


@pytest.fixture
def logged(people: Database) -> Database:
    """A database with a dozen audit events."""
    publish_article(people)
    run(people, editing.new_draft, "ann", "refund", content(body="退货期限为15天。\n"))
    run(people, workflow.comment, "rex", "refund", "看起来不错")
    return people


def sql(db: Database, statement: str, *params: object) -> None:
    """Change the database behind the application's back (``?`` placeholders, any backend)."""
    parts = statement.split("?")
    named = parts[0] + "".join(f":p{i}{part}" for i, part in enumerate(parts[1:]))
    with db.engine.begin() as connection:
        connection.execute(text(named), {f"p{i}": value for i, value in enumerate(params)})


def verify(db: Database) -> audit.VerifyResult:
    with db.session() as session:
        return audit.verify(session)


def test_intact_log_verifies(logged: Database) -> None:
    result = verify(logged)
    assert result.ok
    assert result.checked == result.head_seq >= 12


def test_event_hash_covers_every_field() -> None:
    from datetime import UTC, datetime

    fields = {"seq": 1, "ts": datetime(2026, 1, 1, tzinfo=UTC), **vars(audit.Event("a", "b"))}
    digest = audit.event_hash(audit.GENESIS, fields)
    for key, value in [("actor", "x"), ("comment", "x"), ("seq", 2), ("outcome", "refused")]:
        assert audit.event_hash(audit.GENESIS, {**fields, key: value}) != digest
    assert audit.event_hash("1" * 64, fields) != digest


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "mallory"),
        ("comment", "改写"),
        ("to_state", "archived"),
        ("ts", "2020-01-01 00:00:00.000000"),
    ],
)
def test_changed_event_is_named(logged: Database, column: str, value: str) -> None:
    sql(logged, f"UPDATE audit_events SET {column} = ? WHERE seq = 12", value)
    result = verify(logged)
    assert not result.ok
    assert result.first_bad_seq == 12
    assert "changed" in result.problem


def test_rehashed_change_is_caught_at_the_next_event(logged: Database) -> None:
    with logged.session() as session:
        row = session.get(AuditEvent, 10)
        fields = {k: getattr(row, k) for k in ("seq", "ts", *audit.EVENT_FIELDS)}
        fields["actor"] = "mallory"
        forged = audit.event_hash(row.prev_hash, fields)
    sql(logged, "UPDATE audit_events SET actor = 'mallory', hash = ? WHERE seq = 10", forged)
    result = verify(logged)
    assert (result.ok, result.first_bad_seq) == (False, 11)


def test_deleted_event_is_named(logged: Database) -> None:
    sql(logged, "DELETE FROM audit_events WHERE seq = 7")
    result = verify(logged)
    assert (result.ok, result.first_bad_seq) == (False, 7)
    assert "missing" in result.problem


def test_deleting_the_newest_events_is_detected(logged: Database) -> None:
    last = verify(logged).head_seq
    sql(logged, "DELETE FROM audit_events WHERE seq >= ?", last - 1)
    result = verify(logged)
    assert (result.ok, result.first_bad_seq) == (False, last - 1)


def test_reordered_events_are_named(logged: Database) -> None:
    sql(logged, "UPDATE audit_events SET seq = -1 WHERE seq = 5")
    sql(logged, "UPDATE audit_events SET seq = 5 WHERE seq = 6")
    sql(logged, "UPDATE audit_events SET seq = 6 WHERE seq = -1")
    result = verify(logged)
    assert (result.ok, result.first_bad_seq) == (False, 5)


def test_appending_after_verification_continues_the_chain(logged: Database) -> None:
    run(logged, workflow.comment, "pia", "refund", "再看一眼")
    assert verify(logged).ok


def test_appended_without_the_head_is_named(logged: Database) -> None:
    head = verify(logged).head_seq
    sql(logged, "UPDATE audit_head SET seq = seq - 1")
    result = verify(logged)
    assert (result.ok, result.first_bad_seq) == (False, head)
    assert "behind the chain's back" in result.problem


def test_empty_log_verifies(db: Database) -> None:
    result = verify(db)
    assert (result.ok, result.checked, result.head_seq) == (True, 0, 0)


def verify_contents(db: Database) -> contents.ContentResult:
    with db.session() as session:
        return contents.verify_contents(session)


def test_intact_contents_verify(logged: Database) -> None:
    result = verify_contents(logged)
    assert (result.ok, result.checked) == (True, 2)


def test_a_body_edited_in_the_database_is_named(logged: Database) -> None:
    sql(logged, "UPDATE article_versions SET body = '快递丢失一律不予赔偿。' WHERE version = 1")
    result = verify_contents(logged)
    assert (result.ok, result.article_id, result.version) == (False, "refund", 1)
    assert "does not match its content hash" in result.problem
    assert verify(logged).ok  # the chain itself was not touched


def test_a_body_edited_with_its_hash_rewritten_is_named(logged: Database) -> None:
    forged = content(body="快递丢失一律不予赔偿。\n").content_hash()
    sql(
        logged,
        "UPDATE article_versions SET body = ?, content_hash = ? WHERE version = 1",
        "快递丢失一律不予赔偿。\n",
        forged,
    )
    result = verify_contents(logged)
    assert (result.ok, result.article_id, result.version) == (False, "refund", 1)
    assert "not the one the audit log recorded" in result.problem


def test_a_draft_published_in_the_database_is_named(logged: Database) -> None:
    """Unreviewed text made 'published' by SQL (the old version superseded, the article's
    pointer moved: everything the index reads) has no audit event: verify names it."""
    sql(logged, "UPDATE article_versions SET state = 'superseded' WHERE version = 1")
    sql(logged, "UPDATE article_versions SET state = 'published' WHERE version = 2")
    sql(logged, "UPDATE articles SET published_version = 2")
    result = verify_contents(logged)
    assert (result.ok, result.article_id, result.version) == (False, "refund", 1)
    assert "its state is superseded, but the audit log last moved it to published" in (
        result.problem
    )
    assert verify(logged).ok  # the chain itself was not touched


def test_a_published_pointer_moved_in_the_database_is_named(logged: Database) -> None:
    sql(logged, "UPDATE articles SET published_version = NULL")
    result = verify_contents(logged)
    assert (result.ok, result.article_id, result.version) == (False, "refund", 1)
    assert "the article's published version is none" in result.problem


def anchor_now(db: Database) -> audit.Anchor:
    with db.session() as session:
        return audit.current_anchor(session)


def verify_with(db: Database, anchor: audit.Anchor) -> audit.VerifyResult:
    with db.session() as session:
        return audit.verify(session, anchor)


def test_a_deleted_tail_with_the_head_rewritten_is_caught_by_the_anchor(
    logged: Database,
) -> None:
    anchor = anchor_now(logged)
    assert verify_with(logged, anchor).ok
    with logged.session() as session:
        keep = session.get(AuditEvent, anchor.seq - 3)
        kept_hash = keep.hash
    sql(logged, "DELETE FROM audit_events WHERE seq > ?", anchor.seq - 3)
    sql(logged, "UPDATE audit_head SET seq = ?, hash = ?", anchor.seq - 3, kept_hash)
    assert verify(logged).ok  # without an anchor the truncation is invisible
    result = verify_with(logged, anchor)
    assert (result.ok, result.first_bad_seq) == (False, anchor.seq - 2)
    assert "were deleted" in result.problem


def test_a_rebuilt_chain_is_caught_by_the_anchor(logged: Database) -> None:
    anchor = anchor_now(logged)
    with logged.session() as session:  # forge event 3 and re-hash everything after it
        prev = session.get(AuditEvent, 2).hash
        for row in session.scalars(
            select(AuditEvent).where(AuditEvent.seq >= 3).order_by(AuditEvent.seq)
        ):
            if row.seq == 3:
                row.actor = "mallory"
            fields = {k: getattr(row, k) for k in ("seq", "ts", *audit.EVENT_FIELDS)}
            row.prev_hash, row.hash = prev, audit.event_hash(prev, fields)
            prev = row.hash
        session.execute(update(AuditHead).values(hash=prev))
    assert verify(logged).ok
    result = verify_with(logged, anchor)
    assert (result.ok, result.first_bad_seq) == (False, anchor.seq)
    assert "rewritten" in result.problem


def test_an_anchor_round_trips_and_bad_text_is_named() -> None:
    anchor = audit.Anchor(12, "a" * 64, "2026-11-30T00:00:00.000000Z")
    assert audit.parse_anchor(anchor.text()) == anchor
    with pytest.raises(InvalidInput, match=r"anchor\.txt: not an audit anchor"):
        audit.parse_anchor("seq=12", "anchor.txt")
