"""Property: random sequences of actions by random users (allowed or not, in any state)
never reach an illegal state, and the served set is always exactly the latest published,
currently effective version of each article."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kb.errors import Conflict, Forbidden, InvalidInput, NotFound
from kb.model import State
from kb.store import outbox
from kb.store.articles import get_article, served_versions
from kb.store.db import Database
from kb.store.tables import AuditEvent, IndexEvent
from review import audit, editing, states, workflow
from review.versions import find_draft, versions_of
from tests.review.helpers import add_people, content, fresh_db

TODAY = date.today()
USERS = ["root", "ann", "aldo", "rex", "pia", "eve", "agt", "ghost"]  # ghost does not exist
ARTICLES = ["a0", "a1"]
ACTIONS = [
    "create",
    "save",
    "new_draft",
    "submit",
    "approve",
    "reject",
    "publish",
    "archive",
    "rollback",
    "comment",
]
# Users whose roles fit each action (a step picks one of them, or anybody at random)
FITTING = {
    "create": ["ann", "aldo", "eve", "root"],
    "save": ["ann", "aldo", "eve", "root"],
    "new_draft": ["ann", "aldo", "eve", "root"],
    "submit": ["ann", "aldo", "eve", "root"],
    "approve": ["rex", "eve", "root"],
    "reject": ["rex", "eve", "root"],
    "publish": ["pia", "root"],
    "archive": ["pia", "root"],
    "rollback": ["pia", "root"],
    "comment": ["rex", "ann", "pia"],
}
# (effective_from, effective_to) as day offsets from today: always, started, future,
# expired, ending soon
DATES = [(None, None), (-30, None), (10, None), (-30, -1), (-30, 5)]


def _day(offset: int | None) -> date | None:
    return None if offset is None else TODAY + timedelta(days=offset)


@dataclass
class Model:
    """What the sequence should have led to, tracked independently of the database."""

    published: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(ARTICLES))
    dates: dict[tuple[str, int], tuple[date | None, date | None]] = field(default_factory=dict)
    refused: int = 0

    def served(self) -> set[tuple[str, int]]:
        expected = set()
        for article_id, version in self.published.items():
            if version is None:
                continue
            start, end = self.dates[(article_id, version)]
            if (start is None or start <= TODAY) and (end is None or end >= TODAY):
                expected.add((article_id, version))
        return expected


def _draft_revision(session, article_id: str) -> int | None:
    rows = versions_of(session, article_id)
    draft = find_draft(rows) if rows else None
    return draft.revision if draft else None


def _existing(session, article_id: str, n: int) -> int:
    """One of the article's versions, chosen by n (n itself if there is none)."""
    count = len(versions_of(session, article_id))
    return (n - 1) % count + 1 if count else n


def _perform(session, step: tuple, model: Model):
    who, action, article_id, n, date_choice = step
    start, end = (_day(d) for d in DATES[date_choice])
    body = f"{article_id} {action} {n}\n"
    edited = content(article_id, body, effective_from=start, effective_to=end)
    version = n - 4 if n > 4 else None  # mostly "the usual version", sometimes 1 or 2
    if action == "create":
        return editing.create_draft(session, who, edited)
    if action == "save":
        revision = _draft_revision(session, article_id)
        if revision is not None and n == 6:
            revision -= 1  # a stale save
        return editing.save_draft(session, who, edited, expected_revision=revision)
    if action == "new_draft":
        return editing.new_draft(session, who, article_id, edited)
    calls = {
        "submit": lambda: workflow.submit(session, who, article_id),
        "approve": lambda: workflow.approve(session, who, article_id, version),
        "reject": lambda: workflow.reject(session, who, article_id, "不行", version),
        "publish": lambda: workflow.publish(session, who, article_id, version),
        "archive": lambda: workflow.archive(session, who, article_id),
        "rollback": lambda: workflow.rollback(
            session, who, article_id, _existing(session, article_id, n)
        ),
        "comment": lambda: workflow.comment(session, who, article_id, "意见", version),
    }
    return calls[action]()


def _apply(db: Database, step: tuple, model: Model) -> None:
    """Run one step in its own transaction and update the model if it succeeded."""
    _, action, article_id, _, date_choice = step
    try:
        with db.session() as session:
            row = _perform(session, step, model)
    except Forbidden:
        model.refused += 1
        return
    except (Conflict, NotFound, InvalidInput):
        return
    if action in ("create", "save", "new_draft"):
        model.dates[(article_id, row.version)] = tuple(_day(d) for d in DATES[date_choice])
    elif action == "rollback":
        model.dates[(article_id, row.version)] = model.dates[(article_id, row.based_on)]
        event("a version was rolled back to")
    elif action == "publish":
        model.published[article_id] = row.version
        event("a version was published")
    elif action == "archive":
        model.published[article_id] = None
        event("an article was archived")


