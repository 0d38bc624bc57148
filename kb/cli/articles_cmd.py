"""``kb import``, ``kb export`` and ``kb articles``: move articles in and out, list them."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import typer
from sqlalchemy import select

from kb.cli.common import AS_OPTION, JSON_OPTION, STATE, console, emit, err_console, print_table
from kb.cli.review_cmd import notify_index
from kb.errors import InvalidInput
from kb.formats.exporter import render_files, write_files
from kb.formats.importer import ImportBatch, read_articles
from kb.model import ArticleType, State
from kb.store.articles import get_version, latest_version, to_content
from kb.store.tables import Article, ArticleVersion
from review import publishing
from review.importing import import_in_batches
from review.permissions import Action, authorize


def register(app: typer.Typer) -> None:
    """Add the commands of this module to the app."""
    app.command("import")(import_command)
    app.command("export")(export_command)
    articles_app = typer.Typer(help="List and show articles.", no_args_is_help=True)
    app.add_typer(articles_app, name="articles")
    articles_app.command("list")(list_articles)
    articles_app.command("show")(show_article)


def _clean_scraped_text(text: str) -> str:
    """The scraped-boilerplate cleaner applied to plain documents at import time.

    Imported on first use: the ingest package loads Haystack, which takes seconds.
    """
    from ingest.clean import clean_text

    return clean_text(text)


def _report_outcomes(batch: ImportBatch) -> None:
    for outcome in batch.outcomes:
        if outcome.error:
            err_console.print(f"  failed  {outcome.error}", markup=False, highlight=False)
        else:
            console.print(
                f"  ok      {outcome.path} ({outcome.articles})", markup=False, highlight=False
            )


def import_command(
    paths: list[Path] = typer.Argument(..., help="Files and directories to import."),
    actor: str | None = AS_OPTION,
    continue_on_error: bool = typer.Option(
        False, "--continue-on-error", help="Import the good files and report each file's outcome."
    ),
    default_type: ArticleType = typer.Option(
        ArticleType.POLICY, "--type", help="Type given to plain documents (.txt, .html, ...)."
    ),
    publish: bool = typer.Option(
        False,
        "--publish",
        help="Publish the imported articles at once without review (admin only): the initial "
        "load of an empty knowledge base, recorded in the audit log as a bootstrap publication. "
        "Refused once any article is published, unless --bootstrap is given.",
    ),
    bootstrap: bool = typer.Option(
        False,
        "--bootstrap",
        help="Publish without review although articles are published already (admin only; "
        "needs --reason, recorded with every publication in the audit log). Implies --publish.",
    ),
    reason: str = typer.Option(
        "", "--reason", help="Why --bootstrap publishes without review (required with it)."
    ),
    index_now: bool = typer.Option(
        True,
        "--index/--no-index",
        help="After publishing, update the search index at once (default; with search_store "
        "postgres inside each batch's transaction, which rolls back if the index update "
        "fails); --no-index leaves the changes queued for `kb index update`.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import articles as drafts: Markdown with front matter, FAQ files (.jsonl, .csv,
    .yaml) and plain documents (.txt, .md, .html, .docx, .pdf).

    If any file fails, nothing is imported unless --continue-on-error is given.
    Articles are committed import_batch_size at a time (the database stays available
    to the API meanwhile); an import that stops part way is completed by running it
    again.
    Files and folders whose names start with '_' or '.' are skipped. Drafts need
    the author or admin role; --publish needs admin and loads an empty knowledge base
    only (--bootstrap --reason publishes into a live one, audited). Text files may be UTF-8,
    GB18030/GBK or Big5; a file over import_max_bytes, or whose text would exceed
    import_max_chars (a .docx or .pdf bomb), is refused (docs/article-format.md).
    """
    if (publish or bootstrap) and index_now:
        STATE.indexes_in_bulk()
    who = STATE.actor(actor)
    if bootstrap and not reason.strip():
        raise InvalidInput("--bootstrap needs --reason: say why this publishes without review")
    if reason.strip() and not bootstrap:
        raise InvalidInput("--reason goes with --bootstrap")
    publish = publish or bootstrap
    batch = read_articles(
        paths,
        max_bytes=STATE.config.import_max_bytes,
        max_chars=STATE.config.import_max_chars,
        cleaner=_clean_scraped_text,
        default_type=default_type,
    )
    if batch.errors and not continue_on_error:
        for outcome in batch.errors:
            err_console.print(f"  {outcome.error}", markup=False, highlight=False)
        raise InvalidInput(
            f"{len(batch.errors)} of {len(batch.outcomes)} file(s) failed; nothing was imported "
            "(fix them, or use --continue-on-error)"
        )
    items = [(i.article, i.source) for i in batch.items]
    index_in_batch = partial(publishing.index_in_transaction, STATE.runtime)
    summary = import_in_batches(
        STATE.db,
        who,
        items,
        publish=publish,
        batch_size=STATE.config.import_batch_size,
        bootstrap_reason=reason if bootstrap else None,
        before_commit=index_in_batch if index_now and publish else None,
    )
    result = {
        "files": len(batch.outcomes),
        "failed": len(batch.errors),
        "articles": len(batch.items),
        "created": summary.created,
        "new_versions": summary.new_versions,
        "updated_drafts": summary.updated_drafts,
        "unchanged": summary.unchanged,
        "published": summary.published,
        "transactions": summary.transactions,
        "outcomes": [o.__dict__ for o in batch.outcomes],
    }
    if as_json:
        emit(result, True, print)
    else:
        if continue_on_error or len(batch.outcomes) <= 20:
            _report_outcomes(batch)
        console.print(
            f"imported {len(batch.items)} article(s) from {len(batch.outcomes)} file(s): "
            f"{summary.created} new, {summary.new_versions} new version(s), "
            f"{summary.updated_drafts} draft(s) updated, {summary.unchanged} unchanged"
            + (f", {summary.published} published (bootstrap)" if publish else ""),
            highlight=False,
        )
    if summary.published:
        if index_now:
            notify_index()
        else:
            err_console.print(
                f"{summary.published} publication(s) queued for the index: run `kb index update`",
                highlight=False,
            )
    if batch.errors:
        raise typer.Exit(1)


