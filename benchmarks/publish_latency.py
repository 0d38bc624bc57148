"""Publish latency: from publishing one changed article in a knowledge base of 10,000 FAQ
entries to that change being searchable.

Set-up (not timed): a fresh knowledge base (SQLite, index under a temporary KB_HOME),
N generated FAQ entries bootstrap-published (``review.importing``), the index built by
``ingest.sync.sync_index``, and the process's reader (``Runtime.search_index``, which the
API and the app search through) serving it. An index update in the same
process builds on that reader's snapshot and hands it the new version, built in
memory. Then an editor changes one article's answer to contain a new word, and it is
submitted and approved.

Embedding the N set-up texts with the real model takes ~2.5 minutes on an idle 2-core
machine (~70 short passages/s) and far longer on a busy one, and the latency does not
depend on their vectors' values. So by default the embedding cache is first filled in
bulk with random unit vectors for exactly the texts the pipeline will embed (same model
id, same text hashes); the build then computes nothing, and the index has the real
shape: N chunks, 384-d. ``--real-vectors`` embeds them with the model instead
(``--cache FILE`` keeps that cache for reruns). The timed publishes always embed the
changed article with the real model: its new text is in no cache.

Timed, twice:

1. in process (a long-running front end publishing): ``workflow.publish`` commits, the
   review outbox is dispatched to ``IndexSync`` (what the CLI hook does after every
   publishing command), the reader reloads, and a BM25 search for the new word returns
   the changed article. Printed with the steps and the embeddings computed.
2. the CLI: ``kb publish ID`` in a new process (its start, imports and model load
   included; the hook updates the index before it exits), then the reader reloads and
   finds the change.

Target: <= 2 s from the publish to the change being searchable.
Runtime here (2 cores): about 1 minute; with ``--real-vectors`` add the embedding of
N texts (~2.5 minutes idle, 30+ minutes when the machine is shared and busy).

    .venv/bin/python benchmarks/publish_latency.py
    .venv/bin/python benchmarks/publish_latency.py --real-vectors --cache /tmp/kb-cache.sqlite3
    .venv/bin/python benchmarks/publish_latency.py --no-cli   # the in-process publish only
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TOPICS = ["退款", "物流", "理赔", "发票", "会员", "地址", "取件", "投诉", "保价", "改约"]
PEOPLE = {"root": ["admin"], "ann": ["author"], "rex": ["reviewer"], "pia": ["publisher"]}


def faq_entries(n: int) -> list[Any]:
    """``n`` FAQ articles (question, two similar questions, a one-sentence answer)."""
    from kb.model import ArticleContent, ArticleType

    entries = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        entries.append(
            ArticleContent(
                id=f"bench-faq-{i:05d}",
                type=ArticleType.FAQ,
                title=f"{topic}问题{i}",
                question=f"{topic}问题{i}：我的订单{i}该怎么处理？",
                similar_questions=[f"{topic}{i}怎么办", f"请问{topic}第{i}条"],
                body=f"关于{topic}第{i}条：请在APP中提交申请，客服将在24小时内处理。\n",
                tags=[topic],
            )
        )
    return entries


def prefill_cache(config: Any, entries: list[Any], cache: Path) -> int:
    """Put random unit vectors for the texts the pipeline will embed into the cache."""
    import numpy as np

    from ingest.pipeline import STAGES, build_indexing_pipeline
    from kb.embedders import EmbeddingCache, text_key

    pipeline = build_indexing_pipeline(config, cache_path=cache)
    docs = pipeline.get_component("converter").run(articles=[(e, 1) for e in entries])
    docs = docs["documents"]
    for name in STAGES[1:4]:  # cleaner, chunker, normalizer
        docs = pipeline.get_component(name).run(documents=docs)["documents"]
    embedder = pipeline.get_component("embedder")
    texts = list(dict.fromkeys(embedder.text_of(d) for d in docs))
    vectors = np.random.default_rng(0).normal(size=(len(texts), embedder.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = EmbeddingCache(cache)
    store.put_many(embedder.model_id, zip(map(text_key, texts), vectors, strict=True))
    store.close()
    return len(texts)


def prefill_questions(config: Any, entries: list[Any], cache: Path) -> int:
    """Random unit vectors for every FAQ question, as the FAQ matcher caches them."""
    import numpy as np

    from kb.embedders import EmbedderSpec, EmbeddingCache, create_backend, text_key
    from kb.search.faq import question_embedder
    from kb.text import normalize_for_matching

    embedder = question_embedder(create_backend(EmbedderSpec.from_config(config)))
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


def setup(home: Path, n: int, cache: Path, real_vectors: bool) -> tuple[Any, Any]:
    """The database with n published FAQ entries and a built index: (db, config)."""
    from ingest.sync import sync_index
    from kb.config import Config
    from kb.embedders import default_cache_path
    from kb.store.db import Database
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
    start = time.perf_counter()
    entries = faq_entries(n)
    with db.session() as session:
        importing.import_articles(session, "root", [(e, "bench") for e in entries], publish=True)
    print(f"set-up: {n:,} FAQ entries published in {time.perf_counter() - start:.1f} s")
    if not real_vectors:
        start = time.perf_counter()
        filled = prefill_cache(config, entries, cache)
        # The FAQ questions' vectors, where the CLI's golden gate and FAQ matcher look
        # (a running front end embeds them once, at its first search).
        questions_cache = default_cache_path(config)
        questions_cache.parent.mkdir(parents=True, exist_ok=True)
        filled += prefill_questions(config, entries, questions_cache)
        print(
            f"set-up: cache filled with {filled:,} random unit vectors (not the model's) "
            f"in {time.perf_counter() - start:.1f} s"
        )
    report = sync_index(db, config, cache_path=cache, progress=True)
    print(
        f"set-up: index built: {report.chunks:,} chunks, {report.computed:,} embeddings "
        f"computed in {report.seconds:.1f} s"
    )
    return db, config


def prepare_change(db: Any, article_id: str, word: str) -> None:
    """A new version of the article with ``word`` in its answer, submitted and approved."""
    from kb.store.articles import published_versions, to_content
    from review import editing, workflow

    with db.session() as session:
        row = next(r for r in published_versions(session) if r.article_id == article_id)
        content = to_content(row)
        content.body = content.body.rstrip() + f" 新增说明：暗号 {word} 可加急。\n"
        editing.new_draft(session, "ann", article_id, content)
    with db.session() as session:
        workflow.submit(session, "ann", article_id)
    with db.session() as session:
        workflow.approve(session, "rex", article_id)


def found(reader: Any, word: str, article_id: str) -> bool:
    """Whether a BM25 search for ``word`` returns the article first (reloading if needed)."""
    reader.refresh()
    hits = reader.snapshot().bm25_search(word, 1)
    return bool(hits) and hits[0][0].meta["article_id"] == article_id


def in_process(db: Any, config: Any, runtime: Any, cache: Path, article_id: str) -> None:
    """Publish and update the index in this process (its ``runtime``); print the timings."""
    from ingest.sync import IndexSync
    from kb.store import outbox
    from review import workflow

    word = "zqxv2027"
    prepare_change(db, article_id, word)
    reader = runtime.search_index
    assert not found(reader, word, article_id)
    updater = IndexSync(config, cache_path=cache, resources=runtime.resources)
    cpu = time.process_time()
    t0 = time.perf_counter()
    with db.session() as session:
        workflow.publish(session, "pia", article_id)
    t1 = time.perf_counter()
    events = outbox.dispatch(db, updater)
    t2 = time.perf_counter()
    reader.refresh()
    t3 = time.perf_counter()
    ok = found(reader, word, article_id)
    t4 = time.perf_counter()
    cpu = time.process_time() - cpu
    report = updater.last_report
    print(
        f"in process: publish -> searchable {t4 - t0:.2f} s (found: {ok}) = publish commit "
        f"{t1 - t0:.2f} + index update {t2 - t1:.2f} ({events} event, {report.computed} "
        f"embedding(s) computed, {report.chunks} chunk(s) written) + reader reload "
        f"{t3 - t2:.2f} + search {t4 - t3:.3f}; CPU time {cpu:.2f} s, load average "
        f"{os.getloadavg()[0]:.1f}"
    )


def via_cli(db: Any, config: Any, reader: Any, article_id: str) -> None:
    """Publish with ``kb publish`` in a new process; print the wall time until searchable."""
    word = "wyvk2028"
    prepare_change(db, article_id, word)
    assert not found(reader, word, article_id)
    kb = Path(sys.executable).with_name("kb")
    env = {**os.environ, "KB_HOME": str(config.home)}
    t0 = time.perf_counter()
    result = subprocess.run(
        [str(kb), "publish", article_id, "--as", "pia"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    t1 = time.perf_counter()
    if result.returncode != 0:
        sys.exit(f"kb publish failed: {result.stderr.strip()}")
    ok = found(reader, word, article_id)
    t2 = time.perf_counter()
    line = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    print(
        f"CLI: `kb publish` -> searchable {t2 - t0:.2f} s (found: {ok}) = command "
        f"{t1 - t0:.2f} (process start, imports, model load, publish, index update) + reader "
        f"reload and search {t2 - t1:.2f}\n     hook said: {line}"
    )


def main() -> None:
    """Set up, then time both ways of publishing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="FAQ entries (default 10,000)")
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache file to reuse")
    parser.add_argument(
        "--no-cli", action="store_true", help="time the in-process publish only (no kb publish)"
    )
    parser.add_argument(
        "--real-vectors", action="store_true", help="embed the set-up texts with the model"
    )
    args = parser.parse_args()

    import kb  # noqa: F401 - environment defaults
    from kb.runtime import Runtime

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        cache = args.cache or Path(tmp) / "embeddings.sqlite3"
        db, config = setup(home, args.n, cache, args.real_vectors)
        runtime = Runtime(config, db=db)  # as the API and the app hold one
        reader = runtime.search_index  # the reader they search through
        start = time.perf_counter()
        snapshot = reader.snapshot()
        print(f"reader: {len(snapshot):,} chunks loaded in {time.perf_counter() - start:.2f} s")
        in_process(db, config, runtime, cache, f"bench-faq-{args.n * 42 // 100:05d}")
        # the CLI's changed chunk is new text too: no cache can help it
        if not args.no_cli:
            via_cli(db, config, reader, f"bench-faq-{args.n * 77 // 100:05d}")
        db.dispose()


if __name__ == "__main__":
    main()
