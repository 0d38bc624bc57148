"""The golden live lists stored next to their index version (``kb.quality.golden_store``).

Real parts throughout: the golden test knowledge base (real SQLite, the bundled model,
FAISS and BM25), the CLI run as a real subprocess (a fresh Python process, as CI runs
``kb check``), and the in-process checker review uses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.shadow import ShadowIndexer
from kb.config import Config
from kb.quality import golden_store
from kb.quality.golden_check import CheckerFactory, GoldenChecker
from kb.search.index import IndexStore
from kb.search.retrieval import Searcher
from kb.store.db import Database
from review import golden
from tests.kb import golden_kb
from tests.review.helpers import run

LOST = "寄的东西丢了能赔吗"
ROOT = Path(__file__).resolve().parents[3]
COMPARED = ("article_id", "version", "as_of", "index_version", "checked", "searched")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("golden-store") / "home"
    golden_kb.build(home)
    return home


@pytest.fixture
def config(template: Path, tmp_path: Path) -> Config:
    """A private copy of the knowledge base with a breaking change approved and a golden
    question it breaks."""
    config = golden_kb.copy_home(template, tmp_path / "copy")
    db = golden_kb.draft_change(config, golden_kb.BREAKING)
    run(db, golden.add, "ann", LOST, ["faq-lost"])
    return config


@pytest.fixture
def checker(config: Config) -> CheckerFactory:
    """The in-process checker factory a front end's runtime gives review."""
    engine = GoldenChecker(Searcher(config), ShadowIndexer(config))
    return lambda: engine


def kb_check(config: Config) -> list[dict[str, Any]]:
    """``kb check --json`` in a fresh process (exit 1: an answer breaks)."""
    env = {**os.environ, "KB_HOME": str(config.home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "kb.cli.main", "check", "--as", "rex", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    return list(json.loads(done.stdout))


def essence(report: dict[str, Any]) -> dict[str, Any]:
    """A report without its timings and where its lists came from."""
    keys = (*COMPARED, "broken", "fixed", "moved")
    return {k: report[k] for k in keys}


def stored_files(config: Config) -> list[Path]:
    live = IndexStore.from_config(config).open_snapshot()
    return sorted((live.path / golden_store.DIRNAME).glob("*.npz"))


def in_process(config: Config, checker: CheckerFactory) -> list[dict[str, Any]]:
    """The reports of the in-memory path (the checker of this process)."""
    db = Database(config.effective_database_url)
    with db.session() as session:
        return [r.to_dict() for r in golden.check_open(session, "rex", checker=checker)]


def test_fresh_process_reuses_stored_lists_and_reports_the_same(config, checker) -> None:
    first = kb_check(config)
    assert [r["lists_from"] for r in first] == ["computed"]
    [path] = stored_files(config)
    written = path.stat().st_mtime_ns
    second = kb_check(config)
    assert [r["lists_from"] for r in second] == ["disk"]
    assert path.stat().st_mtime_ns == written  # read, not rewritten
    assert LOST in [b["question"] for b in second[0]["broken"]]
    shutil.move(path, path.with_suffix(".away"))  # the in-memory path computes its own
    memory = in_process(config, checker)
    assert [r["lists_from"] for r in memory] == ["computed"]
    again = in_process(config, checker)
    assert [r["lists_from"] for r in again] == ["memory"]
    assert [essence(r) for r in first] == [essence(r) for r in second]
    assert [essence(r) for r in second] == [essence(r) for r in memory]
    assert [essence(r) for r in again] == [essence(r) for r in memory]


def test_corrupt_or_stale_file_is_detected_and_rebuilt(config, checker) -> None:
    expected = [essence(r) for r in kb_check(config)]
    [path] = stored_files(config)
    good = path.read_bytes()

    path.write_bytes(good[: len(good) // 2])  # truncated
    rebuilt = kb_check(config)
    assert [r["lists_from"] for r in rebuilt] == ["computed"]
    assert [essence(r) for r in rebuilt] == expected
    assert path.read_bytes() == good  # rewritten whole

    with np.load(path) as data:  # a valid file whose numbers were edited
        arrays = {k: data[k] for k in data.files}
    assert (arrays["dense.items"] >= 0).sum() > 1
    arrays["dense.items"] = np.roll(arrays["dense.items"], 1, axis=1)  # entries reordered
    with path.open("wb") as out:
        np.savez(out, **arrays)
    rebuilt = kb_check(config)
    assert [r["lists_from"] for r in rebuilt] == ["computed"]
    assert [essence(r) for r in rebuilt] == expected

    other = dict(arrays, key=np.array("0" * 64))  # another golden set's lists in its place
    with path.open("wb") as out:
        np.savez(out, **other)
    rebuilt = kb_check(config)
    assert [r["lists_from"] for r in rebuilt] == ["computed"]
    assert [essence(r) for r in rebuilt] == expected
    assert [r["lists_from"] for r in kb_check(config)] == ["disk"]


def test_a_new_golden_question_gets_new_lists(config, checker) -> None:
    kb_check(config)
    [before] = stored_files(config)
    run(Database(config.effective_database_url), golden.add, "ann", "发票", ["faq-invoice"])
    [report] = kb_check(config)
    assert report["lists_from"] == "computed" and report["checked"] > 0
    files = stored_files(config)
    assert len(files) == 2 and before in files
