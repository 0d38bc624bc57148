"""How kb reads a pasted message into questions: two-question messages split right, and
one-question messages split by mistake (issue 11, ``kb.answer.understand.read_message``).

No model and no index: only the reading. For each labelled set under ``tests/data`` and
each split, a message labelled with ``questions`` (several) should be read into that many
questions, a message labelled with one ``relevant`` list (or none: off-topic) into one.

- ``two read right``: multi-question messages read into as many questions as labelled;
- ``missed``: read into fewer (answered as one);
- ``false splits``: one-question messages read into more than one question.

    .venv/bin/python benchmarks/message_splits.py                 # dev
    .venv/bin/python benchmarks/message_splits.py --split test -v # test, every wrong line
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kb.answer.understand import reduce_message  # noqa: E402

DATA = REPO / "tests" / "data"
SETS = ("assist_multi", "assist_long", "sample_questions", "assist_crosslang", "assist_offtopic")
HEADER = (
    "| split | set | messages | multi-question | read right | missed | one-question "
    "| false splits |\n|---|---|---|---|---|---|---|---|"
)


def labelled(path: Path, split: str) -> list[tuple[str, str, int]]:
    """``(id, message, questions labelled)`` of one set's lines in ``split``."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        if split != "all" and data.get("split", split) != split:
            continue
        out.append((data["id"], data["query"], len(data.get("questions") or [0])))
    return out


def share(part: int, whole: int) -> str:
    """``part/whole`` with the share, or a dash."""
    return f"{part / whole:.3f} ({part}/{whole})" if whole else "–"


def run(name: str, split: str, verbose: bool) -> str:
    """One table row; with ``verbose`` every wrong reading is printed to stderr."""
    lines = labelled(DATA / f"{name}.jsonl", split)
    multi = right = missed = single = false = 0
    for line_id, message, wanted in lines:
        got = reduce_message(message)
        if wanted > 1:
            multi += 1
            right += len(got) == wanted
            missed += len(got) < wanted
        else:
            single += 1
            false += len(got) > 1
        if verbose and len(got) != wanted:
            print(f"{line_id} wanted {wanted}: {got}", file=sys.stderr)
    cells = [split, name, str(len(lines)), str(multi), share(right, multi)]
    cells += [share(missed, multi), str(single), share(false, single)]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", nargs="+", choices=["dev", "test", "all"], default=["dev"])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("-v", "--verbose", action="store_true", help="print wrong readings")
    args = parser.parse_args()
    print(HEADER)
    for split in args.split:
        for name in args.sets:
            print(run(name, split, args.verbose), flush=True)


if __name__ == "__main__":
    main()
