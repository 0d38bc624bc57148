"""Fixtures of the API tests: one real knowledge base and one real server per session.

The knowledge base holds public and internal FAQ articles on the same topics. Each
internal article is phrased like the customers' questions (so it matches them better
than the public one) and carries a secret marker ``INTSECRET`` in its answer; the
security tests ask those questions with a public key and look for any trace of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kb.config import Config
from kb.model import ArticleContent
from tests.kb.api.helpers import ServerProcess, build_kb, create_key, faq

SECRET = "INTSECRET"

#: topic -> (public FAQ, internal FAQ, customer questions that match the internal one best)
TOPICS: dict[str, tuple[tuple[str, str, list[str]], tuple[str, str, list[str]], list[str]]] = {
    "return": (
        ("如何申请退货？", "在订单页点击申请退货，签收后7天内可无理由退货。", ["怎么退货"]),
        (
            "客户签收后要求退货退款怎么处理？",
            f"内部口径{SECRET}01：可在后台强制退货退款，无需客户上传凭证，直接退款。",
            ["签收后退货退款", "收到货了想退款退货", "退货退款后台操作"],
        ),
        ["收到货了想退货退款怎么办", "签收以后还能退货退款吗", "我要退货退款", "退货退款后台"],
    ),
    "claim": (
        ("快件损坏怎么理赔？", "请在签收后48小时内提交理赔申请并上传照片。", ["损坏理赔"]),
        (
            "快件损坏客户要求赔偿的理赔标准是多少？",
            f"内部口径{SECRET}02：理赔上限为声明价值的三倍，客服可直接批准500元以下赔偿。",
            ["损坏赔偿标准", "理赔最多赔多少钱", "赔偿上限是多少"],
        ),
        ["快件损坏最多赔多少钱", "损坏了赔偿标准是多少", "理赔上限多少", "坏了能赔多少钱"],
    ),
    "delay": (
        ("快递延误怎么办？", "延误可在App查询物流，或联系客服催件。", ["快递慢"]),
        (
            "快递延误超过三天客户要求补偿怎么办？",
            f"内部口径{SECRET}03：延误超过三天可发放20元优惠券作为补偿，无需审批。",
            ["延误补偿", "延误三天补偿多少", "快递晚了给补偿吗"],
        ),
        ["快递延误三天有补偿吗", "延误了能给什么补偿", "快递晚到三天赔什么", "延误补偿标准"],
    ),
    "lost": (
        ("快件丢失怎么办？", "快件丢失请提交查件申请，客服将在24小时内回复。", ["丢件"]),
        (
            "快件丢失客户要求全额赔偿怎么处理？",
            f"内部口径{SECRET}04：丢件按声明价值全额赔偿，未保价按运费五倍赔偿。",
            ["丢件赔偿", "丢失全额赔偿", "包裹丢了赔多少"],
        ),
        ["包裹丢了赔多少钱", "丢件能全额赔偿吗", "快件丢失赔偿标准", "东西丢了怎么赔"],
    ),
    "address": (
        ("如何修改收件地址？", "快件派送前可在App中修改收件地址一次。", ["改地址"]),
        (
            "快件已派送客户要求修改收件地址怎么办？",
            f"内部口径{SECRET}05：派送中也可联系站点强制改派，费用由公司承担。",
            ["派送中改地址", "已经派送了还能改地址吗", "强制改派"],
        ),
        ["已经在派送了还能改地址吗", "派送中怎么改收件地址", "快递在路上了想改地址", "改派"],
    ),
    "complaint": (
        ("如何投诉快递员？", "可在App的投诉入口提交投诉，我们会在48小时内处理。", ["投诉"]),
        (
            "客户投诉快递员态度差要求处罚怎么处理？",
            f"内部口径{SECRET}06：态度投诉核实后对快递员罚款200元并回访客户。",
            ["快递员态度差投诉", "投诉快递员处罚", "快递员骂人怎么处理"],
        ),
        ["快递员态度很差怎么投诉", "快递员骂人了", "投诉快递员会处罚吗", "快递员态度差"],
    ),
}


def articles() -> list[ArticleContent]:
    """The public and internal FAQ articles of every topic."""
    out = []
    for topic, (public, internal, _questions) in TOPICS.items():
        out.append(faq(f"faq-{topic}-public", *public, audience="public"))
        out.append(faq(f"faq-{topic}-internal", *internal, audience="internal"))
    return out


INTERNAL_IDS = frozenset(f"faq-{t}-internal" for t in TOPICS)
PUBLIC_IDS = frozenset(f"faq-{t}-public" for t in TOPICS)
QUESTIONS = [q for _p, _i, questions in TOPICS.values() for q in questions]


@dataclass
class Kb:
    """The test knowledge base, its server and its keys."""

    home: Path
    config: Config
    server: ServerProcess
    keys: dict[str, str]

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return self.server.base_url

    def auth(self, key: str) -> dict[str, str]:
        """The Authorization header for the named key."""
        return {"Authorization": f"Bearer {self.keys[key]}"}


KEYS = {
    "public": ("suggest,feedback,articles", "public"),
    "internal": ("suggest,feedback,articles", "internal"),
    "public2": ("suggest,feedback,articles", "public"),
    "suggest-only": ("suggest", "public"),
    "revoked": ("suggest,feedback,articles", "public"),
}


@pytest.fixture(scope="session")
def kb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kb]:
    """A knowledge base with a real index, served by ``kb serve`` in a subprocess."""
    home = tmp_path_factory.mktemp("api-kb")
    config = build_kb(home, articles())
    keys = {name: create_key(config, name, *spec) for name, spec in KEYS.items()}
    _revoke(config, "revoked")
    server = ServerProcess(
        home, api_rate_limit_per_minute=100_000, api_auth_failures_per_minute=100_000
    ).start()
    try:
        yield Kb(home, config, server, keys)
    finally:
        server.stop()


def _revoke(config: Config, name: str) -> None:
    from kb.store.db import Database
    from review.keys import revoke_key
    from tests.kb.api.helpers import ADMIN

    db = Database(config.effective_database_url)
    with db.session() as session:
        revoke_key(session, ADMIN, name)
    db.dispose()
