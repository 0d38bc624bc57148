"""Every page shows hostile user text literally: no Markdown image, link or HTML tag made of
a title, a question, a body, a comment, a name or a logged question ever renders.

The knowledge base holds hostile content everywhere a user can put text; each page is
rendered (AppTest) as the admin, who sees every page, and every string the page hands to
Streamlit's Markdown (bodies, titles, captions, alerts, labels, expander labels) is
parsed the way a Markdown renderer would: no image at all, no link to the hostile host.
Every ``st.html`` document is parsed as HTML: no tag carries the hostile host.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from ingest.sync import sync_index
from kb.config import load_config
from kb.model import ArticleContent, ArticleType
from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.tables import Feedback, QueryLog
from review import editing, importing, users, workflow

EVIL = "evil.example"
HOSTILE = (
    f"![pic](http://{EVIL}/t.png) **bold** [link](http://{EVIL}/l) "
    f"<img src=http://{EVIL}/i.png> :red[red] $x^2$ ![ref][r]\n\n[r]: http://{EVIL}/r.png"
)
ONE_LINE = HOSTILE.replace("\n", " ")
PAGES = ("assist", "editor", "review_queue", "history", "hittest", "insights")
MARKDOWN = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def _hostile_articles() -> list[ArticleContent]:
    return [
        ArticleContent(
            id="hostile-faq",
            type=ArticleType.FAQ,
            title="运费 " + ONE_LINE,
            question="运费怎么算 " + ONE_LINE,
            similar_questions=["运费标准 " + ONE_LINE],
            body="运费按重量计算。" + HOSTILE + "\n",
        ),
        ArticleContent(
            id="hostile-policy",
            type=ArticleType.POLICY,
            title="保价 " + ONE_LINE,
            body="# 保价\n\n" + HOSTILE + "\n\n保价费为声明价值的1%。\n",
        ),
    ]


def _seed(home: Path) -> None:
    """Hostile published articles, a hostile draft in review, an approved one, a hostile
    logged question, feedback comment, review comment and display name."""
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    with db.session() as session:
        users.add_user(session, "admin", "mallory", ["author"], display_name=ONE_LINE)
        importing.import_articles(
            session,
            "admin",
            [(a, "tests") for a in _hostile_articles()],
            bootstrap_reason="test: hostile articles added to the sample knowledge base",
        )
    for article_id, state in (("hostile-review", "in_review"), ("hostile-approved", "approved")):
        content = ArticleContent(
            id=article_id, type=ArticleType.POLICY, title=ONE_LINE, body=HOSTILE + "\n"
        )
        with db.session() as session:
            editing.create_draft(session, "mallory", content)
            workflow.submit(session, "mallory", article_id)
            workflow.comment(session, "mallory", article_id, HOSTILE)
            if state == "approved":
                workflow.approve(session, "bob", article_id)
    with db.session() as session:
        session.add(
            QueryLog(
                request_id="hostile-q",
                ts=utcnow(),
                channel="app",
                requester="dave",
                audience="internal",
                question=ONE_LINE,
                answered=False,
                handoff=True,
                confidence=0.1,
                reason=ONE_LINE,
                cited_article_ids=["hostile-faq"],
            )
        )
        session.flush()
        session.add(
            Feedback(
                request_id="hostile-q",
                ts=utcnow(),
                helpful=False,
                comment=HOSTILE,
                correct_article_id="hostile-faq",
            )
        )
    sync_index(db, load_config(env={"KB_HOME": str(home)}).config)
    db.dispose()


def _markdown_texts(node) -> Iterator[str]:
    """Every string of ``node``'s tree that Streamlit renders as Markdown."""
    proto = getattr(node, "proto", None)
    if proto is not None and getattr(node, "type", "") != "html":
        yield from _proto_texts(proto)
    for child in getattr(node, "children", {}).values():
        yield from _markdown_texts(child)


def _proto_texts(message) -> Iterator[str]:
    for field, value in message.ListFields():
        if field.name in ("body", "label", "help", "placeholder") and isinstance(value, str):
            yield value
        elif hasattr(value, "ListFields"):  # a nested message (not a repeated field)
            yield from _proto_texts(value)


def _html_documents(node) -> Iterator[str]:
    if getattr(node, "type", "") == "html":
        yield node.proto.body
    for child in getattr(node, "children", {}).values():
        yield from _html_documents(child)


#: Attributes whose value the browser fetches or follows (a title attribute is only text).
URL_ATTRIBUTES = {"src", "srcset", "href", "action", "formaction", "poster", "data", "style"}


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attribute_values: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.attribute_values += [v or "" for name, v in attrs if name in URL_ATTRIBUTES]


def _rendered_problems(at: AppTest) -> list[str]:
    problems = []
    for text in _markdown_texts(at._tree):
        for token in _walk(MARKDOWN.parse(text)):
            if token.type == "image":
                problems.append(f"image rendered from {text[:80]!r}")
            if token.type == "link_open" and EVIL in str(token.attrGet("href")):
                problems.append(f"link rendered from {text[:80]!r}")
    for document in _html_documents(at._tree):
        collector = _TagCollector()
        collector.feed(document)
        if any(EVIL in value for value in collector.attribute_values):
            problems.append(f"HTML tag with {EVIL} in {document[:80]!r}")
    return problems


def _walk(tokens) -> Iterator:
    for token in tokens:
        yield token
        yield from _walk(token.children or [])


@pytest.fixture
def hostile_kb(app_kb: Path) -> Path:
    _seed(app_kb)
    return app_kb


def _interact(module: str, at: AppTest) -> AppTest:
    """Bring each page to where the hostile text shows."""
    if module == "assist":
        at.text_area(key="as_question").input("运费怎么算")
        at.button[0].click()
    elif module in ("editor", "history"):
        key = "ed_choice" if module == "editor" else "hi_article"
        at.selectbox(key=key).select("hostile-faq")
    elif module == "hittest":
        at.text_area(key="ht_questions").input("运费怎么算\n" + ONE_LINE)
        at.button(key="ht_run").click()
    else:
        return at
    return at.run()


@pytest.mark.slow
@pytest.mark.parametrize("module", PAGES)
def test_every_page_shows_hostile_text_literally(hostile_kb, page_test, module):
    at = page_test(module, "admin").run()
    at = _interact(module, at)
    assert not at.exception, at.exception
    shown = [*_markdown_texts(at._tree), *_html_documents(at._tree)]
    shown += [frame.value.to_csv() for frame in at.dataframe]
    assert any(EVIL in text for text in shown), "the hostile text should be on the page"
    assert _rendered_problems(at) == []


def test_the_checker_sees_an_unescaped_image():
    at = AppTest.from_string(f"import streamlit as st\nst.subheader({ONE_LINE!r})\n").run()
    assert any("image rendered" in p for p in _rendered_problems(at))
