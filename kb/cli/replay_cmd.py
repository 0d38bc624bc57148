"""``kb replay`` (a past suggestion as given and as it would be now) and ``kb prune``
(drop replay traces past ``query_trace_days``); see ``kb.quality.replay``."""

from __future__ import annotations

from typing import Any

import typer

from kb.cli.common import AS_OPTION, JSON_OPTION, STATE, console, emit
from kb.quality.replay import prune_traces, replay_request
from review.permissions import Action, authorize


def register(app: typer.Typer) -> None:
    """Add the commands of this module to the app."""
    app.command("replay")(replay)
    app.command("prune")(prune)


def replay(
    request_id: str = typer.Argument(..., help="The request id of a logged suggestion."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a past suggestion as it was given (answer, citations with article versions,
    confidence, threshold, index version) and as the current index answers the same
    (masked) question today, with the differences. Needs an editor role."""
    from kb.answer.message_answer import MessageAnswering
    from kb.answer.suggest import Suggester

    who = STATE.actor(actor)
    suggester = MessageAnswering(Suggester(STATE.config, searcher=STATE.runtime.searcher))
    with STATE.db.session() as session:
        authorize(session, who, Action.VIEW_DRAFTS)
        data = replay_request(session, request_id, suggester)
    emit(data, as_json, _print_replay)


def _describe(label: str, trace: dict[str, Any]) -> None:
    console.print(
        f"{label} (index {trace.get('index_version') or '?'}, confidence "
        f"{trace.get('confidence', 0):.2f}, threshold {trace.get('threshold')}):",
        highlight=False,
        markup=False,
    )
    if trace.get("handoff"):
        console.print(f"  hand-off: {trace.get('reason')}", highlight=False, markup=False)
    else:
        console.print(f"  {trace.get('answer')}", highlight=False, markup=False)
    for c in trace.get("citations") or []:
        console.print(
            f"  [{c['n']}] {c['article_id']} v{c['version']} chars {c['char_start']}-"
            f"{c['char_end']}",
            highlight=False,
            markup=False,
        )


def _print_replay(data: dict[str, Any]) -> None:
    console.print(f"question: {data['question']}", highlight=False, markup=False)
    _describe(f"as given at {data['ts']:%Y-%m-%d %H:%M:%S}", data["then"])
    _describe("now", data["now"])
    if not data["differences"]:
        console.print("no difference", highlight=False)
        return
    console.print("differences:", highlight=False)
    for item in data["differences"]:
        console.print(
            f"  {item['what']}: {item['then']} -> {item['now']}", highlight=False, markup=False
        )


def prune(as_json: bool = JSON_OPTION) -> None:
    """Drop the replay traces older than query_trace_days (the query-log rows stay).
    `kb ingest` does this too."""
    days = STATE.config.query_trace_days
    with STATE.db.session() as session:
        pruned = prune_traces(session, days)
    emit(
        {"pruned": pruned, "query_trace_days": days},
        as_json,
        lambda d: console.print(
            f"{d['pruned']} trace(s) older than {days} day(s) dropped"
            if days
            else "query_trace_days is 0: traces are kept",
            highlight=False,
        ),
    )
