"""The article pickers' query (``review.picker``) on a real SQLite file: one page of
matches by id or title, the total, the current choice kept, published-only, and roles."""

from __future__ import annotations

import pytest

from kb.errors import Forbidden, InvalidInput
from kb.store.db import Database
from review import editing, picker
from tests.review.helpers import content, publish_article, run


@pytest.fixture
def many(people: Database) -> Database:
    """Thirty published articles ``a00``..``a29`` titled 退款政策N, and one draft."""
    for n in range(30):
        publish_article(people, f"a{n:02d}", title=f"退款政策{n}", body=f"第{n}条。\n")
    run(people, editing.create_draft, "ann", content("z-draft", title="Shipping 100%_fast"))
    return people


def pick(db: Database, actor: str = "rex", text: str = "", **options: object) -> picker.Choices:
    with db.session() as session:
        return picker.pick_articles(session, actor, text, **options)  # type: ignore[arg-type]


def test_one_page_of_matches_by_id_or_title_with_the_total(many: Database) -> None:
    first = pick(many, limit=10)
    assert list(first.items) == [f"a{n:02d}" for n in range(10)]
    assert first.total == 31
    assert list(pick(many, text="政策2", limit=50).items) == ["a02", *[f"a2{n}" for n in range(10)]]
    assert pick(many, text="A1", limit=3).total == 10  # ids, any case
    found = pick(many, text="100%_")  # LIKE wildcards are literal
    assert list(found.items) == ["z-draft"] and found.items["z-draft"].state == "draft"
    assert pick(many, text="100%x").total == 0


def test_the_current_choice_stays_and_published_only(many: Database) -> None:
    kept = pick(many, text="政策3", include=["a17", "nope"], limit=5)
    assert "a17" in kept.items and "nope" not in kept.items
    published = pick(many, text="z-", published=True)
    assert published.items == {} and published.total == 0
    assert pick(many, "agt", "a0", published=True).total == 10  # agents pick published ones


def test_roles_and_bad_input(many: Database) -> None:
    with pytest.raises(Forbidden):
        pick(many, "agt")  # drafts need an editing role
    with pytest.raises(InvalidInput):
        pick(many, text="x" * 201)
    with pytest.raises(InvalidInput):
        pick(many, limit=0)


def test_open_versions_for_the_hit_test(many: Database) -> None:
    with many.session() as session:
        rows, total = picker.pick_open_versions(session, "rex")
        assert [(r.article_id, r.state) for r in rows] == [("z-draft", "draft")] and total == 1
        none, zero = picker.pick_open_versions(session, "rex", "政策")  # all published
        assert (none, zero) == ([], 0)
    with pytest.raises(Forbidden), many.session() as session:
        picker.pick_open_versions(session, "agt")
