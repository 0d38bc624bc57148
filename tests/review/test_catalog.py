"""review.catalog: the editors' article list (filters, search, views, counts, paging) on a
real migrated SQLite database, articles moved through the real workflow."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kb.errors import Forbidden, InvalidInput
from kb.model import ArticleContent, ArticleType, Audience
from review import editing, workflow
from review.catalog import ArticleFilter, View, list_articles
from tests.review.helpers import content, publish_article, run

TODAY = date(2026, 11, 30)


@pytest.fixture
def kb(people):
    publish_article(
        people,
        "refund",
        "退货期限为7天。\n",
        tags=["退款"],
        owner="ann",
        review_due=TODAY - timedelta(days=1),
    )
    publish_article(
        people,
        "delay",
        "延误按50%赔偿。\n",
        title="Delay policy",
        lang="en",
        effective_to=TODAY + timedelta(days=10),
        owner="Aldo",
    )
    with people.session() as session:  # ann's draft FAQ, internal
        editing.create_draft(
            session,
            "ann",
            ArticleContent(
                id="faq-a",
                type=ArticleType.FAQ,
                title="坐席权限",
                question="能赔多少？",
                body="500元以内。\n",
                audience=Audience.INTERNAL,
                tags=["赔偿", "100%_x"],
            ),
        )
    with people.session() as session:  # aldo's FAQ in review
        editing.create_draft(
            session,
            "aldo",
            ArticleContent(
                id="faq-b",
                type=ArticleType.FAQ,
                title="丢件",
                question="丢了怎么办？",
                body="按保价赔偿。\n",
            ),
        )
    run(people, workflow.submit, "aldo", "faq-b")
    with people.session() as session:  # ann's edit of refund, approved
        editing.save_draft(
            session,
            "ann",
            content(
                "refund",
                "退货期限为15天。\n",
                tags=["退款"],
                owner="ann",
                review_due=TODAY - timedelta(days=1),
            ),
            expected_version=1,
        )
    run(people, workflow.submit, "ann", "refund")
    run(people, workflow.approve, "rex", "refund")
    return people


def ids(db, actor="rex", **filters) -> list[str]:
    with db.session() as session:
        page = list_articles(session, actor, ArticleFilter(**filters), today=TODAY)
    return sorted(r["article_id"] for r in page.rows)


def test_filters_each_narrow_the_list(kb):
    assert ids(kb) == ["delay", "faq-a", "faq-b", "refund"]
    assert ids(kb, state="approved") == ["refund"]
    assert ids(kb, type="faq") == ["faq-a", "faq-b"]
    assert ids(kb, audience="internal") == ["faq-a"]
    assert ids(kb, owner="aldo") == ["delay"]  # owners match ignoring case
    assert ids(kb, tag="赔偿") == ["faq-a"]
    assert ids(kb, tag="100%_x") == ["faq-a"] and ids(kb, tag="%") == []  # LIKE escaped
    assert ids(kb, lang="en") == ["delay"]
    assert ids(kb, text="保价") == ["faq-b"]  # body
    assert ids(kb, text="delay POLICY") == ["delay"]  # title, any case
    assert ids(kb, text="赔多少") == ["faq-a"]  # the FAQ's question
    assert ids(kb, review_due_within=0) == ["refund"]  # overdue
    assert ids(kb, expiring_within=5) == [] and ids(kb, expiring_within=10) == ["delay"]


def test_views_of_the_work_waiting(kb):
    assert ids(kb, "ann", view=View.MY_DRAFTS) == ["faq-a"]
    assert ids(kb, "aldo", view=View.MY_DRAFTS) == []
    assert ids(kb, "rex", view=View.MY_REVIEW) == ["faq-b"]
    assert ids(kb, "eve", view=View.MY_REVIEW) == ["faq-b"]
    assert ids(kb, "ann", view=View.MY_REVIEW) == []  # an author reviews nothing
    assert ids(kb, "pia", view=View.TO_PUBLISH) == ["refund"]


def test_counts_per_state_ignore_the_state_filter_and_pages_add_up(kb):
    with kb.session() as session:
        page = list_articles(session, "rex", ArticleFilter(state="draft"), today=TODAY)
        assert page.counts == {"published": 1, "draft": 1, "in_review": 1, "approved": 1}
        assert page.total == 1
        first = list_articles(session, "rex", ArticleFilter(), limit=3, today=TODAY)
        rest = list_articles(session, "rex", ArticleFilter(), offset=3, limit=3, today=TODAY)
    assert first.total == 4 and len(first.rows) == 3 and len(rest.rows) == 1
    assert {r["article_id"] for r in first.rows + rest.rows} == {
        "delay",
        "faq-a",
        "faq-b",
        "refund",
    }
    assert next(r for r in first.rows + rest.rows if r["article_id"] == "refund")["review_overdue"]


def test_bad_filters_are_refused_and_agents_cannot_list(kb):
    with kb.session() as session:
        with pytest.raises(InvalidInput):
            list_articles(session, "rex", ArticleFilter(expiring_within=-1))
        with pytest.raises(InvalidInput):
            list_articles(session, "rex", ArticleFilter(state="nope"))
        with pytest.raises(InvalidInput):
            list_articles(session, "rex", ArticleFilter(), limit=10_000)
    with pytest.raises(Forbidden), kb.session() as session:
        list_articles(session, "agt", ArticleFilter())
