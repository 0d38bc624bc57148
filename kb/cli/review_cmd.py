"""The review workflow on the command line: lifecycle actions, edits, diffs, history and
the review queue (users are in ``kb.cli.users_cmd``, the audit log in
``kb.cli.audit_cmd``). Every action runs as ``--as NAME`` (or the 'actor' setting) and
is checked by ``review`` like any other front end."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.orm import Session

from kb.cli.common import (
    AS_OPTION,
    JSON_OPTION,
    STATE,
    console,
    emit,
    err_console,
    print_table,
)
from kb.cli.conflicts_cmd import print_conflicts
from kb.cli.golden_cmd import print_report
from kb.errors import InvalidInput, NotFound
from kb.formats.encoding import decode_text, read_bytes
from kb.formats.limits import check_length
from kb.formats.markdown import has_front_matter, parse_markdown
from kb.model import ArticleContent, State
from kb.store.articles import get_version, latest_version, to_content
from kb.store.tables import ArticleVersion
from review import diff, editing, golden, publishing, queries, workflow
from review.versions import version_dict

ID_ARG = typer.Argument(..., help="The article id.")
VERSION_OPTION = typer.Option(None, "--version", help="A version (default: the usual one).")
COMMENT_OPTION = typer.Option("", "--comment", "-m", help="A comment kept with the version.")
IMPORTANCE_OPTION = typer.Option(
    "normal",
    "--importance",
    help="How the change feed announces it: normal or must_read (stays on top of every "
    "agent's feed until they acknowledge it).",
)


def register(app: typer.Typer) -> None:
    """Add the commands of this module to the app."""
    for name, func in (
        ("submit", submit),
        ("approve", approve),
        ("reject", reject),
        ("publish", publish),
        ("archive", archive),
        ("rollback", rollback),
        ("comment", comment),
        ("edit", edit),
        ("stale", stale),
        ("diff", diff_command),
        ("history", history),
    ):
        app.command(name)(func)
    review_app = typer.Typer(help="The review queue.", no_args_is_help=True)
    review_app.command("queue")(queue)
    app.add_typer(review_app, name="review")


def _act(
    action: Callable[[Session], ArticleVersion], as_json: bool, verb: str, notify: bool = False
) -> None:
    """Run one action in a transaction, print the outcome. A publishing action (``notify``)
    runs in ``review.publishing.transaction``: the index follows it (see ``notify_index``)."""
    transaction = publishing.transaction(STATE.runtime) if notify else STATE.db.session()
    with transaction as session:
        data = version_dict(action(session))
    if notify:
        notify_index()
    emit(
        data,
        as_json,
        lambda d: console.print(
            f"{verb} {d['article_id']} version {d['version']}: now {d['state']}", highlight=False
        ),
    )


def notify_index() -> None:
    """After a publishing transaction committed, bring the local index in line; a failure
    only delays it (with the index in the database it followed inside the transaction)."""
    reason = publishing.index_after_commit(STATE.runtime)
    if reason is not None:
        err_console.print(
            f"warning: the index was not updated yet ({reason}); the change is queued",
            markup=False,
            highlight=False,
        )


def submit(
    article_id: str = ID_ARG,
    comment_text: str = COMMENT_OPTION,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Submit the article's draft for review; it cannot change after this.

    Then shows what the version would do to the golden answers (kb check) and the
    published articles it contradicts (figures that differ for the same thing); the
    reviewer sees both."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        data = version_dict(workflow.submit(session, who, article_id, comment_text))
    with STATE.db.session() as session:
        report = golden.check(
            session,
            get_version(session, article_id, data["version"]),
            STATE.runtime.golden_checker,
        )
        data["conflicts"] = queries.version_conflicts(session, who, article_id, data["version"])
    data["golden"] = report.to_dict() if report is not None else None
    emit(data, as_json, lambda shown: _print_submitted(shown, report))


def _print_submitted(data: dict, report: Any) -> None:
    console.print(
        f"submitted {data['article_id']} version {data['version']}: now {data['state']}",
        highlight=False,
    )
    if report is not None:
        print_report(report)
    count = len(data["conflicts"])
    print_conflicts(
        data["conflicts"],
        f"warning: it contradicts {count} statement(s) of published articles "
        "(the reviewer sees them too):",
    )


def approve(
    article_id: str = ID_ARG,
    version: int | None = VERSION_OPTION,
    comment_text: str = COMMENT_OPTION,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Approve a version in review (default: the newest). Never your own work."""
    who = STATE.actor(actor)
    _act(lambda s: workflow.approve(s, who, article_id, version, comment_text), as_json, "approved")


