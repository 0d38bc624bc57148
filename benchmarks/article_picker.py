"""How fast are the app's article pickers at 10,000 articles (issue 14)?

Builds the knowledge base of ``benchmarks/article_list.py`` (N published FAQ entries and
N/5 drafts, fresh SQLite in a temporary directory), then prints, median of 5 runs:

* the query: every article's newest version (what the editor, history and golden
  pickers read before) against one page of ``review.picker.pick_articles`` (first
  page, a text search, published only);
* the page: the history and editor pages rendered by Streamlit's AppTest, signed in
  (the select box's options are sent to the browser on every rerun).

To compare with a checkout before the change, point ``KB_BENCH_CHECKOUT`` at it (its
code is measured; this script and its set-up are the same):

    .venv/bin/python benchmarks/article_picker.py            # 10,000 + 2,000 articles
    .venv/bin/python benchmarks/article_picker.py --n 2000
    KB_BENCH_CHECKOUT=../before .venv/bin/python benchmarks/article_picker.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(os.environ.get("KB_BENCH_CHECKOUT") or Path(__file__).resolve().parents[1]).resolve()
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))  # its article_list.py: the same set-up

from article_list import build  # noqa: E402
from sqlalchemy import select  # noqa: E402

from kb.store.db import Database  # noqa: E402
from kb.store.tables import Article, ArticleVersion  # noqa: E402

PAGES = {  # page: (script, who is signed in)
    "history": ("from kb.ui import history\nhistory.page()\n", "rex"),
    "editor": ("from kb.ui import editor\neditor.page()\n", "ann"),
}


def median_ms(work: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def every_article(db: Database) -> int:
    """The pickers' old query: the newest version of every article, as labels."""
    with db.session() as session:
        rows = session.execute(
            select(ArticleVersion.article_id, ArticleVersion.title, ArticleVersion.state)
            .join(Article, Article.id == ArticleVersion.article_id)
            .where(ArticleVersion.version == Article.latest_version)
            .order_by(ArticleVersion.article_id)
        )
        return len({a: f"{a} · {title} ({state})" for a, title, state in rows})


def picker_cases(db: Database) -> dict[str, Callable[[], object]]:
    try:
        from review.picker import pick_articles
    except ImportError:  # a checkout before the change
        return {}

    def page(text: str = "", published: bool = False) -> Callable[[], object]:
        def run() -> object:
            with db.session() as session:
                return pick_articles(session, "rex", text, published=published)

        return run

    return {
        "picker, first page": page(),
        "picker, text '问题987'": page("问题987"),
        "picker, published only": page(published=True),
    }


def page_figures(home: Path, script: str, user: str) -> tuple[float, int, int]:
    """Median ms to render the page, and the options (count, UTF-8 bytes of their labels)
    of its select boxes: what every rerun sends to the browser to show."""
    from streamlit.testing.v1 import AppTest

    os.environ["KB_HOME"] = str(home)
    sent: list[tuple[int, int]] = []

    def render() -> None:
        at = AppTest.from_string("import streamlit as st\n" + script, default_timeout=600)
        at.session_state["kb_user"] = user
        at.session_state["ui_lang"] = "zh"
        at.run()
        assert not at.exception, at.exception
        options = [o for box in at.selectbox for o in box.options]
        sent.append((len(options), sum(len(o.encode()) for o in options)))

    render()  # warm: imports, services, caches
    return median_ms(render, runs=3), *sent[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="published articles")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        db = build(home, args.n)
        print(f"{'what':<32} {'median ms':>10} {'options':>8} {'KiB':>8}")
        cases = {"every article (old query)": lambda: every_article(db), **picker_cases(db)}
        for name, work in cases.items():
            print(f"{name:<32} {median_ms(work):>10.1f}")
        for name, (script, user) in PAGES.items():
            ms, options, size = page_figures(home, script, user)
            print(f"{name + ' page (AppTest)':<32} {ms:>10.1f} {options:>8,} {size / 1024:>8.1f}")
        db.dispose()


if __name__ == "__main__":
    main()