def export_command(
    directory: Path = typer.Argument(..., help="Directory to write the files into."),
    published: bool = typer.Option(
        False, "--published", help="Export published versions only (default: newest versions)."
    ),
    actor: str | None = AS_OPTION,
) -> None:
    """Write articles back to files in the format they were imported from."""
    who = STATE.reader(actor)
    with STATE.db.session() as session:
        if who is not None:
            authorize(session, who, Action.READ if published else Action.VIEW_DRAFTS)
        if published:
            rows = list(
                session.scalars(
                    select(ArticleVersion).where(ArticleVersion.state == str(State.PUBLISHED))
                )
            )
        else:
            rows = [latest_version(session, a.id) for a in session.scalars(select(Article))]
        files = render_files(rows)
    written = write_files(files, directory)
    console.print(f"exported {len(rows)} article(s) to {len(written)} file(s) in {directory}")


def list_articles(
    state: State | None = typer.Option(
        None, "--state", help="Only articles whose newest version is in this state."
    ),
    article_type: ArticleType | None = typer.Option(None, "--type", help="Only this type."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List articles with their newest and published versions."""
    who = STATE.reader(actor)
    with STATE.db.session() as session:
        if who is not None:
            authorize(session, who, Action.VIEW_DRAFTS)
        rows = []
        for article in session.scalars(select(Article).order_by(Article.id)):
            latest = latest_version(session, article.id)
            if (state and latest.state != state) or (article_type and article.type != article_type):
                continue
            rows.append(
                {
                    "id": article.id,
                    "type": article.type,
                    "title": latest.title,
                    "latest": article.latest_version,
                    "state": latest.state,
                    "published": article.published_version,
                    "audience": latest.audience,
                    "lang": latest.lang,
                }
            )
    emit(
        rows,
        as_json,
        lambda data: print_table(
            data, ["id", "type", "title", "latest", "state", "published", "audience"]
        ),
    )


def show_article(
    article_id: str = typer.Argument(..., help="The article id."),
    version: int | None = typer.Option(None, "--version", help="A version (default: newest)."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one version of an article: metadata, state and content."""
    who = STATE.reader(actor)
    with STATE.db.session() as session:
        if who is not None:
            authorize(session, who, Action.READ, article_id=article_id)
        row = (
            get_version(session, article_id, version)
            if version
            else latest_version(session, article_id)
        )
        if who is not None and row.state != State.PUBLISHED:
            authorize(session, who, Action.VIEW_DRAFTS, article_id=article_id)
        data = {
            "version": row.version,
            "state": row.state,
            "revision": row.revision,
            "content_hash": row.content_hash,
            "created_by": row.created_by,
            "updated_by": row.updated_by,
            "updated_at": row.updated_at,
            "id": row.article_id,
            **to_content(row).metadata(),
            "body": row.body,
        }
    emit(data, as_json, _render_article)


def _render_article(data: dict) -> None:
    for key, value in data.items():
        if key != "body":
            console.print(f"{key}: {value}", highlight=False, markup=False)
    console.print()
    console.print(data["body"], highlight=False, markup=False)