def reject(
    article_id: str = ID_ARG,
    comment_text: str = typer.Option(..., "--comment", "-m", help="Why it is rejected."),
    version: int | None = VERSION_OPTION,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Reject a version in review with a reason; the author starts a new draft from it."""
    who = STATE.actor(actor)
    _act(lambda s: workflow.reject(s, who, article_id, comment_text, version), as_json, "rejected")


def publish(
    article_id: str = ID_ARG,
    version: int | None = VERSION_OPTION,
    comment_text: str = COMMENT_OPTION,
    override_golden: str = typer.Option(
        "",
        "--override-golden",
        help="Publish even though golden answers break, for this reason (audited).",
    ),
    importance: str = IMPORTANCE_OPTION,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Publish an approved version; the previously published one leaves service.

    A version that would break a golden answer (kb check) is refused unless
    --override-golden gives a reason. The change feed (kb feed) announces it."""
    who = STATE.actor(actor)
    _act(
        lambda s: workflow.publish(
            s,
            who,
            article_id,
            version,
            comment_text,
            override_golden,
            importance,
            golden_checker=STATE.runtime.golden_checker,
        ),
        as_json,
        "published",
        notify=True,
    )


def archive(
    article_id: str = ID_ARG,
    comment_text: str = COMMENT_OPTION,
    importance: str = IMPORTANCE_OPTION,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Take the published version out of service (the change feed announces it)."""
    who = STATE.actor(actor)
    _act(
        lambda s: workflow.archive(s, who, article_id, comment_text, importance),
        as_json,
        "archived",
        notify=True,
    )


def rollback(
    article_id: str = ID_ARG,
    to_version: int = typer.Option(..., "--to-version", help="The earlier published version."),
    comment_text: str = COMMENT_OPTION,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Bring back an earlier published version as a new version, which enters review."""
    who = STATE.actor(actor)
    _act(
        lambda s: workflow.rollback(s, who, article_id, to_version, comment_text),
        as_json,
        "rolled back (in review)",
    )


def comment(
    article_id: str = ID_ARG,
    text: str = typer.Argument(..., help="The comment."),
    version: int | None = VERSION_OPTION,
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Comment on a version (default: the newest); the comment stays with it."""
    who = STATE.actor(actor)
    _act(lambda s: workflow.comment(s, who, article_id, text, version), as_json, "commented on")


def _content_from_file(
    session: Session, article_id: str, path: Path
) -> tuple[ArticleContent, bool]:
    """The edited content and whether the article exists. A file without front matter
    replaces only the body of the article's newest version."""
    text = decode_text(read_bytes(path, STATE.config.import_max_bytes), str(path))
    check_length(text, str(path), STATE.config.import_max_chars)
    try:
        current = to_content(latest_version(session, article_id))
    except NotFound:
        current = None
    if has_front_matter(text):
        content = parse_markdown(text, str(path))
        if content.id != article_id:
            raise InvalidInput(f"{path}: its id is '{content.id}', not '{article_id}'")
    elif current is None:
        raise InvalidInput(f"{path}: a new article needs front matter (id, type, title, ...)")
    else:
        current.body = text.strip("\n") + "\n"
        content = current
    return content, current is not None


def edit(
    article_id: str = ID_ARG,
    file: Path = typer.Option(..., "--file", "-f", help="Markdown file (front matter optional)."),
    revision: int | None = typer.Option(
        None, "--revision", help="The draft revision you edited (required to save a draft)."
    ),
    version: int | None = typer.Option(
        None, "--version", help="The version you edited (checked if given)."
    ),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Save a draft from a file: the article's draft (at --revision), or a new draft
    version on top of the newest version, or a new article. A stale save fails with
    a conflict naming who changed the article."""
    who = STATE.actor(actor)

    def save(session: Session) -> ArticleVersion:
        content, exists = _content_from_file(session, article_id, file)
        if not exists:
            return editing.create_draft(session, who, content, source=file.name)
        return editing.save_draft(
            session, who, content, expected_version=version, expected_revision=revision
        )

    with STATE.db.session() as session:
        data = version_dict(save(session))
    emit(
        data,
        as_json,
        lambda d: console.print(
            f"saved {d['article_id']} version {d['version']} revision {d['revision']} "
            f"({d['state']})",
            highlight=False,
        ),
    )


def stale(
    days: int = typer.Option(30, "--days", help="Also list articles expiring within N days."),
    owner: list[str] = typer.Option(
        [], "--owner", help="Only articles with this owner (repeat for several; any case)."
    ),
    digest: bool = typer.Option(
        False, "--digest", help="A plain-text digest grouped by owner (to mail from cron)."
    ),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Published articles past their review date, expired, or expiring soon."""
    who = STATE.actor(actor)
    today = date.today()
    with STATE.db.session() as session:
        rows = queries.stale_articles(session, who, days, today=today, owners=tuple(owner))
    if digest and not as_json:
        sys.stdout.write(queries.stale_digest(rows, today, days))
        return
    emit(
        rows,
        as_json,
        lambda d: print_table(
            d, ["article_id", "version", "title", "owner", "reasons"], title="stale articles"
        ),
    )


def diff_command(
    article_id: str = ID_ARG,
    old: int = typer.Argument(..., help="The older version."),
    new: int = typer.Argument(..., help="The newer version."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show what changed between two versions (character by character in long lines)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        result = diff.diff_versions(session, who, article_id, old, new)
    if as_json:
        emit(result.to_dict(), True, print)
    elif console.is_terminal:
        console.print(diff.render_rich(result), highlight=False)
    else:
        sys.stdout.write(diff.render_plain(result) + "\n")


def history(
    article_id: str = ID_ARG, actor: str | None = AS_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """An article's story: its versions, review comments and audit events."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        story = queries.article_history(session, who, article_id)
    data = {"article_id": story.article_id, "versions": story.versions, "events": story.events}
    emit(data, as_json, _render_history)


def _render_history(data: dict) -> None:
    print_table(
        data["versions"],
        ["version", "state", "revision", "based_on", "editors", "updated_by", "updated_at"],
        title=f"versions of {data['article_id']}",
    )
    for v in data["versions"]:
        for c in v["comments"]:
            console.print(
                f"  v{v['version']} {c['kind']} by {c['author']}: {c['body']}",
                markup=False,
                highlight=False,
            )
    for e in data["events"]:
        e["move"] = f"{e['from_state'] or ''} -> {e['to_state'] or ''}".strip(" ->")
    print_table(
        data["events"],
        ["seq", "ts", "actor", "action", "outcome", "version", "move", "comment"],
        title="audit events",
    )


def queue(
    state: State = typer.Option(State.IN_REVIEW, "--state", help="in_review or approved."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Versions waiting for review (or, with --state approved, for publication)."""
    who = STATE.actor(actor)
    with STATE.db.session() as session:
        rows = queries.review_queue(session, who, state)
    emit(
        rows,
        as_json,
        lambda d: print_table(
            d,
            ["article_id", "version", "title", "submitted_by", "updated_at", "note"],
            title=f"versions {state.value}",
        ),
    )
