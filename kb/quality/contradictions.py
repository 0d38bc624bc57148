"""Contradictions: two articles whose figures for the same thing disagree.

Two figures (``kb.figures``) of *different* articles contradict when they are of the
same kind and base unit (days and hours compare; working days only with working
days), bound the same way (both a ceiling or both a floor), differ in value, and
are about the same thing: their clauses share content words (``MIN_SHARED`` of
them, and at least ``MIN_OVERLAP`` of the smaller clause's words). They do *not*
contradict when they apply to different scopes: the clause or the article title
names a different member tier, product, region or promotion (``scope_of``), or
when the two articles are never in force at the same time (effective dates).

``conflicts_for`` compares one version with the published articles (what the
author sees on submit and the reviewer before approving, the version's own
article excluded: a new version replacing an older one is not a contradiction);
``conflicts_across`` compares every pair of published articles (``kb conflicts``).
Candidates are found through the figures' words (an inverted index), so neither
needs the search index or the embedding model.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import NotFound
from kb.figures import Figure, clause_terms, extract_figures
from kb.model import State
from kb.store.tables import ArticleVersion

MIN_SHARED = 1
MIN_OVERLAP = 0.5
SAME_CLAUSE = 0.6
FULL_SENTENCE = 20  # characters: shorter is a title, a heading or a question
#: A figure word found in more articles than this share (and at least COMMON_TERM_MIN) picks
#: no candidates by itself (see ``_candidates``).
COMMON_TERM_SHARE = 0.02
COMMON_TERM_MIN = 50
#: words that make a statement apply to one part of the customers or the goods only
SCOPE_WORDS = re.compile(
    r"普通会员|银卡|金卡|钻石|铂金|黑金|白金|黄金会员|plus|svip|vip|新用户|老用户|学生"
    r"|企业|个人|月结|国际|国内|港澳台|海外|跨境|偏远|同城|省内|跨省|市内"
    r"|生鲜|冷链|大件|家电|数码|手机|服装|食品|药品|易碎|贵重"
    r"|特快|标快|经济|次日达|当日达|加急|定制|预售|二手|活动|促销|大促|618|双11|双十一"
    r"|无理由|质量问题|损毁|损坏|破损|短少|丢失|延误|内部|欺诈|风控"
    r"|international|domestic|overseas|cross-border"
)
#: words too common in customer-service text to say on their own what a figure is about
GENERIC_TERMS = frozenset(
    """
    申请 签收 处理 下单 收取 联系 派送 期限 账户 完成 时间 时效 办理 提交 客户 快件 快递
    服务 订单 运费 本票 超出 超过 发起 给出 到账 补偿 赔偿 费用 金额 按照 规定 支持 提供
    寄件 收件 揽收 上门 内件 之日 收到 商品 顾客 用户 公司 我们 鲸驿 需要 可以 之内 左右
    """.split()  # noqa: SIM905 (a readable table)
)
PROMOTIONS = frozenset({"活动", "促销", "大促", "618", "双11", "双十一"})
QUOTED = re.compile(r"[“\"]([^”\"]{1,20})[”\"]")
DOCUMENT = re.compile(r"《([^》]{1,60})》")


@dataclass(frozen=True)
class ArticleFacts:
    """What contradiction checks need of one article version."""

    article_id: str
    version: int
    title: str
    figures: tuple[Figure, ...]
    topic: frozenset[str] = frozenset()
    effective_from: date | None = None
    effective_to: date | None = None


@dataclass(frozen=True)
class Contradiction:
    """Two figures of two articles that disagree about the same thing."""

    article_id: str
    version: int
    figure: Figure
    other_id: str
    other_version: int
    other_figure: Figure
    shared: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, both sentences side by side."""
        return {
            "kind": self.figure.kind,
            "article_id": self.article_id,
            "version": self.version,
            "figure": self.figure.text,
            "sentence": self.figure.sentence,
            "other_article_id": self.other_id,
            "other_version": self.other_version,
            "other_figure": self.other_figure.text,
            "other_sentence": self.other_figure.sentence,
            "about": list(self.shared),
        }


def facts_of(
    article_id: str,
    version: int,
    title: str,
    text: str,
    tags: Iterable[str] = (),
    effective_from: date | None = None,
    effective_to: date | None = None,
) -> ArticleFacts:
    """The figures of one article's text (title, an FAQ's question, body) and its topic
    words (tags and title words)."""
    figures = tuple(extract_figures(text))
    topic = frozenset(t.lower() for t in tags) | (clause_terms(title) - GENERIC_TERMS)
    return ArticleFacts(article_id, version, title, figures, topic, effective_from, effective_to)


