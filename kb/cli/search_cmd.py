"""``kb search``, ``kb suggest`` and ``kb eval``: retrieval, answers and their quality.

``--audience`` defaults to ``public`` (what a bot may see); agents pass ``internal``.
``kb suggest --json`` prints the answer object the HTTP API returns (``kb.answer.suggest``; a
pasted message with several questions answered part by part, ``kb.answer.message_answer``), and
logs the question (masked) in the query log, where hand-offs form the unanswered queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from kb.cli.common import JSON_OPTION, STATE, console, emit, err_console, print_table
from kb.search.filters import SearchFilters, parse_as_of

LOG_FLUSH_S = 30.0  # how long `kb suggest` retries its query-log row on a busy database
AUDIENCE_OPTION = typer.Option(
    "public", "--audience", help="Who is asking: public (bots; default) or internal (agents)."
)
AS_OF_OPTION = typer.Option(
    None, "--as-of", help="Only versions effective on this date, YYYY-MM-DD (default: today)."
)
TYPE_OPTION = typer.Option(None, "--type", help="Only this article type (repeatable).")
TAG_OPTION = typer.Option(None, "--tag", help="Only articles with this tag (repeatable: all).")
LANG_OPTION = typer.Option(
    None, "--lang", help="Only articles in this language (zh matches zh-TW)."
)


def register(app: typer.Typer) -> None:
    """Add the commands of this module to the app."""
    app.command("search")(search)
    app.command("suggest")(suggest)
    app.command("eval")(eval_command)


def _filters(
    audience: str,
    as_of: str | None,
    types: list[str] | None,
    tags: list[str] | None,
    lang: str | None,
) -> SearchFilters:
    return SearchFilters.build(audience=audience, types=types, tags=tags, lang=lang, as_of=as_of)


def _searcher() -> Any:
    return STATE.runtime.searcher


def search(
    query: str = typer.Argument(..., help="The question or keywords."),
    top_k: int | None = typer.Option(None, "--top-k", help="Results (default: the top_k setting)."),
    as_of: str | None = AS_OF_OPTION,
    audience: str = AUDIENCE_OPTION,
    types: list[str] | None = TYPE_OPTION,
    tags: list[str] | None = TAG_OPTION,
    lang: str | None = LANG_OPTION,
    all_chunks: bool = typer.Option(
        False, "--all-chunks", help="Every matching passage, not one result per article."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Search the published, effective knowledge: ranked articles with their best passage."""
    filters = _filters(audience, as_of, types, tags, lang)
    response = _searcher().search(query, filters, top_k=top_k, one_per_article=not all_chunks)
    emit(response.to_dict(), as_json, _render_search)


def _render_search(data: dict[str, Any]) -> None:
    rows = [
        {
            "#": r["rank"],
            "article": r["article_id"],
            "title": r["title"],
            "section": r["section"],
            "score": f"{r['score']:.3f}",
            "passage": _short(r["passage"]),
        }
        for r in data["results"]
    ]
    print_table(rows, ["#", "article", "title", "section", "score", "passage"])
    if not rows:
        console.print("no results", highlight=False)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def suggest(
    question: str = typer.Argument(
        ..., help="The customer's question, or a whole pasted message (each question answered)."
    ),
    audience: str = AUDIENCE_OPTION,
    as_of: str | None = AS_OF_OPTION,
    types: list[str] | None = TYPE_OPTION,
    tags: list[str] | None = TAG_OPTION,
    lang: str | None = LANG_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Suggest a cited answer, or hand off to a human when kb is not confident.

    A pasted message is first reduced to the question(s) it asks (greetings, thanks, order
    numbers and personal data left out); each question gets its own answer and citations.
    """
    from kb.answer.message_answer import answer_message
    from kb.answer.suggest import Suggester
    from kb.store.logwriter import UsageWriter

    filters = _filters(audience, as_of, types, tags, lang)
    writer = UsageWriter(STATE.db)  # the answer is printed even while the database is busy
    try:
        suggester = Suggester(STATE.config, searcher=_searcher(), db=STATE.db, log_writer=writer)
        reply = answer_message(suggester, question, filters, channel="cli")
        emit(reply.to_dict(), as_json, _render_reply)
    finally:
        writer.close(timeout=LOG_FLUSH_S)
        if writer.dropped:
            err_console.print(
                f"warning: the query-log row could not be written ({writer.dropped} dropped)",
                highlight=False,
            )


def _render_reply(data: dict[str, Any]) -> None:
    parts = data.get("parts") or []
    if len(parts) <= 1:
        _render_answer(data)
        return
    for k, part in enumerate(parts, start=1):
        console.print(f"question {k}: {part['question']}", highlight=False, markup=False)
        _render_answer(part)
        console.print("")


def _render_answer(data: dict[str, Any]) -> None:
    if data["handoff"]:
        console.print(f"hand-off to a human: {data['detail']}", highlight=False, markup=False)
    else:
        if data.get("internal"):
            console.print(
                "internal guidance, not for the customer (cites an internal-only article):",
                highlight=False,
                markup=False,
            )
        console.print(data["answer"], highlight=False, markup=False)
        console.print("")
        for c in data["citations"]:
            where = f"{c['article_id']} v{c['version']}" + (
                f", {c['section']}" if c["section"] else ""
            )
            spans = c.get("spans") or [{"passage": c["passage"]}]
            quoted = " … ".join(str(s["passage"]) for s in spans)
            console.print(
                f"[{c['n']}] {c['title']} ({where}): {_short(quoted, 120)}",
                highlight=False,
                markup=False,
            )
        for note in data.get("notes") or []:
            other = note.get("other") or {}
            console.print(
                f"another source says otherwise: {other.get('title')} ({other.get('article_id')}"
                f" v{other.get('version')}) says {note.get('other_figure')} where the reply "
                f"says {note.get('figure')}: {_short(str(other.get('passage', '')), 80)}",
                highlight=False,
                markup=False,
            )
    console.print(
        f"confidence {data['confidence']:.2f} · {data['mode'] or 'no answer'} · "
        f"{data['latency_ms']:.0f} ms · request {data['request_id']}",
        highlight=False,
        markup=False,
    )


def eval_command(
    files: list[Path] = typer.Argument(..., help="Labelled question files (JSON Lines)."),
    as_of: str | None = AS_OF_OPTION,
    details: bool = typer.Option(False, "--details", help="With --json: every question's rank."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Retrieval quality per file: hit@1, hit@5, MRR@10 and latency p50/p95."""
    from kb.quality.evaluation import run_files, searcher_retrieve

    searcher = _searcher()
    searcher.warm_up()
    reports = run_files(files, searcher_retrieve(searcher), as_of=parse_as_of(as_of))
    data = [r.to_dict(with_outcomes=details) for r in reports]
    emit(data, as_json, _render_eval)


def _render_eval(data: list[dict[str, Any]]) -> None:
    rows = [
        {
            "file": r["file"],
            "labels": r["label_style"],
            "queries": r["queries"],
            "hit@1": f"{r['hit_at_1']:.3f}",
            "hit@5": f"{r['hit_at_5']:.3f}",
            "MRR@10": f"{r['mrr_at_10']:.3f}",
            "p50 ms": f"{r['latency_p50_ms']:.1f}",
            "p95 ms": f"{r['latency_p95_ms']:.1f}",
        }
        for r in data
    ]
    columns = ["file", "labels", "queries", "hit@1", "hit@5", "MRR@10", "p50 ms", "p95 ms"]
    print_table(rows, columns)
