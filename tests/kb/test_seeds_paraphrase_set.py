"""The seeds paraphrase set (tests/data/seeds_paraphrase_{dev,test}.jsonl) is well formed.

Every text-span label must occur in its source document as ``kb import`` reads it
(cleaned) and normalised by the evaluation rule, or a question could never be a hit;
the halves are disjoint and each covers all four seed documents.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.text import normalize_for_eval

DATA = Path(__file__).resolve().parents[1] / "data"
HALVES = ("dev", "test")


def rows(half: str) -> list[dict]:
    path = DATA / f"seeds_paraphrase_{half}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def documents(shared_dir_module: Path) -> dict[str, str]:
    from ingest.clean import clean_text
    from kb.formats.importer import parse_file

    out = {}
    for path in sorted((shared_dir_module / "seeds").glob("*.txt")):
        (article,) = parse_file(path, source=path.name, max_bytes=10**8, cleaner=clean_text)
        out[path.name] = normalize_for_eval(article.body)
    return out


@pytest.fixture(scope="module")
def shared_dir_module() -> Path:
    from tests.shared import require

    return require(Path(__file__).resolve().parents[3] / "shared")


def test_the_halves_are_disjoint_and_large_enough() -> None:
    dev, test = rows("dev"), rows("test")
    assert len(dev) + len(test) >= 80
    assert not {r["id"] for r in dev} & {r["id"] for r in test}
    assert not {r["query"] for r in dev} & {r["query"] for r in test}
    for half in (dev, test):
        assert len({r["source"] for r in half}) == 4


@pytest.mark.parametrize("half", HALVES)
def test_every_label_occurs_in_its_source_document(half: str, documents: dict[str, str]) -> None:
    missing = [
        (r["id"], label)
        for r in rows(half)
        for label in r["expect_any"]
        if normalize_for_eval(label) not in documents[r["source"]]
    ]
    assert not missing


@pytest.mark.parametrize("half", HALVES)
def test_no_question_copies_its_label(half: str) -> None:
    for r in rows(half):
        query = normalize_for_eval(r["query"])
        assert not any(normalize_for_eval(label) in query for label in r["expect_any"]), r["id"]
