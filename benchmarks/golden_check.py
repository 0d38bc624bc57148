"""Golden check timing: one changed article in a knowledge base of 10,000 articles with
1,000 golden questions (plus the FAQs' own questions, which are golden too).

Set-up (not timed): a fresh knowledge base (SQLite, index under a temporary KB_HOME) with
N generated articles bootstrap-published (every tenth an FAQ with a standard and two
similar questions, the others one-paragraph policies), the index built by
``ingest.sync.sync_index``, and G manual golden questions (a rewording of an article's
topic, expecting that article). As in ``publish_latency.py``, the set-up texts and the
FAQ questions get random unit vectors in the embedding cache (embedding 10,000 texts with
the model takes minutes, and the timing does not depend on the vectors' values), and so
does the changed article's new text (a real vector among random ones would be every
question's nearest chunk); the golden questions and every search query are embedded by
the real model.

Timed: ``review.golden.check`` of one approved new version of an FAQ (its answer
reworded), twice: cold (process start-up aside: models, index and the FAQ question index
loaded, golden questions embedded) and warm (what a long-running front end or a second
check pays). Printed: questions checked, questions the candidate filter kept for the full
search, the time of each step (shadow index, candidate filter, full searches) and the
outcome counts.

    .venv/bin/python benchmarks/golden_check.py [--n 10000] [--golden 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TOPICS = ["退款", "物流", "理赔", "发票", "会员", "地址", "取件", "投诉", "保价", "改约"]
PEOPLE = {"root": ["admin"], "ann": ["author"], "rex": ["reviewer"], "pia": ["publisher"]}


def articles(n: int) -> list[Any]:
    """``n`` articles: every tenth an FAQ (three questions), the rest policies."""
    from kb.model import ArticleContent, ArticleType

    out = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        if i % 10 == 0:
            out.append(
                ArticleContent(
                    id=f"bench-{i:05d}",
                    type=ArticleType.FAQ,
                    title=f"{topic}问题{i}",
                    question=f"{topic}问题{i}：我的订单{i}该怎么处理？",
                    similar_questions=[f"{topic}{i}怎么办", f"请问{topic}第{i}条"],
                    body=f"关于{topic}第{i}条：请在APP中提交申请，客服将在24小时内处理。\n",
                    tags=[topic],
                )
            )
        else:
            out.append(
                ArticleContent(
                    id=f"bench-{i:05d}",
                    type=ArticleType.POLICY,
                    title=f"{topic}规则{i}",
                    body=f"{topic}规则第{i}条：符合条件的订单{i}可以在{i % 30 + 1}个工作日内"
                    f"申请{topic}服务，超过期限的由客服主管审核。\n",
                    tags=[topic],
                )
            )
    return out


def prefill_questions(config: Any, entries: list[Any], cache: Path) -> int:
    """Random unit vectors for every FAQ question, as the FAQ matcher caches them."""
    import numpy as np

    from kb.embedders import EmbeddingCache, shared_backend, text_key
    from kb.faq import question_embedder
    from kb.text import normalize_for_matching

    embedder = question_embedder(shared_backend(config.embedder, "", config.embed_threads))
    texts = [
        normalize_for_matching(q)
        for e in entries
        if e.question
        for q in (e.question, *e.similar_questions)
    ]
    vectors = np.random.default_rng(1).normal(size=(len(texts), embedder.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = EmbeddingCache(cache)
    store.put_many(embedder.model_id, zip(map(text_key, texts), vectors, strict=True))
    store.close()
    return len(texts)


def setup(home: Path, n: int, golden_count: int) -> tuple[Any, Any]:
    """The published knowledge base, its index and the golden questions: (db, config)."""
    from publish_latency import prefill_cache

    from ingest.sync import sync_index
    from kb.config import Config
    from kb.db import Database
    from kb.embedders import default_cache_path
    from kb.golden import add_question
    from review import importing, users

    config = Config(home=home)
    db = Database(config.effective_database_url)
    db.migrate()
    with db.session() as session:
        users.add_user(session, None, "root", PEOPLE["root"])
    with db.session() as session:
        for name, roles in PEOPLE.items():
            if name != "root":
                users.add_user(session, "root", name, roles)
    entries = articles(n)
    start = time.perf_counter()
    with db.session() as session:
        importing.import_articles(session, "root", [(e, "bench") for e in entries], publish=True)
    cache = default_cache_path(config)
    cache.parent.mkdir(parents=True, exist_ok=True)
    prefill_cache(config, entries, cache)
    prefill_questions(config, entries, cache)
    report = sync_index(db, config, cache_path=cache, progress=False)
    with db.session() as session:
        for k in range(golden_count):
            i = (k * 7919) % n  # spread over the knowledge base
            topic = TOPICS[i % len(TOPICS)]
            add_question(session, f"订单{i}的{topic}怎么弄", [f"bench-{i:05d}"], "ann")
    print(
        f"set-up: {n:,} articles published, {report.chunks:,} chunks indexed, "
        f"{golden_count:,} golden questions, in {time.perf_counter() - start:.1f} s"
    )
    return db, config


def change(db: Any, config: Any, article_id: str) -> None:
    """A new version of the FAQ with its answer reworded, submitted and approved.

    Its text gets a random vector in the cache like every other chunk (a real vector
    among random ones would be every question's nearest chunk).
    """
    from publish_latency import prefill_cache

    from kb.articles import get_version, to_content
    from kb.embedders import default_cache_path
    from review import editing, workflow

    with db.session() as session:
        content = to_content(get_version(session, article_id, 1))
        content.body = content.body.replace("24小时内", "两个工作日内") + "节假日顺延。\n"
        editing.new_draft(session, "ann", article_id, content)
    prefill_cache(config, [content], default_cache_path(config))
    with db.session() as session:
        workflow.submit(session, "ann", article_id)
    with db.session() as session:
        workflow.approve(session, "rex", article_id)


def timed_check(db: Any, article_id: str, label: str) -> None:
    """Run the golden check of the article's approved version; print its figures."""
    from review import golden

    start = time.perf_counter()
    with db.session() as session:
        report = golden.check(session, golden.latest_open(session, article_id))
    wall = time.perf_counter() - start
    assert report is not None
    counts = ", ".join(
        f"{k} {len(v)}" for k, v in report.to_dict().items() if k in ("broken", "fixed", "moved")
    )
    print(
        f"{label}: {wall:.2f} s for {report.checked:,} golden questions "
        f"({report.searched:,} kept by the candidate filter for the full search); steps "
        f"{report.steps}; {counts}; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    """Set up, then time the check cold and warm."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="articles (default 10,000)")
    parser.add_argument("--golden", type=int, default=1_000, help="manual golden questions")
    args = parser.parse_args()

    import kb  # noqa: F401 - environment defaults
    from ingest.shadow import ShadowIndexer
    from kb.golden_check import GoldenChecker, register_checker
    from kb.retrieval import Searcher

    with tempfile.TemporaryDirectory() as tmp:
        db, config = setup(Path(tmp) / "home", args.n, args.golden)
        checker = GoldenChecker(Searcher(config), ShadowIndexer(config))
        register_checker(lambda: checker)
        article_id = "bench-00010"
        change(db, config, article_id)
        timed_check(db, article_id, "cold")
        timed_check(db, article_id, "warm")


if __name__ == "__main__":
    main()