def scope_of(text: str) -> frozenset[str]:
    """The scope words (tiers, products, regions, promotions, quoted names) in ``text``."""
    lowered = text.lower()
    found = {m.group() for m in SCOPE_WORDS.finditer(lowered)}
    found.update(
        name for name in (m.group(1).strip() for m in QUOTED.finditer(lowered)) if _a_name(name)
    )
    found.update(m.group(1).strip() for m in DOCUMENT.finditer(lowered))
    return frozenset(found)


def _a_name(quoted: str) -> bool:
    """A quoted product or service name ("鲸驿特快"), not a menu path ("我的—发票服务")."""
    return len(quoted) <= 10 and not re.search(r"[—\-/>›]", quoted)


def _same_scope(a: Figure, a_title: str, b: Figure, b_title: str) -> bool:
    """The two sentences name the same scope words, and the titles do not name disjoint
    ones ("金卡会员..." vs a rule for everyone; "生鲜..." vs "大家电...")."""
    if scope_of(a.sentence) != scope_of(b.sentence):
        return False
    a_scope, b_scope = scope_of(a_title), scope_of(b_title)
    if bool(a_scope & PROMOTIONS) != bool(b_scope & PROMOTIONS):
        return False  # a promotion's figures hold during the promotion only
    return not (a_scope and b_scope and not a_scope & b_scope)


def _mentioned_together(a: Figure, b_figures: tuple[Figure, ...], b: Figure) -> bool:
    """``b``'s sentence also states ``a``'s value ("由 30% 提高至 50%")."""
    return any(
        f.sentence == b.sentence and f.kind == a.kind and f.value == a.value for f in b_figures
    )


def figures_disagree(a: Figure, a_title: str, b: Figure, b_title: str) -> tuple[str, ...]:
    """The words two figures of two articles share when they state different values for
    the same thing in the same scope; ``()`` when they do not disagree."""
    shared = _shared(a, b)
    if not shared or not _same_scope(a, a_title, b, b_title):
        return ()
    return shared


def _in_force_together(a: ArticleFacts, b: ArticleFacts) -> bool:
    """False when one article's effective period ends before the other's begins."""
    if a.effective_to and b.effective_from and a.effective_to < b.effective_from:
        return False
    return not (b.effective_to and a.effective_from and b.effective_to < a.effective_from)


def _shared(a: Figure, b: Figure) -> tuple[str, ...]:
    """The words two comparable figures share, if they are about the same thing."""
    if (a.kind, a.unit, a.bound) != (b.kind, b.unit, b.bound) or a.value == b.value:
        return ()
    shared = a.terms & b.terms
    smaller = min(len(a.terms), len(b.terms)) or 1
    if len(shared) < MIN_SHARED or len(shared) / smaller < MIN_OVERLAP:
        return ()
    if shared <= GENERIC_TERMS and len(shared) / len(a.terms | b.terms) < SAME_CLAUSE:
        return ()  # only common words in common, and the clauses are not alike
    if a.after and b.after and not a.after & b.after:
        return ()  # they limit different things ("7天内申请" vs "48小时内完成验收")
    return tuple(sorted(shared, key=lambda w: (-len(w), w)))


def compare(a: ArticleFacts, b: ArticleFacts) -> list[Contradiction]:
    """The contradictions between two articles (none for two versions of one article)."""
    if a.article_id == b.article_id or not _in_force_together(a, b):
        return []
    if not a.topic & b.topic:
        return []
    found = []
    for fa in a.figures:
        for fb in b.figures:
            shared = _shared(fa, fb)
            if not shared or not _same_scope(fa, a.title, fb, b.title):
                continue
            if not _mentioned_together(fa, b.figures, fb) and not _mentioned_together(
                fb, a.figures, fa
            ):
                found.append(
                    Contradiction(a.article_id, a.version, fa, b.article_id, b.version, fb, shared)
                )
    return _one_per_figure_pair(found)


