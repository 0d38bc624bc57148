"""Helpers shared by the review tests (fixtures are in conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from kb.model import ArticleContent, ArticleType
from kb.store.db import Database
from review import editing, users, workflow

# name -> roles; "root" is the bootstrap admin
PEOPLE: dict[str, list[str]] = {
    "root": ["admin"],
    "ada": ["admin"],
    "ann": ["author"],
    "aldo": ["author"],
    "rex": ["reviewer"],
    "pia": ["publisher"],
    "agt": ["agent"],
    "eve": ["author", "reviewer"],
}


def fresh_db(template: Path, directory: Path) -> Database:
    """A new database in ``directory``, copied from the migrated template."""
    path = directory / "kb.sqlite3"
    shutil.copy(template, path)
    return Database(f"sqlite:///{path}")


def add_people(database: Database, people: dict[str, list[str]] = PEOPLE) -> None:
    """Create the users (the first one bootstraps as admin)."""
    names = list(people)
    with database.session() as session:
        users.add_user(session, None, names[0], people[names[0]])
    with database.session() as session:
        for name in names[1:]:
            users.add_user(session, names[0], name, people[name])


def content(
    article_id: str = "refund", body: str = "退货期限为7天。\n", **fields
) -> ArticleContent:
    """A valid policy article."""
    fields.setdefault("title", "退款政策")
    return ArticleContent(id=article_id, type=ArticleType.POLICY, body=body, **fields)


def publish_article(
    database: Database,
    article_id: str = "refund",
    body: str = "退货期限为7天。\n",
    author: str = "ann",
    **fields,
) -> None:
    """Create, submit, approve and publish an article through the workflow."""
    with database.session() as session:
        editing.create_draft(session, author, content(article_id, body, **fields))
    run(database, workflow.submit, author, article_id)
    run(database, workflow.approve, "rex", article_id)
    run(database, workflow.publish, "pia", article_id)


def run(database: Database, action, actor: str, *args, **kwargs):
    """Run one review action in its own transaction and return its result."""
    with database.session() as session:
        return action(session, actor, *args, **kwargs)
