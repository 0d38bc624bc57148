"""``kb audit``: verify the tamper-evident audit log and the stored articles' content
hashes, and export the chain head as an anchor to keep elsewhere (docs/audit.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from kb.cli.common import JSON_OPTION, STATE, console, emit
from kb.errors import InvalidInput, KbError
from kb.formats.encoding import decode_text, read_bytes
from review import audit, contents


def register(app: typer.Typer) -> None:
    """Add the ``kb audit`` group to the app."""
    audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
    audit_app.command("verify")(audit_verify)
    audit_app.command("anchor")(audit_anchor)
    app.add_typer(audit_app, name="audit")


ANCHOR_OPTION = typer.Option(
    None,
    "--anchor",
    help="An anchor from `kb audit anchor`: the file it was written to, or its text. Also "
    "check that the log still reaches that event with that hash (catches a deleted tail "
    "even when the head was rewritten with it).",
)


def _read_anchor(given: str) -> audit.Anchor:
    """The anchor in a file (if ``given`` names one) or in ``given`` itself."""
    path = Path(given)
    if len(given) < 1024 and path.is_file():
        text = decode_text(read_bytes(path, 64 * 1024), str(path))
        return audit.parse_anchor(text, str(path))
    return audit.parse_anchor(given, "--anchor")


def audit_verify(anchor: str | None = ANCHOR_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Recompute the audit hash chain and every version's content hash; fail naming the
    first changed, missing or reordered event, or the first version whose stored content
    no longer matches. See docs/audit.md for what this can and cannot detect."""
    expected = _read_anchor(anchor) if anchor else None
    with STATE.db.session() as session:
        chain = audit.verify(session, expected)
        content = contents.verify_contents(session)
    data = {
        **chain.__dict__,
        "anchor": expected.text() if expected else None,
        "versions_checked": content.checked,
        "content_ok": content.ok,
        "content_problem": content.problem,
    }
    data["ok"] = chain.ok and content.ok
    emit(data, as_json, lambda _: None)
    if not chain.ok:
        raise KbError(f"audit log broken at event {chain.first_bad_seq}: {chain.problem}")
    if not content.ok:
        raise KbError(f"article content changed outside kb: {content.problem}")
    if not as_json:
        anchored = f", anchored at event {expected.seq}" if expected else ""
        console.print(
            f"audit log intact: {chain.checked} event(s){anchored}; "
            f"{content.checked} version(s) match their content hash",
            highlight=False,
        )


def audit_anchor(
    out: Path | None = typer.Option(
        None, "--out", help="Also write the anchor to this file (keep it outside the database)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print the audit log's current head (seq, hash, time): keep it elsewhere (a file
    on another machine, a ticket, an e-mail to an auditor) and later run
    `kb audit verify --anchor` to prove the log was not cut back or rewritten."""
    with STATE.db.session() as session:
        anchor = audit.current_anchor(session)
    if out is not None:
        try:
            out.write_text(anchor.text() + "\n", encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{out}: cannot write the anchor ({exc.strerror})") from exc
    emit(
        {"seq": anchor.seq, "hash": anchor.hash, "at": anchor.at, "text": anchor.text()},
        as_json,
        lambda d: console.print(d["text"], highlight=False, markup=False),
    )
