"""Fixtures for the app tests: a knowledge base with a user for each role and a few
published articles (built once per session, copied into each test's KB_HOME)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest.sync import sync_index
from kb.config import load_config
from kb.model import ArticleContent, ArticleType, Audience
from kb.store.db import Database
from review import importing, users

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-1"
# name -> roles; the first is the bootstrap admin
PEOPLE: dict[str, list[str]] = {
    "admin": ["admin"],
    "alice": ["author"],
    "erin": ["author"],
    "bob": ["reviewer"],
    "carol": ["publisher"],
    "dave": ["agent"],
    "sue": ["supervisor"],
}
TODAY = date.today()


def sample_articles() -> list[ArticleContent]:
    """A small published knowledge base: a policy, a regulation, FAQs (one internal)."""
    return [
        ArticleContent(
            id="refund-policy",
            type=ArticleType.POLICY,
            title="退款政策",
            body="# 退款时限\n\n客户申请退款后，鲸驿速运在3个工作日内完成审核。\n\n"
            "# 退款方式\n\n退款原路返回，到账时间以银行为准。\n",
            tags=["退款"],
            owner="alice",
            effective_to=TODAY + timedelta(days=10),
        ),
        ArticleContent(
            id="delay-compensation",
            type=ArticleType.POLICY,
            title="快件延误赔偿标准",
            body="快件超过承诺时限48小时未送达的，按运费的50%赔偿。超过72小时的，全额退还运费。\n",
            tags=["赔偿", "延误"],
            owner="alice",
            review_due=TODAY - timedelta(days=5),
        ),
        ArticleContent(
            id="faq-lost-parcel",
            type=ArticleType.FAQ,
            title="快件丢失怎么办",
            question="我的快递丢了怎么办？",
            similar_questions=["包裹丢失如何处理", "快件找不到了"],
            body="请提供运单号，客服将在24小时内核实。确认丢失后按保价金额赔偿。\n",
            tags=["丢失"],
        ),
        ArticleContent(
            id="faq-approval-limit",
            type=ArticleType.FAQ,
            title="坐席赔付审批权限",
            question="坐席可以直接赔付多少钱？",
            similar_questions=["赔付审批额度是多少"],
            body="坐席可直接赔付500元以内；超过500元需主管审批。\n",
            audience=Audience.INTERNAL,
            tags=["赔偿"],
        ),
        ArticleContent(
            id="xss-test",
            type=ArticleType.POLICY,
            title="Script <b>test</b>",
            lang="en",
            body="Before <script>window.kbPwned = 1</script> after <img src=x onerror=alert(1)>.\n",
        ),
    ]


def build_kb(home: Path) -> None:
    """Create the database, the users (password PASSWORD) and publish the sample articles."""
    home.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    db.migrate()
    names = list(PEOPLE)
    with db.session() as session:
        users.add_user(session, None, names[0], PEOPLE[names[0]], password=PASSWORD)
        for name in names[1:]:
            users.add_user(session, names[0], name, PEOPLE[name], password=PASSWORD)
    with db.session() as session:
        items = [(article, "tests") for article in sample_articles()]
        importing.import_articles(session, names[0], items, publish=True)
    sync_index(db, load_config(env={"KB_HOME": str(home)}).config)
    db.dispose()


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample knowledge base, built once."""
    home = tmp_path_factory.mktemp("app-template") / "kb-home"
    build_kb(home)
    return home


@pytest.fixture
def app_kb(template_home: Path, kb_home: Path) -> Path:
    """A private copy of the sample knowledge base in this test's KB_HOME."""
    shutil.copytree(template_home, kb_home)
    return kb_home


@pytest.fixture
def page_test(app_kb: Path) -> Callable[..., AppTest]:
    """Make an AppTest running one page's ``page()`` as a signed-in user."""

    def make(module: str, user: str | None, lang: str = "zh") -> AppTest:
        script = f"from kb.ui import {module}\n{module}.page()\n"
        at = AppTest.from_string(script, default_timeout=30)
        if user is not None:
            at.session_state["kb_user"] = user
        at.session_state["ui_lang"] = lang
        return at

    return make


#: An FAQ whose figure (30%) contradicts the published delay policy (50%).
CONTRADICTING_FAQ = ArticleContent(
    id="faq-delay",
    type=ArticleType.FAQ,
    title="快递延误怎么赔",
    question="快递延误了能赔多少？",
    body="快件超过承诺时限48小时未送达的，按运费的30%赔偿。\n",
    tags=["延误"],
)


def submit_new_article(home: Path, author: str, content: ArticleContent) -> None:
    """``author`` creates ``content`` as a draft and submits it (service layer)."""
    from review import editing, workflow

    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    with db.session() as session:
        editing.create_draft(session, author, content)
    with db.session() as session:
        workflow.submit(session, author, content.id)
    db.dispose()


def save_meanwhile(home: Path, user: str, article_id: str, body: str) -> None:
    """``user`` saves the open draft of ``article_id`` with ``body`` behind the page's back
    (service layer), so the page's next save of that draft is a conflict."""
    from review import editing
    from review.versions import versions_of

    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    with db.session() as session:
        draft = versions_of(session, article_id)[-1]
        content = editing.to_content(draft)
        content.body = body
        editing.save_draft(
            session,
            user,
            content,
            expected_version=draft.version,
            expected_revision=draft.revision,
        )
    db.dispose()
