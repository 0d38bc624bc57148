"""Test helper: real search indexes from articles, for retrieval and suggest tests.

``build_index`` runs the ingest pipeline (``ingest.pipeline.index_articles``: converter,
cleaner, chunker, normalizer, cached embedder with the real model, index writer), so every
chunk carries the provenance meta retrieval relies on. ``chunk_articles`` gives the chunks
with their search text without embedding them (benchmarks that bring their own vectors).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from haystack import Document

from ingest.chunk import ArticleChunker
from ingest.normalize import TextNormalizer
from kb.config import Config
from kb.formats.markdown import parse_markdown
from kb.model import ArticleContent

REPO = Path(__file__).resolve().parents[2]
ARTICLES_DIR = REPO / "articles"


def article_document(article: ArticleContent, version: int = 1) -> Document:
    """One article version as the Document the chunker takes."""
    meta = {"article_id": article.id, "version": version, **article.metadata()}
    return Document(content=article.body, meta=meta)


def chunk_articles(
    articles: Iterable[ArticleContent | tuple[ArticleContent, int]], config: Config
) -> list[Document]:
    """Chunks with ``search_text`` (no embeddings yet)."""
    docs = [article_document(*a) if isinstance(a, tuple) else article_document(a) for a in articles]
    chunks = ArticleChunker(config.chunk_size, config.chunk_overlap).run(docs)["documents"]
    normalizer = TextNormalizer(text_field="faq_text", prefix_fields=["title", "section"])
    return normalizer.run(chunks)["documents"]


def build_index(
    articles: Iterable[ArticleContent | tuple[ArticleContent, int]],
    config: Config,
    cache_path: str | Path | None = None,
) -> str:
    """A full index version of ``articles`` through ``ingest.pipeline.index_articles`` (real
    model; embeddings through ``cache_path``). Returns the live version's name."""
    from ingest.pipeline import index_articles

    return index_articles(list(articles), config, full=True, cache_path=cache_path).version


def sample_articles() -> list[ArticleContent]:
    """Every article under ``articles/`` (not ``_history``), parsed from its Markdown."""
    paths = sorted(p for p in ARTICLES_DIR.rglob("*.md") if "_history" not in p.parts)
    return [parse_markdown(p.read_text(encoding="utf-8"), str(p)) for p in paths]


def _pickup_policy_body() -> str:
    """A long policy: many sections, so the index holds plenty of non-regulation chunks."""
    topics = ["预约时间", "上门范围", "取件费用", "超时补偿", "大件取件", "改约规则", "夜间取件"]
    parts = []
    for i, topic in enumerate(topics, start=1):
        parts.append(
            f"## {topic}\n\n"
            f"第{i}条：关于{topic}，快递员应在约定时段内上门取件，并提前三十分钟电话联系寄件人。"
            f"寄件人临时不在时，可以在 App 中改约一次，改约不收取额外费用。"
            f"遇到暴雨等恶劣天气，{topic}相关安排可以顺延，顺延后请以短信通知为准。"
        )
    return "\n\n".join(parts) + "\n"


