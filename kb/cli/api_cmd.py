"""``kb serve`` (the HTTP API under uvicorn) and ``kb keys`` (the bots' API keys)."""

from __future__ import annotations

import os
import shutil
import tempfile

import typer

from kb.cli.common import AS_OPTION, JSON_OPTION, STATE, console, emit, err_console, print_table
from kb.errors import InvalidInput

WORKER_STARTUP_S = 180  # a worker imports Haystack and the model before it answers
KEY_COLUMNS = ("name", "prefix", "scopes", "audience", "active", "created_by", "last_used_at")


def register(app: typer.Typer) -> None:
    """Add ``kb serve`` and the ``kb keys`` group to the app."""
    app.command("serve")(serve)
    keys_app = typer.Typer(help="API keys for bots (admin only).", no_args_is_help=True)
    keys_app.command("create")(keys_create)
    keys_app.command("list")(keys_list)
    keys_app.command("revoke")(keys_revoke)
    app.add_typer(keys_app, name="keys")


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
) -> None:
    """Run the HTTP API (model and index loaded once per worker; /readyz says when).

    Each worker also publishes the scheduled publications that are due, every
    publish_due_interval_seconds (0: off; each is published once across workers)."""
    import uvicorn

    config = STATE.config
    if STATE.config_path is not None:
        os.environ["KB_CONFIG"] = str(STATE.config_path)
    STATE.db  # noqa: B018 - create or upgrade the schema once, before the workers start
    metrics_dir = None
    if workers > 1:
        metrics_dir = tempfile.mkdtemp(prefix="kb-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    err_console.print(f"kb API on http://{host}:{port} ({workers} worker(s)); docs at /docs")
    try:
        uvicorn.run(
            "kb.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=config.log_level.lower(),
            access_log=False,
            timeout_worker_healthcheck=WORKER_STARTUP_S,
        )
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _scopes_text(scopes: str) -> str:
    from kb.store.keys import parse_scopes

    return ",".join(parse_scopes(scopes))


def keys_create(
    name: str = typer.Option(..., "--name", help="A name for the key (the bot or channel)."),
    scopes: str = typer.Option(
        "suggest,feedback,articles", "--scopes", help="Comma list: suggest, feedback, articles."
    ),
    audience: str = typer.Option(
        "public", "--audience", help="public (bots: public articles only) or internal."
    ),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from kb.store.keys import key_dict
    from review.keys import create_key

    scopes = _scopes_text(scopes)
    with STATE.db.session() as session:
        row, clear = create_key(session, STATE.actor(actor), name, scopes, audience)
        data = {**key_dict(row), "key": clear}
    if as_json:
        emit(data, True, lambda d: None)
        return
    console.print(
        f"created API key '{data['name']}' (audience {data['audience']}, scopes "
        f"{', '.join(data['scopes'])}). Store it now; it is not shown again:",
        highlight=False,
    )
    typer.echo(clear)


def keys_list(actor: str | None = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """List the API keys (never their secrets)."""
    from kb.store.keys import key_dict
    from review.keys import list_keys
    from review.permissions import Action, authorize

    who = STATE.reader(actor)
    with STATE.db.session() as session:
        if who is not None:
            authorize(session, who, Action.MANAGE_USERS)
        data = [key_dict(row) for row in list_keys(session)]
    emit(data, as_json, lambda rows: print_table(rows, KEY_COLUMNS, title="API keys"))


def keys_revoke(
    name: str = typer.Argument(..., help="The key's name."),
    actor: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Revoke an API key: requests with it get 401 from now on."""
    from kb.store.keys import key_dict
    from review.keys import revoke_key

    if not name.strip():
        raise InvalidInput("name the key to revoke")
    with STATE.db.session() as session:
        data = key_dict(revoke_key(session, STATE.actor(actor), name))
    emit(data, as_json, lambda d: console.print(f"revoked API key '{d['name']}'", highlight=False))