def _check_article(session, article_id: str, model: Model) -> None:
    rows = versions_of(session, article_id)
    if not rows:
        assert model.published[article_id] is None
        return
    found = [r.state for r in rows]
    assert set(found) <= {s.value for s in State}
    assert found.count(State.PUBLISHED) <= 1
    assert found.count(State.DRAFT) <= 1
    assert [r.version for r in rows] == list(range(1, len(rows) + 1))
    published = [r.version for r in rows if r.state == State.PUBLISHED]
    article = get_article(session, article_id)
    assert article.latest_version == len(rows)
    assert article.published_version == (published[0] if published else None)
    assert article.published_version == model.published[article_id]
    if published:
        ever = [r.version for r in rows if r.state in states.EVER_PUBLISHED]
        assert published[0] == max(ever)
    for row in rows:
        assert (row.effective_from, row.effective_to) == model.dates[(article_id, row.version)]


def _check(db: Database, model: Model) -> None:
    with db.session() as session:
        for article_id in ARTICLES:
            _check_article(session, article_id, model)
        served = {(r.article_id, r.version) for r in served_versions(session, TODAY)}
        assert served == model.served()


def _check_trail(db: Database, model: Model) -> None:
    with db.session() as session:
        assert audit.verify(session).ok
        events = session.scalars(select(AuditEvent)).all()
        moves = [e for e in events if e.outcome == "ok" and e.to_state is not None]
        assert all(states.is_legal(e.from_state, e.to_state, e.action) for e in moves)
        assert sum(e.outcome == "refused" for e in events) == model.refused
        for event in (e for e in moves if e.action == "approve"):
            row = next(
                r for r in versions_of(session, event.article_id) if r.version == event.version
            )
            assert event.actor not in row.editors
        pending = outbox.pending_changes(session)
        replayed = {
            c.article_id: c.version if c.action == outbox.UPSERT else None
            for c in outbox.latest_per_article(pending)
        }
        touched = set(session.scalars(select(IndexEvent.article_id)))
        assert replayed == {a: model.published[a] for a in touched}


# "advance" does whatever comes next for the article's newest version (submit a draft,
# approve what is in review, ...), so sequences get deep into the lifecycle; it is drawn
# as often as all other actions together.
NEXT = {
    State.DRAFT: "submit",
    State.IN_REVIEW: "approve",
    State.APPROVED: "publish",
    State.PUBLISHED: "new_draft",
    State.REJECTED: "new_draft",
    State.ARCHIVED: "new_draft",
    State.SUPERSEDED: "rollback",
}
STEP = st.tuples(
    st.sampled_from([*ACTIONS, *["advance"] * len(ACTIONS)]),
    st.booleans(),  # True: a user whose roles fit the action; False: anybody
    st.integers(min_value=0, max_value=len(USERS) - 1),
    st.sampled_from(ARTICLES),
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=0, max_value=len(DATES) - 1),
)


def resolve(db: Database, step: tuple) -> tuple:
    """Turn a drawn step into (user, action, article, n, date choice)."""
    action, fitting, user_index, article_id, n, date_choice = step
    if action == "advance":
        with db.session() as session:
            rows = versions_of(session, article_id)
        action = NEXT[State(rows[-1].state)] if rows else "create"
        if rows and rows[-1].state == State.PUBLISHED:
            action = {1: "archive", 2: "rollback"}.get(n, action)
        elif rows and rows[-1].state == State.ARCHIVED and n % 2:
            action = "rollback"
    users = FITTING[action] if fitting else USERS
    return users[user_index % len(users)], action, article_id, n, date_choice


@pytest.fixture(scope="module")
def people_template(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database file with the users, copied for every example."""
    directory = tmp_path_factory.mktemp("people")
    database = fresh_db(template_db, directory)
    add_people(database)
    database.dispose()
    return directory / "kb.sqlite3"


@pytest.fixture(scope="module")
def example_db(
    people_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One engine for every example (SQLAlchemy caches compiled statements per engine);
    ``reset`` puts a fresh copy of the file under it."""
    database = fresh_db(people_template, tmp_path_factory.mktemp("example"))
    yield database
    database.dispose()


def reset(database: Database, template: Path) -> None:
    """Replace the database file with a fresh copy of ``template``."""
    database.dispose()
    path = Path(database.url.removeprefix("sqlite:///"))
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, path)


def _advance(n: int = 3, dates: int = 0, article_id: str = "a0") -> tuple:
    return ("advance", True, 0, article_id, n, dates)


# The whole story once in every run: publish, edit (effective later), publish, roll back,
# approve and publish the rollback, archive.
FULL_STORY = [
    *[_advance() for _ in range(3)],
    ("new_draft", True, 0, "a0", 3, 2),
    *[_advance() for _ in range(3)],
    ("rollback", True, 0, "a0", 1, 0),
    _advance(),
    _advance(),
    _advance(n=1),
]


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(STEP, min_size=10, max_size=30))
@example(steps=FULL_STORY)
def test_random_action_sequences_keep_the_invariants(
    example_db: Database, people_template: Path, steps: list
) -> None:
    reset(example_db, people_template)
    model = Model()
    for article_id in ARTICLES:  # every sequence starts with two drafts
        _apply(example_db, ("ann", "create", article_id, 1, 0), model)
    for step in steps:
        _apply(example_db, resolve(example_db, step), model)
        _check(example_db, model)
    _check_trail(example_db, model)
