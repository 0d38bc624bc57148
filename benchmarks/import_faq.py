"""Benchmark: `kb import` of N generated FAQ entries (default 10,000) into a fresh knowledge base.

Prints the wall time of the whole command (process start included) and the rate.
Target (issue 2): <= 10 s for 10,000 entries.

    .venv/bin/python benchmarks/import_faq.py [--n 10000] [--publish]
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

TOPICS = ["退款", "物流", "理赔", "发票", "会员", "地址", "取件", "投诉", "保价", "改约"]


def write_entries(path: Path, n: int) -> None:
    """Write n realistic-looking FAQ entries as JSON Lines."""
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            topic = TOPICS[i % len(TOPICS)]
            entry = {
                "id": f"bench-faq-{i:05d}",
                "question": f"{topic}问题{i}：我的订单{i}该怎么处理？",
                "similar_questions": [f"{topic}{i}怎么办", f"请问{topic}第{i}条"],
                "answer": f"关于{topic}第{i}条：请在APP中提交申请，客服将在24小时内处理。",
                "tags": [topic],
            }
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument(
        "--publish",
        action="store_true",
        help="also bootstrap-publish, which builds the index (embeds every entry: minutes)",
    )
    args = parser.parse_args()
    kb = Path(sys.executable).with_name("kb")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "faq.jsonl"
        write_entries(source, args.n)
        env = {**os.environ, "KB_HOME": str(Path(tmp) / "home")}
        subprocess.run([kb, "init"], env=env, check=True, capture_output=True)
        subprocess.run(
            [kb, "users", "add", "admin", "--role", "admin"],
            env=env,
            check=True,
            capture_output=True,
        )
        command = [str(kb), "import", str(source), "--as", "admin"]
        if args.publish:
            command.append("--publish")
        start = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"import failed: {result.stderr.strip()}")
    print(
        f"kb import of {args.n:,} FAQ entries{' with --publish' if args.publish else ''}: "
        f"{seconds:.2f} s ({args.n / seconds:,.0f} entries/s)"
    )


if __name__ == "__main__":
    main()
