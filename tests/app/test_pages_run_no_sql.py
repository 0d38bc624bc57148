"""Pages only show (issue 14): no module under ``kb/ui`` builds or runs SQL itself.

Queries live in the core (``kb.store``, ``kb.quality``, ``review``) as named functions;
a page passes a session to them. This test reads every ``kb/ui`` module's syntax tree and
fails on an import of SQLAlchemy's query builders or a call of a session's query methods.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

UI = Path(__file__).resolve().parents[2] / "kb" / "ui"
# what builds a query (``Session`` as a type hint is fine: pages pass sessions on)
QUERY_BUILDERS = {"select", "insert", "update", "delete", "text", "func", "and_", "or_"}
RUNNERS = {"execute", "scalar", "scalars", "query"}


def offences(source: str) -> list[str]:
    """What in ``source`` builds or runs SQL, one line per offence."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            names = {alias.name for alias in node.names} & QUERY_BUILDERS
            found += [f"line {node.lineno}: imports sqlalchemy {n}" for n in sorted(names)]
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: imports {alias.name}"
                for alias in node.names
                if alias.name == "sqlalchemy"
            ]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in RUNNERS
        ):  # whatever the session is called (``run(lambda s: s.scalars(...))`` too)
            found.append(f"line {node.lineno}: calls {ast.unparse(node.func)}")
    return found


@pytest.mark.parametrize("path", sorted(UI.glob("*.py")), ids=lambda p: p.name)
def test_no_page_module_runs_sql(path: Path) -> None:
    assert offences(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select\n",
        "from sqlalchemy.sql import func\n",
        "import sqlalchemy\n",
        "def f(session):\n    return session.scalars(q)\n",
        "def f(db_session):\n    db_session.execute(q)\n",
        "def f(session):\n    return session.query(A).all()\n",
        "run(lambda s: s.scalar(q))\n",
        "services().session().execute(q)\n",
    ],
)
def test_the_check_catches_each_way_of_running_sql(source: str) -> None:
    assert offences(source)


def test_passing_a_session_on_is_allowed() -> None:
    source = "from sqlalchemy.orm import Session\ndef f(session: Session):\n    return g(session)\n"
    assert offences(source) == []


def test_the_check_sees_the_page_modules() -> None:
    assert len(list(UI.glob("*.py"))) > 10
