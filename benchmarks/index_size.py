"""How big is the index on disk and in memory, and how fast does it load and update?

Builds an index of N synthetic chunks (random unit vectors, ~200-character Chinese texts
cut from ``../shared`` when it is there, else generated), then prints, scaled to 10,000
chunks: bytes on disk per file, load time and resident memory (psutil RSS delta, measured
in a fresh process), the time of a full build and of an incremental update, search
latency, and what faiss-haystack's ``FAISSDocumentStore.save`` would write for the same
chunks (its JSON sidecar stores every embedding as text).

    .venv/bin/python benchmarks/index_size.py            # 10,000 chunks, 384-d
    .venv/bin/python benchmarks/index_size.py --chunks 2000 --no-store
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

WORDS = (
    "客服 响应 时间 标准 普通 咨询 五秒 内 响应 紧急 工单 四小时 内 处理 投诉 延误 丢失 损坏 态度 "
    "理赔 通道 退款 政策 订单 取消 费用 原路 退回 会员 积分 兑换 规则 发票 开具 流程 快递 签收 "
    "客户 资料 保密 手机号 地址 不得 透露 升级 主管 审核 知识库 更新 发布 归档 生效 日期 额度 利率"
)


def text_pool() -> str:
    """Real Chinese text from ../shared (read at run time, never copied), else generated."""
    parts: list[str] = []
    if SHARED.is_dir():
        parts += [p.read_text(encoding="utf-8") for p in sorted((SHARED / "seeds").glob("*.txt"))]
        for path in sorted((SHARED / "datasets").glob("*/*/*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                parts.append(record.get("question") or record.get("query") or "")
    if not parts:
        rng = random.Random(0)
        parts = ["".join(rng.choice(WORDS.split()) for _ in range(40)) + "。" for _ in range(3000)]
    return unicodedata.normalize("NFKC", "".join(parts)).lower().replace("\n", "")


def make_chunks(n: int, dim: int, seed: int = 0, version: int = 1) -> list:
    """``n`` chunks in articles of 10, with realistic meta and ~200-character texts."""
    from haystack import Document

    rng = np.random.default_rng(seed)
    pool = text_pool()
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = []
    for i in range(n):
        start = int(rng.integers(0, len(pool) - 220))
        text = pool[start : start + int(rng.integers(180, 220))]
        meta = {
            "article_id": f"art-{i // 10:05d}",
            "version": version,
            "title": f"文章 {i // 10}",
            "type": "policy",
            "lang": "zh",
            "audience": "public",
            "tags": ["客服"],
            "effective_from": "2026-01-01",
            "effective_to": None,
            "review_due": None,
            "section": "第一节",
            "char_start": 0,
            "char_end": len(text),
            "chunk_index": i % 10,
            "chunk_count": 10,
            "search_text": text,
        }
        docs.append(
            Document(
                id=f"art-{i:07d}-v{version}", content=text, meta=meta, embedding=vectors[i].tolist()
            )
        )
    return docs


def rss() -> int:
    """Resident memory of this process, in bytes."""
    import psutil

    return psutil.Process().memory_info().rss


def measure_load(index_dir: str) -> dict:
    """Run in a fresh process: load time and RSS delta of opening the live snapshot."""
    from kb.search.bm25 import TokenizerPool
    from kb.search.index import IndexStore

    tokenizers = TokenizerPool()
    store = IndexStore(index_dir, tokenizers=tokenizers)
    before_tok = rss()
    tokenizers.get()
    before = rss()
    started = time.perf_counter()
    snapshot = store.open_snapshot()
    seconds = time.perf_counter() - started
    after = rss()
    return {
        "seconds": seconds,
        "rss": after - before,
        "tokenizer_rss": before - before_tok,
        "chunks": len(snapshot),
    }


def measure_store_load(path: str) -> dict:
    """Run in a fresh process: load time and RSS delta of FAISSDocumentStore.load."""
    from haystack_integrations.document_stores.faiss import FAISSDocumentStore

    store = FAISSDocumentStore(embedding_dim=1)
    before = rss()
    started = time.perf_counter()
    store.load(path)
    return {"seconds": time.perf_counter() - started, "rss": rss() - before}


def in_fresh_process(function: str, arg: str) -> dict:
    """Call one of the measure_* functions above in a new interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", function, arg],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def sizes(directory: Path) -> dict[str, int]:
    """Bytes per file under ``directory``, by relative path."""
    return {
        str(p.relative_to(directory)): p.stat().st_size
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:8.2f} MB"


