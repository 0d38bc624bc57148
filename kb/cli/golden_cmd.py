"""Golden questions on the command line: ``kb golden add/list/remove/accept`` and
``kb check``.

Registering this module also registers the golden checker (``kb.quality.golden_check``) with
the invocation's settings, so ``kb publish`` refuses a version that breaks a golden
answer unless ``--override-golden REASON`` is given, and ``kb submit`` shows the author
what the version would change. The ingest package and the model are loaded only when a
check runs.
"""

from __future__ import annotations

from typing import Any

import typer

from kb.cli.common import AS_OPTION, JSON_OPTION, STATE, console, emit, print_table
from kb.quality.golden_check import CheckReport, GoldenChecker, Outcome
from review import golden

QUESTION_ARG = typer.Argument(..., help="The question, as a customer would ask it.")
ARTICLE_OPTION = typer.Option(
    ..., "--article", "-a", help="An article that must answer it (repeat for several)."
)


def register(app: typer.Typer) -> None:
    """Add ``kb golden`` and ``kb check`` (the root callback registers the checker)."""
    golden_app = typer.Typer(
        help="Golden questions: questions with the article(s) that must answer them.",
        no_args_is_help=True,
    )
    golden_app.command("add")(add)
    golden_app.command("list")(list_command)
    golden_app.command("remove")(remove)
    golden_app.command("accept")(accept)
    app.add_typer(golden_app, name="golden")
    app.command("check")(check)


def cli_checker() -> GoldenChecker:
    """A golden checker with this invocation's settings and runtime (ingest loaded on first
    use)."""
    from ingest.shadow import ShadowIndexer

    runtime = STATE.runtime
    return GoldenChecker(runtime.searcher, ShadowIndexer(STATE.config, resources=runtime.resources))


def _stored(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "question": row.question,
        "expected": list(row.expected),
        "source": row.source,
        "feedback_id": row.feedback_id,
        "created_by": row.created_by,
    }


def add(
    question: str = QUESTION_ARG,
    articles: list[str] = ARTICLE_OPTION,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Add a golden question and the article(s) that must answer it."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = _stored(golden.add(session, who, question, articles, STATE.runtime.golden_checker))
    emit(
        data, as_json, lambda d: console.print(f"golden question {d['id']} added", highlight=False)
    )


def list_command(
    implicit: bool = typer.Option(
        False, "--implicit", help="Also list every published FAQ's own questions."
    ),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List the golden questions."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        rows = [g.to_dict() for g in golden.listed(session, who, implicit)]
    emit(rows, as_json, lambda r: print_table(r, ["id", "question", "expected", "source"]))


def remove(
    golden_id: int = typer.Argument(..., help="The golden question's id (kb golden list)."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Retire a golden question (it stays on record)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = _stored(golden.remove(session, who, golden_id))
    emit(data, as_json, lambda d: console.print(f"golden question {d['id']} removed"))


def accept(
    feedback_id: int = typer.Argument(..., help="The feedback's id (the Insights page)."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Make an agent's "wrong answer, the right article is X" feedback a golden question."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = _stored(
            golden.accept_feedback(session, who, feedback_id, STATE.runtime.golden_checker)
        )
    emit(
        data, as_json, lambda d: console.print(f"golden question {d['id']} added", highlight=False)
    )


def check(
    article_id: str | None = typer.Argument(
        None, help="The article whose open version to check (default: every open version)."
    ),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the golden questions against open versions; exit 1 if one breaks an answer."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        reports = golden.check_open(session, who, article_id, STATE.runtime.golden_checker)
    emit([r.to_dict() for r in reports], as_json, lambda _d: print_reports(reports))
    if any(r.broken for r in reports):
        raise typer.Exit(1)


def print_reports(reports: list[CheckReport]) -> None:
    """The changed golden answers of each report, one line each."""
    for report in reports:
        print_report(report)


def print_report(report: CheckReport) -> None:
    """One summary line, then one line per changed golden answer."""
    head = (
        f"golden check of {report.article_id} version {report.version} (as of "
        f"{report.as_of.isoformat()}): {len(report.broken)} broken, "
        f"{len(report.of(Outcome.FIXED))} fixed, {len(report.of(Outcome.MOVED))} moved "
        f"of {report.checked} questions"
    )
    console.print(head, markup=False, highlight=False)
    for change in report.changes:
        line = (
            f"  {change.outcome}: {change.golden.question}  "
            f"{change.before or '-'} -> {change.after or '-'} "
            f"(expects {'/'.join(change.golden.expected)})"
        )
        console.print(line, markup=False, highlight=False)