def _one_per_figure_pair(found: list[Contradiction]) -> list[Contradiction]:
    """One contradiction per figure and other article: the pair of sentences sharing the
    most words (a title or a question restating the figure is not listed again)."""
    best: dict[tuple[str, str, str], Contradiction] = {}
    for item in found:
        key = (item.figure.sentence, item.figure.text, item.other_id)
        kept = best.get(key)
        if kept is None or _rank(item) > _rank(kept):
            best[key] = item
    return list(best.values())


def _rank(item: Contradiction) -> tuple[bool, int, int]:
    """A full sentence before a heading or title, then the most shared words."""
    sentence = item.other_figure.sentence
    return len(sentence) >= FULL_SENTENCE, len(item.shared), len(sentence)


def _candidates(article: ArticleFacts, index: dict[tuple, set[int]], cap: int) -> set[int]:
    """Articles sharing a figure word with ``article``; a word shared by more than ``cap``
    articles is too common to tell what a figure is about (签收, 运费 in every FAQ) and
    finds no candidates by itself, which keeps a whole-knowledge-base scan near linear."""
    found: set[int] = set()
    for figure in article.figures:
        for term in figure.terms:
            holders = index.get((figure.kind, figure.unit, term), set())
            if len(holders) <= cap:
                found |= holders
    return found


def _term_index(articles: Sequence[ArticleFacts]) -> dict[tuple, set[int]]:
    index: dict[tuple, set[int]] = defaultdict(set)
    for position, article in enumerate(articles):
        for figure in article.figures:
            for term in figure.terms:
                index[(figure.kind, figure.unit, term)].add(position)
    return index


def _common_cap(count: int) -> int:
    """How many articles a figure word may appear in and still pick candidates."""
    return max(COMMON_TERM_MIN, int(count * COMMON_TERM_SHARE))


def conflicts_for(article: ArticleFacts, published: Iterable[ArticleFacts]) -> list[Contradiction]:
    """What ``article`` contradicts among ``published`` (its own article left out)."""
    others = [p for p in published if p.article_id != article.article_id]
    index = _term_index(others)
    found = []
    for position in sorted(_candidates(article, index, _common_cap(len(others)))):
        found.extend(compare(article, others[position]))
    return found


def conflicts_across(published: Sequence[ArticleFacts]) -> list[Contradiction]:
    """Every contradiction between two of ``published`` (each pair reported once)."""
    index = _term_index(published)
    cap = _common_cap(len(published))
    found = []
    for position, article in enumerate(published):
        for other in sorted(_candidates(article, index, cap)):
            if other > position:
                found.extend(compare(article, published[other]))
    return found


# --- the stored articles ------------------------------------------------------------------

FACT_COLUMNS = (
    ArticleVersion.article_id,
    ArticleVersion.version,
    ArticleVersion.title,
    ArticleVersion.question,
    ArticleVersion.body,
    ArticleVersion.tags,
    ArticleVersion.effective_from,
    ArticleVersion.effective_to,
)


def _row_text(row: Any) -> str:
    return "\n".join(part for part in (row.title, row.question, row.body) if part)


def _row_facts(row: Any) -> ArticleFacts:
    return facts_of(
        row.article_id,
        row.version,
        row.title,
        _row_text(row),
        row.tags or (),
        row.effective_from,
        row.effective_to,
    )


def published_facts(session: Session, mentioning: set[str] | None = None) -> list[ArticleFacts]:
    """The figures of every published version (only those whose text mentions one of
    ``mentioning``, if given: a cheap filter before segmenting their text)."""
    query = select(*FACT_COLUMNS).where(ArticleVersion.state == str(State.PUBLISHED))
    found = []
    for row in session.execute(query.order_by(ArticleVersion.article_id)):
        if mentioning is not None:
            text = _row_text(row).lower()
            if not any(word in text for word in mentioning):
                continue
        found.append(_row_facts(row))
    return found


def version_conflicts(session: Session, article_id: str, version: int) -> list[Contradiction]:
    """What one stored version contradicts among the published articles of others."""
    row = session.execute(
        select(*FACT_COLUMNS).where(
            ArticleVersion.article_id == article_id, ArticleVersion.version == version
        )
    ).first()
    if row is None:
        raise NotFound(f"article '{article_id}' has no version {version}")
    facts = _row_facts(row)
    words = {term for figure in facts.figures for term in figure.terms}
    if not words:
        return []
    return conflicts_for(facts, published_facts(session, words))


def all_conflicts(session: Session) -> list[Contradiction]:
    """Every contradiction between two published articles."""
    return conflicts_across(published_facts(session))