def report_index(n: int, dim: int, work: Path) -> None:
    """Build, measure and print the kb index figures."""
    from kb.search.index import IndexStore

    scale = 10_000 / n
    docs = make_chunks(n, dim)
    store = IndexStore(work / "index")
    started = time.perf_counter()
    version = store.write_version(docs, model_id="synthetic", full=True).version
    build = time.perf_counter() - started
    files = sizes(store.versions_dir / version)
    total = sum(files.values())

    print(f"kb index: {n:,} chunks, {dim}-d; figures per 10,000 chunks")
    print(f"  full build            {build * scale:8.2f} s   (jieba segmentation dominates)")
    print("  on disk:")
    for name, size in files.items():
        print(f"    {name:34} {mb(size * scale)}")
    print(f"    {'total':34} {mb(total * scale)}   ({total / n / 1024:.2f} KB per chunk)")

    load = [in_fresh_process("measure_load", str(store.index_dir)) for _ in range(3)]
    seconds = statistics.median(x["seconds"] for x in load)
    memory = statistics.median(x["rss"] for x in load)
    print(f"  load (median of 3)    {seconds * scale:8.2f} s")
    print(f"  resident memory       {mb(memory * scale)}   (RSS delta of open_snapshot)")
    print(f"  + jieba tokenizer     {mb(load[0]['tokenizer_rss'])}   (once per process)")

    updates = make_chunks(100, dim, seed=1, version=2)  # the first 10 articles, re-published
    started = time.perf_counter()
    result = store.write_version(updates, model_id="synthetic")
    update = time.perf_counter() - started
    print(
        f"  incremental update    {update:8.2f} s   (+{result.written} -{result.removed} "
        f"chunks on {n:,}; not scaled)"
    )

    snapshot = store.open_snapshot()
    query = docs[0].embedding
    rounds = 50
    started = time.perf_counter()
    for _ in range(rounds):
        snapshot.dense_search(query, 10)
    dense_ms = (time.perf_counter() - started) / rounds * 1000
    started = time.perf_counter()
    for _ in range(rounds):
        snapshot.dense_search(query, 10, where=lambda m: m["chunk_index"] == 3)
    filtered_ms = (time.perf_counter() - started) / rounds * 1000
    started = time.perf_counter()
    for _ in range(rounds):
        snapshot.bm25_search("快递丢失以后怎么赔偿", 10)
    bm25_ms = (time.perf_counter() - started) / rounds * 1000
    print(
        f"  search at {n:,}: dense {dense_ms:.2f} ms, dense filtered to 10% "
        f"{filtered_ms:.2f} ms, bm25 {bm25_ms:.2f} ms"
    )


def report_store(n: int, dim: int, work: Path) -> None:
    """What FAISSDocumentStore.save would write for the same chunks (not scaled by us)."""
    from haystack_integrations.document_stores.faiss import FAISSDocumentStore

    scale = 10_000 / n
    store = FAISSDocumentStore(embedding_dim=dim)
    store.write_documents(make_chunks(n, dim))
    store.save(work / "faiss_store")
    files = sizes(work)
    print("FAISSDocumentStore.save, same chunks; per 10,000 chunks")
    for name, size in files.items():
        if name.startswith("faiss_store"):
            print(f"    {name:34} {mb(size * scale)}")
    load = in_fresh_process("measure_store_load", str(work / "faiss_store"))
    print(f"  load                  {load['seconds'] * scale:8.2f} s")
    print(f"  resident memory       {mb(load['rss'] * scale)}")


def main() -> None:
    """Parse arguments and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--no-store", action="store_true", help="skip FAISSDocumentStore")
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        function, arg = args.measure
        print(json.dumps(globals()[function](arg)))
        return
    with tempfile.TemporaryDirectory(prefix="kb-index-size-") as tmp:
        report_index(args.chunks, args.dim, Path(tmp))
        if not args.no_store:
            store_dir = Path(tmp) / "store"
            store_dir.mkdir()
            report_store(args.chunks, args.dim, store_dir)


if __name__ == "__main__":
    import kb  # noqa: F401 - offline and telemetry defaults before haystack

    main()
