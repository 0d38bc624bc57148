"""How kb reads a pasted message into questions: two-question messages split right, and
one-question messages split by mistake (issue 11, ``kb.answer.understand.read_message``).

No model and no index: only the reading. For each labelled set under ``tests/data`` and
each split, a message labelled with ``questions`` (several) should be read into that many
questions, a message labelled with one ``relevant`` list (or none: off-topic) into one.

- ``two read right``: multi-question messages read into as many questions as labelled;
- ``missed``: read into fewer (answered as one);
- ``false splits``: one-question messages read into more than one question;
- ``doubted``: messages read as one question whose split is offered for retrieval to
  confirm (``Question.parts``; ``kb.answer.message_answer`` answers the parts apart only
  when each is answered on its own from a different article): multi-question messages
  whose offered parts number as labelled / one-question messages with parts offered.

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

from kb.answer.understand import read_message  # noqa: E402

DATA = REPO / "tests" / "data"
SETS = ("assist_multi", "assist_long", "sample_questions", "assist_crosslang", "assist_offtopic")
HEADER = (
    "| split | set | messages | multi-question | read right | missed | one-question "
    "| false splits | doubted (multi / one) |\n|---|---|---|---|---|---|---|---|---|"
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
    multi = right = missed = single = false = doubted_multi = doubted_one = 0
    for line_id, message, wanted in lines:
        questions = read_message(message)
        got = [q.text for q in questions]
        offered = [q.parts for q in questions if q.parts]
        if wanted > 1:
            multi += 1
            right += len(got) == wanted
            missed += len(got) < wanted
            doubted_multi += len(got) == 1 and bool(offered) and len(offered[0]) == wanted
        else:
            single += 1
            false += len(got) > 1
            doubted_one += bool(offered)
        if verbose and (len(got) != wanted or offered):
            print(f"{line_id} wanted {wanted}: {got} offered {offered}", file=sys.stderr)
    cells = [split, name, str(len(lines)), str(multi), share(right, multi)]
    cells += [share(missed, multi), str(single), share(false, single)]
    cells += [f"{doubted_multi} / {doubted_one}"]
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
