"""``kb conflicts``: published articles whose figures disagree about the same thing
(``kb.quality.contradictions``), for one version or across the whole knowledge base."""

from __future__ import annotations

from typing import Any

import typer

from kb.cli.common import AS_OPTION, JSON_OPTION, STATE, console, emit
from review import queries


def register(app: typer.Typer) -> None:
    """Add the commands of this module to the app."""
    app.command("conflicts")(conflicts)


def print_conflicts(items: list[dict[str, Any]], heading: str) -> None:
    """Each contradiction as two sentences, one under the other."""
    if not items:
        return
    console.print(heading, highlight=False, markup=False)
    for item in items:
        console.print(
            f"- {item['kind']} about {', '.join(item['about'][:3])}:\n"
            f"    {item['article_id']} v{item['version']}: {item['figure']} "
            f"— {item['sentence']}\n"
            f"    {item['other_article_id']} v{item['other_version']}: "
            f"{item['other_figure']} — {item['other_sentence']}",
            highlight=False,
            markup=False,
        )


def conflicts(
    article_id: str | None = typer.Argument(
        None,
        help="An article: check its newest version (or --version) against the "
        "published articles. Without it: every pair of published articles.",
    ),
    version: int | None = typer.Option(None, "--version", help="The version to check."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List contradictions: figures (durations, amounts, percentages, multiples, counts,
    dates) that two articles state differently for the same thing, with both sentences.
    Different member tiers, products, regions, promotions and periods not in force
    together are not contradictions. Exit code 0 either way."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        if article_id is None:
            found = queries.published_conflicts(session, who)
        else:
            found = queries.version_conflicts(session, who, article_id, version)
    where = f"{article_id}" if article_id else "the published articles"
    emit(
        found,
        as_json,
        lambda d: (
            print_conflicts(d, f"{len(d)} contradiction(s) in {where}:")
            if d
            else console.print(f"no contradictions in {where}", highlight=False)
        ),
    )
