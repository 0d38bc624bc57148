"""What importing kb's query path costs a new process, with torch deferred and without.

Runs ``import kb.search.retrieval, kb.answer.suggest, kb.api.app`` in fresh interpreters,
alternating:
as kb does it (torch deferred to its first use, ``kb.deferred_imports``) and with torch
imported first (what Haystack did before). Prints wall and CPU seconds and peak memory.

    .venv/bin/python benchmarks/import_cost.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODE = """
import json, resource, sys, time
t = time.perf_counter()
if sys.argv[1] == "torch first":
    import torch
import kb.search.retrieval, kb.answer.suggest, kb.api.app
print(json.dumps([time.perf_counter() - t, time.process_time(),
                  resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "torch._C" in sys.modules]))
"""


def main() -> None:
    """Print one row per run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    print("| import | wall s | CPU s | peak RSS MB | torch loaded | load |")
    print("|---|---|---|---|---|---|")
    for _ in range(args.rounds):
        for mode in ("torch deferred", "torch first"):
            out = subprocess.run(
                [sys.executable, "-c", CODE, mode],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            wall, cpu, rss, loaded = json.loads(out.strip().splitlines()[-1])
            print(
                f"| {mode} | {wall:.1f} | {cpu:.1f} | {rss:.0f} | {loaded} | "
                f"{os.getloadavg()[0]:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
