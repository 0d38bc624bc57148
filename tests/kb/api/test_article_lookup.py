"""``GET /v1/articles/{id}`` does the same database work for every kind of miss, so the
time a 404 takes cannot tell an internal (or unpublished, expired) article from a missing
one. Checked by recording the SQL each lookup runs on a real SQLite knowledge base;
benchmarks/adversarial.py measures the times themselves."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event

from kb.api.service import ApiState
from kb.config import Config
from kb.errors import NotFound
from kb.model import ArticleContent, ArticleType, Audience
from kb.store.db import Database
from review import editing, users
from review.importing import import_articles

YESTERDAY = date.today() - timedelta(days=1)


def _policy(article_id: str, **fields) -> ArticleContent:
    return ArticleContent(
        id=article_id, type=ArticleType.POLICY, title=article_id, body="正文。", **fields
    )


@pytest.fixture
def state(tmp_path) -> ApiState:
    config = Config(home=tmp_path)
    db = Database(config.effective_database_url)
    db.migrate()
    with db.session() as session:
        users.add_user(session, None, "root", ["admin"])
    published = [
        _policy("public-one"),
        _policy("internal-one", audience=Audience.INTERNAL),
        _policy("expired-one", effective_to=YESTERDAY),
    ]
    with db.session() as session:
        import_articles(session, "root", [(a, "test") for a in published], publish=True)
    with db.session() as session:
        editing.create_draft(session, "root", _policy("draft-only"))
    api = ApiState(config, db)
    yield api
    db.dispose()


def _statements(state: ApiState, article_id: str) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:
        seen.append(statement)

    event.listen(state.db.engine, "before_cursor_execute", record)
    try:
        state.article(Audience.PUBLIC, article_id)
    except NotFound:
        pass
    finally:
        event.remove(state.db.engine, "before_cursor_execute", record)
    return seen


def test_every_miss_runs_the_same_statements_as_a_missing_id(state):
    missing = _statements(state, "no-such-article")
    assert missing, "the lookup should query the database"
    for article_id in ("internal-one", "expired-one", "draft-only"):
        assert _statements(state, article_id) == missing, article_id


def test_the_public_article_is_found_and_the_others_are_not(state):
    assert state.article(Audience.PUBLIC, "public-one")["id"] == "public-one"
    assert state.article(Audience.INTERNAL, "internal-one")["audience"] == "internal"
    for article_id in ("internal-one", "expired-one", "draft-only", "no-such-article"):
        with pytest.raises(NotFound, match=f"no article '{article_id}'"):
            state.article(Audience.PUBLIC, article_id)
    with pytest.raises(NotFound):
        state.article(Audience.INTERNAL, "expired-one")
