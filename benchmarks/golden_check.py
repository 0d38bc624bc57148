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

Timed: embedding the G golden questions, as adding them does (``GoldenChecker.prepare``;
the FAQs' questions are in the cache since ingest); then ``review.golden.check`` of an
approved new version of an FAQ (its answer reworded): cold (the first check in the
process: the live candidate lists of every golden question computed, the FAQ question
indexes built, every kept question searched on the live index too), then warm on a
*different* changed FAQ (what a running app pays for the next change: live lists and live
answers kept), then that same version again. Printed: questions checked, questions kept
for the full search, the time of each step (live lists, shadow index, filter, full
searches) and the outcome counts.

With ``--cli`` the checks run as ``kb check ID --json`` in fresh processes instead (what
CI, ``kb submit`` and ``kb publish`` pay): the first computes the live lists and stores
them next to the index version (``kb.quality.golden_store``), the next ones read them. Printed
per run: the process's wall time (start-up, model and index loading included) and the
report's steps.

    .venv/bin/python benchmarks/golden_check.py [--n 10000] [--golden 1000] [--cli]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PLACES = [
    "北京",
    "上海",
    "广州",
    "深圳",
    "成都",
    "杭州",
    "武汉",
    "西安",
    "南京",
    "重庆",
    "天津",
    "苏州",
]
GOODS = [
    "手机",
    "文件",
    "生鲜",
    "药品",
    "家电",
    "衣服",
    "图书",
    "茶叶",
    "酒水",
    "电脑",
    "鞋子",
    "玩具",
]
PROBLEMS = [
    "延误",
    "丢失",
    "破损",
    "错发",
    "少件",
    "拒收",
    "退回",
    "滞留",
    "改址",
    "催派",
    "投诉",
    "理赔",
]
ACTIONS = [
    "赔偿",
    "补发",
    "退款",
    "加急",
    "核实",
    "登记",
    "回访",
    "改约",
    "转寄",
    "拦截",
    "升级",
    "取消",
]
PEOPLE = {"root": ["admin"], "ann": ["author"], "rex": ["reviewer"], "pia": ["publisher"]}


def combos(n: int) -> list[tuple[str, str, str, str]]:
    """``n`` distinct (place, goods, problem, action) combinations, in a fixed random order."""
    import itertools
    import random

    every = list(itertools.product(PLACES, GOODS, PROBLEMS, ACTIONS))
    random.Random(7).shuffle(every)
    return [every[i % len(every)] for i in range(n)]


def articles(n: int) -> list[Any]:
    """``n`` articles: every tenth an FAQ (three questions), the rest policies."""
    from kb.model import ArticleContent, ArticleType

    out = []
    for i, (place, goods, problem, action) in enumerate(combos(n)):
        if i % 10 == 0:
            out.append(
                ArticleContent(
                    id=f"bench-{i:05d}",
                    type=ArticleType.FAQ,
                    title=f"{place}{goods}{problem}",
                    question=f"{place}寄的{goods}{problem}了怎么办？",
                    similar_questions=[f"{goods}{problem}能{action}吗", f"{place}{goods}{problem}"],
                    body=f"{place}发出的{goods}如遇{problem}，核实后可以{action}，"
                    f"编号 Q{i} 的工单在{i % 5 + 1}个工作日内处理。\n",
                    tags=[problem],
                )
            )
        else:
            out.append(
                ArticleContent(
                    id=f"bench-{i:05d}",
                    type=ArticleType.POLICY,
                    title=f"{place}{goods}{problem}处理规则",
                    body=f"{place}网点收寄的{goods}发生{problem}的，客服应先核实运单，"
                    f"符合条件的在{i % 30 + 1}个工作日内{action}，规则编号 R{i}。\n",
                    tags=[problem],
                )
            )
    return out


def setup(home: Path, n: int, golden_count: int) -> tuple[Any, Any]:
    """The published knowledge base, its index and the golden questions: (db, config)."""
    from publish_latency import prefill_cache, prefill_questions

    from ingest.sync import sync_index
    from kb.config import Config
    from kb.embedders import default_cache_path
    from kb.quality.golden import add_question
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
        every = combos(n)
        for k in range(golden_count):
            i = (k * 7919) % n  # spread over the knowledge base
            place, goods, problem, action = every[i]
            question = f"{place}的{goods}{problem}了，可以{action}吗"
            add_question(session, question, [f"bench-{i:05d}"], "ann")
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

    from kb.embedders import default_cache_path
    from kb.store.articles import get_version, to_content
    from review import editing, workflow

    with db.session() as session:
        content = to_content(get_version(session, article_id, 1))
        content.body = content.body.rstrip() + "节假日顺延，周末不处理。\n"
        editing.new_draft(session, "ann", article_id, content)
    prefill_cache(config, [content], default_cache_path(config))
    with db.session() as session:
        workflow.submit(session, "ann", article_id)
    with db.session() as session:
        workflow.approve(session, "rex", article_id)


def timed_check(db: Any, checker: Any, article_id: str, label: str) -> None:
    """Run the golden check of the article's approved version; print its figures."""
    from review import golden

    start = time.perf_counter()
    with db.session() as session:
        report = golden.check(session, golden.latest_open(session, article_id), lambda: checker)
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


def cli_check(home: Path, article_id: str, label: str) -> None:
    """Run ``kb check ARTICLE --json`` in a fresh process; print its figures."""
    env = {**os.environ, "KB_HOME": str(home), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "kb.cli.main", "check", article_id, "--as", "rex", "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"kb check failed ({done.returncode}): {done.stdout}{done.stderr}")
    [report] = json.loads(done.stdout)
    counts = ", ".join(f"{k} {len(report[k])}" for k in ("broken", "fixed", "moved"))
    print(
        f"{label}: process {wall:.2f} s, check {report['seconds']:.2f} s for "
        f"{report['checked']:,} golden questions ({report['searched']:,} kept); live lists "
        f"from {report['lists_from']}; steps {report['steps']}; {counts}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    """Set up, then time the check cold and warm."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="articles (default 10,000)")
    parser.add_argument("--golden", type=int, default=1_000, help="manual golden questions")
    parser.add_argument("--cli", action="store_true", help="check in fresh `kb check` processes")
    args = parser.parse_args()

    import kb  # noqa: F401 - environment defaults
    from ingest.shadow import ShadowIndexer
    from kb.quality.golden import golden_set
    from kb.quality.golden_check import GoldenChecker
    from kb.search.retrieval import Searcher

    with tempfile.TemporaryDirectory() as tmp:
        db, config = setup(Path(tmp) / "home", args.n, args.golden)
        checker = GoldenChecker(Searcher(config), ShadowIndexer(config))
        with db.session() as session:
            stored = [g.question for g in golden_set(session) if g.id is not None]
        start = time.perf_counter()
        checker.prepare(stored)
        spent = time.perf_counter() - start
        print(
            f"embedding {len(stored):,} golden questions when added: {spent:.1f} s "
            f"({1000 * spent / max(1, len(stored)):.0f} ms each)"
        )
        first, second = "bench-00010", "bench-00020"
        change(db, config, first)
        change(db, config, second)
        if args.cli:
            home = Path(tmp) / "home"
            cli_check(home, first, "cli, first process (lists computed and stored)")
            cli_check(home, first, "cli, fresh process (stored lists)")
            cli_check(home, second, "cli, fresh process, another change (stored lists)")
            return
        timed_check(db, checker, first, "cold")
        timed_check(db, checker, second, "warm (another change)")
        timed_check(db, checker, second, "warm (same version again)")


if __name__ == "__main__":
    main()
