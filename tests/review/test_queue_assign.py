"""Assigning unanswered-question groups (issue 14) on a real SQLite file: who may assign
whom, reassigning, giving back, "mine", the audit trail, and the end of an assignment
when the group is dealt with."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from kb.errors import Forbidden, InvalidInput, NotFound
from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.tables import AuditEvent, QueryLog, UnansweredAssignment
from review import audit, queue
from tests.review.helpers import publish_article, run


def handoffs(db: Database, *questions: str) -> None:
    """Hand-offs in the query log, oldest first."""
    with db.session() as session:
        for n, question in enumerate(questions):
            session.add(
                QueryLog(
                    request_id=uuid.uuid4().hex,
                    ts=utcnow() - timedelta(minutes=len(questions) - n),
                    requester="key:bot",
                    audience="public",
                    question=question,
                    answered=False,
                    handoff=True,
                    confidence=0.1,
                )
            )


@pytest.fixture
def groups(people: Database) -> tuple[str, str]:
    """Two groups in the queue: (invoice, weekend) ids."""
    handoffs(people, "能开发票吗", "能开发票吗", "周末送货吗")
    with people.session() as session:
        invoice, weekend = (g.id for g in queue.list_groups(session, "rex", None))
    return invoice, weekend


def assignees(db: Database) -> dict[str, str]:
    with db.session() as session:
        return {g.id: g.assignee for g in queue.list_groups(session, "rex", None) if g.assignee}


def trail(db: Database) -> list[tuple[str, str, str, str]]:
    with db.session() as session:
        assert audit.verify(session).ok
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.in_([queue.ASSIGN_ACTION, queue.UNASSIGN_ACTION]))
            .order_by(AuditEvent.seq)
        ).all()
    return [(e.actor, e.action, e.outcome, e.comment) for e in events]


def test_a_reviewer_assigns_reassigns_and_unassigns(
    people: Database, groups: tuple[str, str]
) -> None:
    invoice, weekend = groups
    group = run(people, queue.assign, "rex", invoice, "ann", None)
    assert (group.example, group.assignee) == ("能开发票吗", "ann")
    assert assignees(people) == {invoice: "ann"}
    run(people, queue.assign, "rex", invoice, "aldo", None)  # reassigned
    assert assignees(people) == {invoice: "aldo"}
    with people.session() as session:
        mine = queue.list_groups(session, "aldo", None, mine=True)
        assert [g.id for g in mine] == [invoice]
        assert queue.list_groups(session, "ann", None, mine=True) == []
        listed = {
            g["id"]: g["assignee"]
            for g in (x.as_dict() for x in queue.list_groups(session, "rex", None))
        }
    assert listed == {invoice: "aldo", weekend: None}
    run(people, queue.unassign, "pia", invoice, None)
    assert assignees(people) == {}
    assert trail(people) == [
        ("rex", "assign_unanswered", "ok", f"group {invoice} to ann"),
        ("rex", "assign_unanswered", "ok", f"group {invoice} to aldo (was ann)"),
        ("pia", "unassign_unanswered", "ok", f"group {invoice} from aldo"),
    ]


def test_an_author_takes_a_free_group_and_gives_it_back_but_assigns_no_one_else(
    people: Database, groups: tuple[str, str]
) -> None:
    invoice, weekend = groups
    run(people, queue.assign, "ann", invoice, "ann", None)  # takes it
    with pytest.raises(Forbidden, match="assign_queue"):
        run(people, queue.assign, "ann", weekend, "aldo", None)
    with pytest.raises(Forbidden, match="assign_queue"):
        run(people, queue.assign, "aldo", invoice, "aldo", None)  # taking ann's group
    with pytest.raises(Forbidden, match="assign_queue"):
        run(people, queue.unassign, "aldo", invoice, None)
    assert assignees(people) == {invoice: "ann"}  # the refusals changed nothing
    run(people, queue.unassign, "ann", invoice, None)  # gives it back
    assert assignees(people) == {}
    with people.session() as session:
        refused = session.scalars(
            select(AuditEvent.actor).where(
                AuditEvent.action == "assign_queue", AuditEvent.outcome == "refused"
            )
        ).all()
    assert refused == ["ann", "aldo", "aldo"]  # each refusal is on the record
    with pytest.raises(Forbidden):
        run(people, queue.assign, "agt", invoice, "agt", None)  # agents do not work the queue


def test_bad_assignments_are_refused_and_change_nothing(
    people: Database, groups: tuple[str, str]
) -> None:
    invoice, _ = groups
    for who in ["nobody", "agt"]:  # no such user; an agent cannot work the queue
        with pytest.raises(InvalidInput, match="cannot be assigned"):
            run(people, queue.assign, "rex", invoice, who, None)
    with pytest.raises(NotFound, match="no unanswered group"):
        run(people, queue.assign, "rex", "qdeadbeef00", "ann", None)
    with pytest.raises(InvalidInput, match="not assigned"):
        run(people, queue.unassign, "rex", invoice, None)
    run(people, queue.assign, "rex", invoice, "ann", None)
    with pytest.raises(InvalidInput, match="already assigned"):
        run(people, queue.assign, "rex", invoice, "ann", None)
    assert assignees(people) == {invoice: "ann"}
    assert len(trail(people)) == 1


def test_resolving_or_dismissing_ends_the_assignment(
    people: Database, groups: tuple[str, str]
) -> None:
    invoice, weekend = groups
    publish_article(people)
    run(people, queue.assign, "rex", invoice, "ann", None)
    run(people, queue.assign, "rex", weekend, "aldo", None)
    run(people, queue.resolve, "ann", invoice, "refund", None)
    run(people, queue.dismiss, "aldo", weekend, None)
    with people.session() as session:
        assert session.scalars(select(UnansweredAssignment)).all() == []
    handoffs(people, "能开发票吗")  # asked again: back in the queue, unassigned
    assert assignees(people) == {}
