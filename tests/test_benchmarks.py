"""The benchmark scripts stay runnable: every kb name they import exists.

Benchmarks take minutes, so CI does not run them; this catches a rename in the
code that would leave a script broken (as once happened to publish_latency.py).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))
PACKAGES = ("kb", "review", "ingest")


def project_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every ``from kb|review|ingest... import name`` in a script."""
    pairs = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
            pairs.extend((node.module, alias.name) for alias in node.names)
    return pairs


def test_there_are_benchmarks() -> None:
    assert len(BENCHMARKS) >= 8


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_every_imported_name_exists(script: Path) -> None:
    for module_name, name in project_imports(script):
        module = importlib.import_module(module_name)
        if not hasattr(module, name):
            importlib.import_module(f"{module_name}.{name}")  # a submodule, or ImportError


def test_retrieval_compare_reads_every_labelled_set_in_the_repository() -> None:
    """Each set of ``retrieval_compare.py`` kept in the repository parses; the pasted
    messages that ask two questions are left to ``assist_quality.py``."""
    from benchmarks.retrieval_compare import SETS, answerable

    repo = Path(__file__).resolve().parents[1]
    local = {name: path for name, (_, path) in SETS.items() if repo in path.parents}
    assert {"assist_crosslang", "assist_long", "seeds_para test", "sample"} <= set(local)
    counts = {name: len(answerable(path)) for name, path in local.items()}
    assert counts["assist_long"] == 32  # 46 messages, 14 of them with two questions
    assert counts["assist_crosslang"] == 49  # 59 lines, 10 out of scope
    assert all(counts.values())
