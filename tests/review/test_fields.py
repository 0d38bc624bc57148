"""review.fields: the field-by-field comparison a reviewer reads."""

from __future__ import annotations

from datetime import date

from kb.model import ArticleContent, ArticleType, Audience
from review.fields import body_diff, compare_fields


def faq(**changes) -> ArticleContent:
    base = {
        "id": "faq-x",
        "type": ArticleType.FAQ,
        "title": "标题",
        "body": "答案一。\n",
        "question": "问？",
        "similar_questions": ["相似一"],
        "tags": ["a"],
    }
    return ArticleContent(**{**base, **changes})


def test_a_new_article_lists_every_field_as_changed():
    changes = compare_fields(None, faq())
    names = [c.name for c in changes]
    assert names[:3] == ["title", "type", "audience"]
    assert "similar_questions" in names and all(c.changed and c.old is None for c in changes)
    assert next(c for c in changes if c.name == "similar_questions").new == ["相似一"]


def test_only_changed_fields_are_marked_and_values_keep_their_kind():
    old, new = (
        faq(),
        faq(audience=Audience.INTERNAL, effective_to=date(2027, 1, 1), tags=["a", "b"]),
    )
    changes = {c.name: c for c in compare_fields(old, new)}
    assert changes["audience"].changed and changes["audience"].new == "internal"
    assert changes["effective_to"].old is None and changes["effective_to"].new == date(2027, 1, 1)
    assert changes["tags"].new == ["a", "b"]
    assert not changes["title"].changed and not changes["question"].changed


def test_a_policy_has_no_question_fields_and_the_body_diff_has_no_front_matter():
    policy = ArticleContent(id="p", type=ArticleType.POLICY, title="T", body="退货7天。\n")
    assert "question" not in [c.name for c in compare_fields(None, policy)]
    newer = ArticleContent(id="p", type=ArticleType.POLICY, title="T2", body="退货15天。\n")
    blocks = body_diff(policy, newer)
    text = " ".join(" ".join(b.old + b.new) for b in blocks)
    assert "title" not in text and "T2" not in text and "15" in text
