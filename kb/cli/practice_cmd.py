"""Practice on the command line (``review.practice``): ``kb practice start``, ``answer``,
``show``, ``stats`` and ``team``."""

from __future__ import annotations

from typing import Any

import typer

from kb.cli.common import AS_OPTION, JSON_OPTION, STATE, console, emit, print_table
from review import practice

ROUND_ARG = typer.Argument(..., help="The round's id (kb practice start prints it).")


def register(app: typer.Typer) -> None:
    """Add ``kb practice`` and its sub-commands."""
    practice_app = typer.Typer(
        help="Practice: kb asks customer questions, you reply, kb scores the reply.",
        no_args_is_help=True,
    )
    practice_app.command("start")(start)
    practice_app.command("answer")(answer)
    practice_app.command("show")(show)
    practice_app.command("stats")(stats)
    practice_app.command("team")(team)
    app.add_typer(practice_app, name="practice")


def start(
    tags: list[str] = typer.Option([], "--tag", help="Only articles with this tag (repeat)."),
    types: list[str] = typer.Option(
        [], "--type", help="Only this article type: faq, policy, regulation (repeat)."
    ),
    audience: str = typer.Option(
        "public",
        "--audience",
        help="public (customer-facing: never internal-only material) or internal.",
    ),
    size: int = typer.Option(practice.DEFAULT_SIZE, "--size", help="How many questions."),
    agent: str | None = typer.Option(
        None, "--for", help="Start the round for this agent (supervisors and admins)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Draw the same questions again."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Start a practice round and print its questions."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        started = practice.start_round(
            session, who, agent=agent, tags=tags, types=types, audience=audience, size=size,
            seed=seed,
        )  # fmt: skip
        data = practice.round_dict(started)
    emit(data, as_json, print_round)


def print_round(data: dict[str, Any]) -> None:
    """The round's head line, then each question (and its scoring once answered)."""
    score = f", score {data['score']}" if data["score"] is not None else ""
    console.print(
        f"practice round {data['id']} for {data['agent']}{score}", markup=False, highlight=False
    )
    for item in data["questions"]:
        console.print(f"  {item['position']}. {item['question']}", markup=False, highlight=False)
        if item["answered"]:
            print_scoring(item)


def print_scoring(item: dict[str, Any]) -> None:
    """The verdict and each fact given, missing or wrong, with the article to read."""
    console.print(
        f"     {item['verdict']} ({item['score']}) - read {item['article_id']} "
        f"v{item['article_version']}",
        markup=False,
        highlight=False,
    )
    for fact in item["facts"]:
        said = f" (you said {fact['said']})" if fact["said"] else ""
        text = fact.get("context") or fact["text"]
        line = f"       {fact['status']}: {text}{said}"
        console.print(line, markup=False, highlight=False)


def answer(
    round_id: int = ROUND_ARG,
    position: int = typer.Argument(..., help="The question's number in the round."),
    reply: str = typer.Argument(..., help="Your reply, as you would give it to the customer."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Reply to one question of a round; kb scores it against the article."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        item = practice.answer(session, who, round_id, position, reply)
        data = practice.round_dict(item.round)
    scored = next(q for q in data["questions"] if q["position"] == position)
    emit({**scored, "round_score": data["score"]}, as_json, _print_answer)


def _print_answer(data: dict[str, Any]) -> None:
    print_scoring(data)
    if data["round_score"] is not None:
        console.print(f"round finished: score {data['round_score']}", highlight=False)


def show(
    round_id: int = ROUND_ARG,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """A round's questions, replies and scoring."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = practice.round_dict(practice.get_round(session, who, round_id))
    emit(data, as_json, print_round)


def stats(
    agent: str | None = typer.Option(None, "--agent", help="Another agent (supervisors)."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Finished rounds, average score and weak topics of an agent (default: you)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = practice.stats(session, who, agent).to_dict()
    emit(data, as_json, lambda d: _print_team([d]))


def team(actor: str | None = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Every agent's practice record (supervisors and admins)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = [s.to_dict() for s in practice.team(session, who)]
    emit(data, as_json, _print_team)


def _print_team(rows: list[dict[str, Any]]) -> None:
    shown = [
        {**r, "weak_topics": [f"{w['topic']} ({w['average']})" for w in r["weak_topics"]]}
        for r in rows
    ]
    print_table(shown, ["agent", "rounds", "answers", "average", "last_round", "weak_topics"])
