"""Article ids that differ only by case are one id: the second is refused with a clear
message, in either order, at create and at import, and the database refuses it too."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kb.errors import Conflict, InvalidInput
from kb.store.db import Database
from kb.store.tables import Article, User
from review import editing, importing
from tests.review.helpers import content, run


def article_ids(db: Database) -> list[str]:
    with db.session() as session:
        return sorted(session.scalars(select(Article.id)))


@pytest.mark.parametrize(("first", "second"), [("Dup-1", "dup-1"), ("dup-1", "Dup-1")])
def test_create_refuses_a_case_twin_in_either_order(people: Database, first, second) -> None:
    run(people, editing.create_draft, "ann", content(first))
    with pytest.raises(Conflict, match=f"'{second}' differs only by case .* '{first}'"):
        run(people, editing.create_draft, "ann", content(second))
    assert article_ids(people) == [first]


@pytest.mark.parametrize(("first", "second"), [("Dup-1", "dup-1"), ("dup-1", "Dup-1")])
def test_import_refuses_a_case_twin_of_an_existing_article(people: Database, first, second) -> None:
    run(people, importing.import_articles, "ann", [(content(first), "a.md")])
    with pytest.raises(Conflict, match=re.escape(f"'{second}' (b.md) differs only by case")):
        run(people, importing.import_articles, "ann", [(content(second), "b.md")])
    assert article_ids(people) == [first]


def test_import_refuses_case_twins_within_one_batch(people: Database) -> None:
    batch = [(content("other"), "o.md"), (content("Dup-1"), "a.md"), (content("dup-1"), "b.md")]
    with pytest.raises(InvalidInput, match=re.escape("'Dup-1' (a.md) and 'dup-1' (b.md)")):
        run(people, importing.import_articles, "ann", batch)
    assert article_ids(people) == []


def test_reimporting_the_same_id_is_still_an_update(people: Database) -> None:
    run(people, importing.import_articles, "ann", [(content("Dup-1"), "a.md")])
    changed = content("Dup-1", body="退货期限为10天。\n")
    result = run(people, importing.import_articles, "ann", [(changed, "a.md")])
    assert result.updated_drafts == 1


def test_the_database_refuses_a_case_twin_too(people: Database) -> None:
    run(people, editing.create_draft, "ann", content("Dup-1"))
    twin = Article(id="DUP-1", type="policy", created_at=datetime.now(UTC), created_by="x")
    with people.session() as session:
        session.add(twin)
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
    with people.session() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 1


@pytest.mark.parametrize(("first", "second"), [("Dup-1", "dup-1"), ("dup-1", "Dup-1")])
def test_user_names_differing_only_by_case_are_one_user(people: Database, first, second) -> None:
    from review import users

    run(people, users.add_user, "root", first, ["agent"])
    with pytest.raises(Conflict, match=f"user '{second}' already exists .*'{first}'"):
        run(people, users.add_user, "root", second, ["agent"])
    with people.session() as session:
        same = func.lower(User.name) == "dup-1"
        assert list(session.scalars(select(User.name).where(same))) == [first]


@pytest.mark.parametrize(("first", "second"), [("Dup-1", "dup-1"), ("dup-1", "Dup-1")])
def test_key_names_differing_only_by_case_are_one_key(people: Database, first, second) -> None:
    from review import keys

    run(people, keys.create_key, "root", first, "suggest", "public")
    with pytest.raises(Conflict, match=f"API key named '{second}' already exists .*'{first}'"):
        run(people, keys.create_key, "root", second, "suggest", "public")
