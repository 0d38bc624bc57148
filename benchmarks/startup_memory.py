"""Start-up time and peak memory of kb's front ends and of a full reindex, at N chunks.

The knowledge base is N generated FAQ entries (``benchmarks/publish_latency.py``'s set-up:
published through the real import, indexed by the real pipeline; the embedding cache holds
random unit vectors for their texts, so no model time is spent building it). It is built
once in ``--home`` and reused. Then, each in a fresh process with ``KB_HOME`` set:

- ``kb reindex --full``: wall time and peak resident memory (``VmHWM``) of a whole
  rebuild (every vector from the cache: the pipeline's own memory, not the model's work);
- ``kb serve``: time to ``/healthz`` 200, to ``/readyz`` 200 (model and index loaded), to
  the first ``POST /v1/suggest`` answer, and the server's peak resident memory (``VmHWM``)
  after ten questions;
- ``kb search QUESTION --json``: time to the answer and peak memory of the CLI process;
- ``streamlit run app.py`` (headless): time to ``/_stcore/health`` and, with ``--browser``,
  to the sign-in page drawn in headless Chromium (``/usr/bin/chromium``, Playwright).

    .venv/bin/python benchmarks/startup_memory.py --n 10000 --home /tmp/kb-start-10k
    .venv/bin/python benchmarks/startup_memory.py --n 100000 --home /tmp/kb-start-100k --browser
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from publish_latency import setup  # noqa: E402

import kb  # noqa: E402,F401 - offline defaults

QUESTIONS = ["退款多久到账？", "快递丢了怎么办", "发票怎么开", "积分怎么用", "地址写错了能改吗"]
CHROMIUM = Path("/usr/bin/chromium")


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(home: Path) -> dict[str, str]:
    """The environment of a kb process over ``home`` (no other KB_ settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_HOME=str(home), KB_LOG_LEVEL="WARNING", PYTHONPATH=str(REPO))
    env["KB_API_RATE_LIMIT_PER_MINUTE"] = "0"
    return env


def run_child(command: list[str], home: Path) -> tuple[float, float]:
    """Run ``command``; its wall seconds and peak resident MB (``VmHWM``, read every 20 ms:
    a child's ``ru_maxrss`` would start from this process's size at the fork)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env_for(home), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0.0
    while process.poll() is None:
        with contextlib.suppress(OSError):
            peak = max(peak, peak_mb(process.pid))
        time.sleep(0.02)
    if process.returncode:
        raise SystemExit(f"{command} exited with {process.returncode}")
    return time.perf_counter() - started, peak


def wait_for(url: str, process: subprocess.Popen[bytes], started: float) -> float:
    """Seconds from ``started`` until ``url`` answers 200 (the process must stay up)."""
    while time.perf_counter() - started < 600:
        if process.poll() is not None:
            raise SystemExit(f"process exited with {process.returncode} before {url} was up")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} not up after 600 s")


def peak_mb(pid: int) -> float:
    """Peak resident memory of a running process (``VmHWM``), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_key(home: Path) -> str:
    """A new public API key of the set-up's admin (made if the home has no users yet)."""
    from kb.config import Config
    from kb.store.db import Database
    from review import users
    from review.keys import create_key

    db = Database(Config(home=home).effective_database_url)
    db.migrate()
    with db.session() as session:
        if users.find_user(session, "root") is None:
            users.add_user(session, None, "root", ["admin"])
    with db.session() as session:
        key = create_key(session, "root", f"start-{time.time_ns()}", "suggest", "public")
    db.dispose()
    return key[1]


def serve(home: Path) -> dict[str, float]:
    """``kb serve``: seconds to /healthz, /readyz, the first answer; peak MB."""
    port, key = free_port(), make_key(home)
    started = time.perf_counter()
    command = [sys.executable, "-m", "kb.cli.main", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env_for(home), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        health = wait_for(f"{url}/healthz", process, started)
        ready = wait_for(f"{url}/readyz", process, started)
        headers = {"Authorization": f"Bearer {key}"}
        first = 0.0
        for i, question in enumerate(QUESTIONS * 2):
            reply = httpx.post(
                f"{url}/v1/suggest", json={"question": question}, headers=headers, timeout=120
            )
            reply.raise_for_status()
            if i == 0:
                first = time.perf_counter() - started
        return {"health": health, "ready": ready, "first": first, "peak": peak_mb(process.pid)}
    finally:
        process.terminate()
        process.wait(timeout=30)


def app(home: Path, browser: bool) -> dict[str, float]:
    """``streamlit run app.py``: seconds to /_stcore/health and (browser) to the sign-in form."""
    port = free_port()
    started = time.perf_counter()
    command = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py")]
    command += ["--server.headless", "true", "--server.address", "127.0.0.1"]
    command += ["--server.port", str(port), "--browser.gatherUsageStats", "false"]
    process = subprocess.Popen(
        command, env=env_for(home), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        out = {"health": wait_for(f"{url}/_stcore/health", process, started)}
        if browser:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                chromium = p.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
                )
                tab = chromium.new_page(locale="zh-CN")
                tab.set_default_timeout(120_000)
                tab.goto(url)
                tab.get_by_label("用户名").wait_for()
                out["page"] = time.perf_counter() - started
                chromium.close()
        out["peak"] = peak_mb(process.pid)
        return out
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    """Build (or reuse) the knowledge base and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="FAQ entries (= chunks)")
    parser.add_argument("--home", type=Path, required=True, help="KB home (built if empty)")
    parser.add_argument("--browser", action="store_true", help="time the app's first page")
    parser.add_argument(
        "--no-reindex",
        action="store_true",
        help="skip kb reindex (a home with an index but no articles, e.g. suggest_latency's)",
    )
    args = parser.parse_args()
    if not (args.home / "index").exists():
        from kb.config import Config
        from kb.embedders import default_cache_path

        args.home.mkdir(parents=True, exist_ok=True)
        setup(args.home, args.n, default_cache_path(Config(home=args.home)), real_vectors=False)
    kb_cli = [sys.executable, "-m", "kb.cli.main"]
    load = os.getloadavg()[0]
    print(f"# {args.n:,} chunks in {args.home}; load {load:.1f}; {os.cpu_count()} CPUs")
    print("| process | until | seconds | peak RSS MB |\n|---|---|---|---|")
    if not args.no_reindex:
        wall, peak = run_child([*kb_cli, "reindex", "--full", "--json"], args.home)
        print(f"| `kb reindex --full` (vectors from the cache) | done | {wall:.1f} | {peak:.0f} |")
    s = serve(args.home)
    print(f"| `kb serve` | `/healthz` 200 | {s['health']:.1f} | |")
    print(f"| `kb serve` | `/readyz` 200 | {s['ready']:.1f} | |")
    print(f"| `kb serve` | first `/v1/suggest` answer | {s['first']:.1f} | {s['peak']:.0f} |")
    wall, peak = run_child([*kb_cli, "search", QUESTIONS[0], "--json"], args.home)
    print(f"| `kb search` | answer printed | {wall:.1f} | {peak:.0f} |")
    a = app(args.home, args.browser)
    print(f"| `streamlit run app.py` | `/_stcore/health` 200 | {a['health']:.1f} | |")
    if "page" in a:
        print(
            f"| `streamlit run app.py` | sign-in page drawn | {a['page']:.1f} | {a['peak']:.0f} |"
        )
    print(f"# load at the end {os.getloadavg()[0]:.1f}; ru_maxrss self {_self_mb():.0f} MB")


def _self_mb() -> float:
    """This process's peak resident memory (the set-up), MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