def small_kb() -> list[ArticleContent]:
    """A small knowledge base for retrieval and suggest tests.

    Covers: an FAQ with similar questions, a Traditional-Chinese FAQ, a Simplified policy
    with sections, an internal policy, two versions of a points rule with effective dates
    that do not overlap today (2026-11-22: the 2026 rule is in force, the 2027 one not yet),
    regulations with tags, an English FAQ, and a long policy with many chunks.
    """
    from datetime import date

    from kb.model import ArticleType, Audience

    faq, policy, reg = ArticleType.FAQ, ArticleType.POLICY, ArticleType.REGULATION
    return [
        ArticleContent(
            id="faq-refund",
            type=faq,
            title="退款到账时间",
            question="退款多久能到账？",
            similar_questions=["钱什么时候退回来", "退款几天到账", "退款怎么还没到"],
            body="退款发起后，微信和支付宝 1 个工作日内到账，银行卡 3 到 7 个工作日到账。"
            "超过时间仍未到账的，请联系客服查询退款流水号。\n",
            tags=["退款"],
        ),
        ArticleContent(
            id="faq-lost-tw",
            type=faq,
            title="包裹遺失怎麼辦",
            question="包裹遺失了怎麼辦？",
            similar_questions=["快遞丟了怎麼處理", "東西寄丟了能賠嗎"],
            body="請先在 App 申請查件，查件期最長 7 個自然日。期滿仍未找到的認定為遺失，"
            "保價件按聲明價值賠償，未保價件最高賠償運費的 5 倍。\n",
            lang="zh-TW",
            tags=["丟失"],
        ),
        ArticleContent(
            id="policy-returns",
            type=policy,
            title="优选退换货规则",
            body="本规则适用于鲸驿优选商城的商品。\n\n"
            "## 七天无理由退货\n\n"
            "自签收次日起 7 日内可以申请无理由退货，商品需完好。无理由退货的运费由买家承担，"
            "使用上门取件统一收取 8 元。\n\n"
            "## 质量问题\n\n"
            "商品有质量问题的，签收后 15 日内可以换货，来回运费由商城承担。"
            "质检报告由商城在 3 个工作日内出具。\n",
            tags=["退货", "优选"],
        ),
        ArticleContent(
            id="policy-escalation-internal",
            type=policy,
            title="客户威胁曝光时的升级流程（内部）",
            body="客户威胁投诉到媒体或监管部门时，一线客服应立即升级到值班主管，"
            "值班主管内线电话 8001。升级后 30 分钟内由主管回电客户。\n",
            audience=Audience.INTERNAL,
            tags=["升级", "投诉"],
        ),
        ArticleContent(
            id="policy-points-2026",
            type=policy,
            title="会员积分规则（2026年底前适用）",
            body="积分有效期为获得当年及次年年底。100 积分可以抵扣 1 元运费，"
            "每单最多抵扣运费的 50%。\n",
            effective_from=date(2025, 1, 1),
            effective_to=date(2026, 12, 31),
            tags=["积分"],
        ),
        ArticleContent(
            id="policy-points-2027",
            type=policy,
            title="会员积分规则（2027年起施行）",
            body="自 2027 年 1 月 1 日起，积分有效期改为获得之日起 12 个月。"
            "50 积分可以抵扣 1 元运费，每单最多抵扣运费的 30%。\n",
            effective_from=date(2027, 1, 1),
            tags=["积分"],
        ),
        ArticleContent(
            id="reg-consumer",
            type=reg,
            title="消费者权益保护法摘要",
            body="## 第五十五条\n\n"
            "经营者提供商品或者服务有欺诈行为的，应当按照消费者的要求增加赔偿其受到的损失，"
            "增加赔偿的金额为消费者购买商品的价款或者接受服务的费用的三倍。\n\n"
            "## 第二十五条\n\n"
            "经营者采用网络方式销售商品，消费者有权自收到商品之日起七日内退货，且无需说明理由。\n\n"
            "## 第二十九条\n\n"
            "经营者收集、使用消费者个人信息，应当遵循合法、正当、必要的原则。\n",
            tags=["法规", "消费者"],
        ),
        ArticleContent(
            id="reg-express",
            type=reg,
            title="快递暂行条例摘要",
            body="## 保价快件\n\n"
            "快件延误、丢失、损毁或者内件短少的，对保价的快件，应当按照经营快递业务的企业"
            "与寄件人约定的保价规则确定赔偿责任。\n\n"
            "## 未保价快件\n\n"
            "对未保价的快件，依照民事法律的有关规定确定赔偿责任。\n",
            tags=["法规", "快递"],
        ),
        ArticleContent(
            id="faq-refund-en",
            type=faq,
            title="When will my refund arrive?",
            question="How long does a refund take?",
            similar_questions=["when do I get my money back"],
            body="Refunds reach WeChat Pay and Alipay within 1 working day and bank cards in "
            "3-7 working days. If it takes longer, contact customer service.\n",
            lang="en",
            tags=["refund"],
        ),
        ArticleContent(
            id="policy-pickup",
            type=policy,
            title="上门取件规则",
            body=_pickup_policy_body(),
            tags=["取件"],
        ),
    ]
