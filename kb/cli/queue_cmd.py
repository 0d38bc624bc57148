"""The unanswered-question queue on the command line: ``kb queue list/resolve/dismiss/assign/
unassign``.

The same queue, groups and ids as the app's insights page (``review.queue`` over
``kb.quality.unanswered``, grouped with the index's embedding model, loaded on first use; if it
cannot load, only identical questions group, as in the app).
"""

from __future__ import annotations

from typing import Any

import typer

from kb.cli.common import AS_OPTION, JSON_OPTION, STATE, console, emit, print_table
from kb.embedders.base import EmbeddingBackend
from review import queue

GROUP_ARG = typer.Argument(..., help="The group's id, as `kb queue list` shows it.")


def register(app: typer.Typer) -> None:
    """Add ``kb queue``."""
    queue_app = typer.Typer(
        help="Unanswered questions (hand-offs) grouped by similarity: list, resolve, dismiss, "
        "assign, unassign.",
        no_args_is_help=True,
    )
    queue_app.command("list")(list_command)
    queue_app.command("resolve")(resolve)
    queue_app.command("dismiss")(dismiss)
    queue_app.command("assign")(assign)
    queue_app.command("unassign")(unassign)
    app.add_typer(queue_app, name="queue")


def _backend() -> EmbeddingBackend | None:
    """The index's embedding model (as the app groups), or None if it cannot load."""
    try:
        backend = STATE.runtime.question_vectors
        backend.warm_up()
    except Exception:
        return None
    return backend


def list_command(
    limit: int = typer.Option(50, "--limit", min=1, help="Show at most N groups."),
    mine: bool = typer.Option(False, "--mine", help="Only the groups assigned to me."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The unanswered questions not yet resolved or dismissed, largest group first, with
    their assignee."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        found = queue.list_groups(session, who, _backend(), mine=mine)
        groups = [g.as_dict() for g in found[:limit]]
    emit(groups, as_json, _table)


def _table(groups: list[dict[str, Any]]) -> None:
    rows = [
        {**g, "questions": " | ".join(g["questions"][:5]), "assignee": g["assignee"] or "-"}
        for g in groups
    ]
    columns = ["id", "count", "example", "assignee", "last_asked", "questions"]
    print_table(rows, columns, title="unanswered")


def resolve(
    group_id: str = GROUP_ARG,
    article: str = typer.Option(..., "--article", "-a", help="The published article answering it."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Mark a group answered by a published article (it leaves the queue until asked again)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        group = queue.resolve(session, who, group_id, article, _backend()).as_dict()
    emit(
        {**group, "status": "resolved", "article_id": article},
        as_json,
        lambda d: console.print(
            f"resolved {d['id']} ({d['example']}, {d['count']} questions) by {article}",
            highlight=False,
            markup=False,
        ),
    )


def dismiss(
    group_id: str = GROUP_ARG, actor: str | None = AS_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """Take a group off the queue without an answer (off-topic, spam, a one-off)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        group = queue.dismiss(session, who, group_id, _backend()).as_dict()
    emit(
        {**group, "status": "dismissed"},
        as_json,
        lambda d: console.print(
            f"dismissed {d['id']} ({d['example']}, {d['count']} questions)",
            highlight=False,
            markup=False,
        ),
    )


def assign(
    group_id: str = GROUP_ARG,
    to: str = typer.Option(..., "--to", "-t", help="The user to work on it (yourself: take it)."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Assign a group to an editor, replacing any assignee (yourself: any editing role;
    someone else, or a group another has: reviewers, publishers, admins)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        group = queue.assign(session, who, group_id, to, _backend()).as_dict()
    emit(
        group,
        as_json,
        lambda d: console.print(
            f"assigned {d['id']} ({d['example']}) to {d['assignee']}",
            highlight=False,
            markup=False,
        ),
    )


def unassign(
    group_id: str = GROUP_ARG, actor: str | None = AS_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """Remove a group's assignee (your own: any editing role; another's: reviewers,
    publishers, admins)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        group = queue.unassign(session, who, group_id, _backend()).as_dict()
    emit(
        group,
        as_json,
        lambda d: console.print(
            f"unassigned {d['id']} ({d['example']})", highlight=False, markup=False
        ),
    )
