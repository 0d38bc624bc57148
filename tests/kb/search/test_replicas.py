"""Stateless replicas on the ``postgres`` search store, end to end with real parts.

One PostgreSQL (pgserver, pgvector), a knowledge base built into it by ``kb``'s own ingest
(``sync_index`` with ``search_store: postgres``), and two ``kb serve`` processes with
separate working directories (no shared files). An article published through the CLI
(``kb publish``: the index rows change in the publication's transaction) must be answered
by both replicas (the 2 s target itself is measured by ``benchmarks/replicas.py``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kb.config import Config
from kb.search.postgres import PostgresSearchIndex
from kb.store.db import Database
from tests.kb.api.helpers import PROJECT, ServerProcess, build_kb, create_key, faq, server_env
from tests.kb.search.conftest import fresh_database

ARTICLES = [
    faq(
        "faq-return",
        "如何申请退货？",
        "在订单页点击申请退货，签收后7天内可无理由退货。",
        ["怎么退货"],
        "public",
    ),
    faq(
        "faq-delay",
        "快递延误怎么办？",
        "延误可在App查询物流，或联系客服催件。",
        ["快递慢"],
        "public",
    ),
    faq(
        "faq-claim-internal",
        "快件损坏的内部理赔标准？",
        "内部口径：客服可直接批准500元以下赔偿。",
        ["损坏赔偿标准"],
        "internal",
    ),
]
NEW = "faq-points"
NEW_BODY = """---
id: faq-points
type: faq
lang: zh
title: 会员积分可以兑换运费券吗？
question: 会员积分可以兑换运费券吗？
similar_questions: [积分换运费券, 积分怎么用]
audience: public
---
会员积分满100分可兑换5元运费券。
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, pg_server_url: str) -> Iterator[dict]:
    """The shared database, a setup home, a public key and two running replicas."""
    url = fresh_database(pg_server_url, "kb_replicas")
    settings = {"database_url": url, "search_store": "postgres"}
    setup = tmp_path_factory.mktemp("setup")
    config = build_kb(setup, ARTICLES, **settings)
    key = create_key(config, "bot", "suggest", "public")
    replicas = [ServerProcess(tmp_path_factory.mktemp(f"replica{i}"), **settings) for i in range(2)]
    try:
        for replica in replicas:
            replica.start()
        yield {"config": config, "key": key, "replicas": replicas, "home": setup}
    finally:
        for replica in replicas:
            replica.stop()


def _kb(home: Path, config: Config, *args: str) -> subprocess.CompletedProcess[str]:
    env = server_env(home, database_url=config.database_url, search_store="postgres")
    command = [sys.executable, "-m", "kb.cli.main", *args]
    return subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True)


def _answers(base_url: str, key: str, question: str) -> set[str]:
    response = httpx.post(
        base_url + "/v1/suggest",
        json={"question": question},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    items = list(body.get("results") or []) + list(body.get("citations") or [])
    return {item["article_id"] for item in items}


def test_the_search_index_lives_in_the_database(cluster: dict) -> None:
    config = cluster["config"]
    index_dir = Path(config.home) / "index"  # the writer keeps only its sync lock there
    assert not (index_dir / "versions").exists() and not (index_dir / "CURRENT").exists()
    for replica in cluster["replicas"]:  # the replicas read no index files at all
        assert not (replica.home / "index").exists()
    db = Database(config.database_url)
    try:
        view = PostgresSearchIndex(db).snapshot()
        assert set(view.articles()) == {a.id for a in ARTICLES}
    finally:
        db.dispose()


def test_both_replicas_serve_and_guard_the_audience(cluster: dict) -> None:
    for replica in cluster["replicas"]:
        got = _answers(replica.base_url, cluster["key"], "怎么退货")
        assert "faq-return" in got
        assert "faq-claim-internal" not in _answers(
            replica.base_url, cluster["key"], "损坏赔偿标准是多少"
        )


def test_a_cli_publication_is_answered_by_both_replicas(cluster: dict) -> None:
    """Both replicas answer from a new publication without a restart or a shared file.

    The 2 s target is measured by benchmarks/replicas.py; the 30 s here only bounds a hang.
    """
    config, home = cluster["config"], cluster["home"]
    source = home / "new.md"
    source.write_text(NEW_BODY, encoding="utf-8")
    assert (
        _kb(home, config, "users", "add", "rev", "--role", "reviewer", "--as", "root").returncode
        == 0
    )
    for args in (
        ("import", str(source), "--as", "root"),
        ("submit", NEW, "--as", "root"),
        ("approve", NEW, "--as", "rev"),
    ):
        done = _kb(home, config, *args)
        assert done.returncode == 0, done.stderr
    for replica in cluster["replicas"]:  # not served before publication
        assert NEW not in _answers(replica.base_url, cluster["key"], "积分可以换运费券吗")
    done = _kb(home, config, "publish", NEW, "--as", "root")
    assert done.returncode == 0, done.stderr
    published = time.monotonic()
    waiting = {r.base_url for r in cluster["replicas"]}
    while waiting and time.monotonic() - published < 30.0:
        for base_url in sorted(waiting):
            if NEW in _answers(base_url, cluster["key"], "积分可以换运费券吗"):
                waiting.discard(base_url)
        time.sleep(0.05)
    elapsed = time.monotonic() - published
    print(f"publication answered by both replicas after {elapsed:.2f} s")
    assert not waiting, f"not answered after {elapsed:.2f} s by {sorted(waiting)}"
