"""Concurrent writers on one real SQLite file, each with its own engine and session:
two editors saving the same draft, and many appenders to the audit chain."""

from __future__ import annotations

import threading
from functools import partial

from sqlalchemy import select

from kb.errors import Conflict
from kb.store.articles import get_article
from kb.store.db import Database
from kb.store.tables import AuditEvent
from review import audit, editing, workflow
from review.versions import versions_of
from tests.review.helpers import content, publish_article, run


def _engine_per_thread(db: Database, n: int) -> list[Database]:
    return [Database(db.url) for _ in range(n)]


def _together(db: Database, names: list[str], action) -> dict[str, object]:
    """Run ``action(session, name)`` for every name at the same moment, each from its own
    thread, engine and session; returns per name "done" or the Conflict it raised."""
    barrier = threading.Barrier(len(names))
    outcome: dict[str, object] = {}

    def act(name: str, database: Database) -> None:
        barrier.wait()
        try:
            with database.session() as session:
                action(session, name)
            outcome[name] = "done"
        except Conflict as exc:
            outcome[name] = exc

    databases = _engine_per_thread(db, len(names))
    threads = [
        threading.Thread(target=act, args=(name, database))
        for name, database in zip(names, databases, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for database in databases:
        database.dispose()
    return outcome


def _race(db: Database, bodies: dict[str, str], loaded: int) -> dict[str, object]:
    """Each editor saves their body against revision ``loaded`` at the same moment."""

    def save(session, name: str) -> None:
        editing.save_draft(session, name, content(body=bodies[name]), expected_revision=loaded)

    return {k: "saved" if v == "done" else v for k, v in _together(db, list(bodies), save).items()}


def test_two_editors_saving_the_same_draft(people: Database) -> None:
    run(people, editing.create_draft, "ann", content())
    for round_number in range(5):
        with people.session() as session:
            [draft] = versions_of(session, "refund")
        loaded = draft.revision
        bodies = {
            "ann": f"ann 的修改：退货期限为10天。第{round_number}轮\n",
            "aldo": f"aldo 的修改：退货期限为30天。第{round_number}轮\n",
        }
        outcome = _race(people, bodies, loaded)
        winners = [name for name, result in outcome.items() if result == "saved"]
        assert len(winners) == 1, outcome
        [winner] = winners
        [loser] = [name for name in bodies if name != winner]
        assert isinstance(outcome[loser], Conflict)
        assert f"changed by {winner}" in str(outcome[loser])
        with people.session() as session:
            [draft] = versions_of(session, "refund")
        assert draft.revision == loaded + 1
        assert draft.body == bodies[winner]  # the loser's edit neither merged nor half-applied
        assert draft.updated_by == winner
    with people.session() as session:
        assert audit.verify(session).ok


def test_concurrent_appenders_never_fork_the_audit_chain(people: Database) -> None:
    run(people, editing.create_draft, "ann", content())
    databases = _engine_per_thread(people, 4)
    errors: list[Exception] = []
    barrier = threading.Barrier(len(databases))

    def comment_many(database: Database, who: str) -> None:
        barrier.wait()
        try:
            for i in range(10):
                with database.session() as session:
                    workflow.comment(session, who, "refund", f"{who} 的第{i}条意见")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    names = ["ann", "rex", "pia", "eve"]
    threads = [
        threading.Thread(target=comment_many, args=(database, name))
        for database, name in zip(databases, names, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for database in databases:
        database.dispose()
    assert errors == []
    with people.session() as session:
        result = audit.verify(session)
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        comments = session.scalars(select(AuditEvent).where(AuditEvent.action == "comment")).all()
    assert result.ok, result
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(comments) == 40


def _publish_together(db: Database, versions: dict[str, int]) -> dict[str, object]:
    """Publishers publish their version of 'refund' at the same moment."""

    def publish(session, name: str) -> None:
        workflow.publish(session, name, "refund", version=versions[name])

    outcome = _together(db, list(versions), publish)
    return {k: "published" if v == "done" else v for k, v in outcome.items()}


def test_concurrent_publications_leave_exactly_one_published_version(people: Database) -> None:
    publish_article(people)
    for round_ in range(5):
        approved = []
        for body in (f"甲{round_}\n", f"乙{round_}\n"):  # new text each round: no no-op review
            row = run(people, editing.new_draft, "ann", "refund", content(body=body))
            run(people, workflow.submit, "ann", "refund")
            run(people, workflow.approve, "rex", "refund")
            approved.append(row.version)
        outcome = _publish_together(people, {"pia": approved[0], "root": approved[1]})
        assert outcome["root"] == "published", outcome  # the newer one always wins
        with people.session() as session:
            rows = versions_of(session, "refund")
            published = [r.version for r in rows if r.state == "published"]
            article_published = get_article(session, "refund").published_version
        assert published == [approved[1]] == [article_published]
    with people.session() as session:
        assert audit.verify(session).ok


def _approve(session, name: str) -> None:
    workflow.approve(session, name, "refund", comment="同意")


def _reject(session, name: str) -> None:
    workflow.reject(session, name, "refund", "请补充")


def _decide(actions, session, name: str) -> None:
    actions[name](session, name)


def test_two_reviewers_deciding_at_once_leave_one_decision(people: Database) -> None:
    """Two reviewers decide on the same version at the same moment (both approve, or one
    approves while the other rejects): the article row lock (``FOR UPDATE`` on PostgreSQL,
    ``BEGIN IMMEDIATE`` on SQLite) lets exactly one decide; the other gets a Conflict, and
    the audit log holds the one decision."""
    run(people, editing.create_draft, "ann", content())
    rounds = [{"rex": _approve, "eve": _approve}, {"rex": _approve, "eve": _reject}] * 2
    for number, actions in enumerate(rounds):
        if number:  # a new text each round, back in review
            run(people, editing.new_draft, "ann", "refund", content(body=f"第{number}版\n"))
        run(people, workflow.submit, "ann", "refund")
        outcome = _together(people, list(actions), partial(_decide, actions))
        winners = [name for name, result in outcome.items() if result == "done"]
        assert len(winners) == 1, outcome
        [loser] = [name for name in actions if name not in winners]
        assert isinstance(outcome[loser], Conflict), outcome
        with people.session() as session:
            newest = versions_of(session, "refund")[-1]
            decided = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action.in_(("approve", "reject")),
                    AuditEvent.version == newest.version,
                    AuditEvent.outcome == "ok",
                )
            ).all()
        assert [event.actor for event in decided] == winners
        won_by = actions[winners[0]]
        assert newest.state == ("approved" if won_by is _approve else "rejected")
        if newest.state == "approved":
            run(people, workflow.publish, "pia", "refund")
    with people.session() as session:
        assert audit.verify(session).ok
