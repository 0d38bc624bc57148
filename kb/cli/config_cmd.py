"""``kb init`` and ``kb config show``: create the knowledge base, show the settings."""

from __future__ import annotations

import typer

from kb.cli.common import JSON_OPTION, STATE, console, emit, print_table
from kb.config import declared_settings


def register(app: typer.Typer) -> None:
    """Add the commands of this module to the app."""
    config_app = typer.Typer(help="Show the effective settings.", no_args_is_help=True)
    app.add_typer(config_app, name="config")
    config_app.command("show")(show)
    app.command("init")(init)


def show(as_json: bool = JSON_OPTION) -> None:
    """Print every setting's effective value and where it came from."""
    loaded = STATE.loaded
    rows = [
        {
            "name": info.name,
            "value": loaded.config.display_value(info.name),
            "source": loaded.sources[info.name],
            "env": info.env_var,
            "help": info.help,
            "allowed": info.allowed,
        }
        for info in declared_settings()
    ]
    emit(
        rows,
        as_json,
        lambda data: print_table(data, ["name", "value", "source", "env"], title="kb settings"),
    )


def init() -> None:
    """Create the knowledge base (database and data directory) or upgrade it in place."""
    config = STATE.config
    config.home_dir.mkdir(parents=True, exist_ok=True)
    STATE.db  # noqa: B018 - opening the database creates or upgrades it
    console.print(f"knowledge base ready: {config.home_dir}", highlight=False)
    console.print(f"database: {config.display_value('database_url')}", highlight=False)
