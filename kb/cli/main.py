"""The ``kb`` command: one Typer app with a sub-command (or group) per capability.

Errors are printed as one clear line with a non-zero exit code, never a
traceback (set ``KB_DEBUG=1`` to see one).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from typer.core import TyperGroup, _click

from kb.cli import (
    api_cmd,
    articles_cmd,
    audit_cmd,
    backup_cmd,
    config_cmd,
    conflicts_cmd,
    demo_cmd,
    feed_cmd,
    golden_cmd,
    index_cmd,
    mcp_cmd,
    practice_cmd,
    queue_cmd,
    replay_cmd,
    review_cmd,
    schedule_cmd,
    search_cmd,
    users_cmd,
    worker_cmd,
)
from kb.cli.common import STATE, err_console
from kb.errors import KbError


class KbGroup(TyperGroup):
    """The root command group: turns kb errors into one line and exit code 1."""

    def invoke(self, ctx: _click.Context) -> object:
        """Run the command; print a KbError as one line instead of a traceback."""
        try:
            return super().invoke(ctx)
        except KbError as exc:
            err_console.print(f"error: {exc.message}", markup=False, highlight=False)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=KbGroup,
    name="kb",
    help="kb: a customer-service knowledge base that suggests answers with citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback()
def main(
    config: Path | None = typer.Option(
        None, "--config", help="Settings file (default: $KB_CONFIG, else ./kb.yaml if present)."
    ),
) -> None:
    """kb: a customer-service knowledge base that suggests answers with citations."""
    STATE.reset(config)


config_cmd.register(app)
articles_cmd.register(app)
review_cmd.register(app)
schedule_cmd.register(app)
audit_cmd.register(app)
conflicts_cmd.register(app)
replay_cmd.register(app)
users_cmd.register(app)
index_cmd.register(app)
api_cmd.register(app)
mcp_cmd.register(app)
search_cmd.register(app)
demo_cmd.register(app)
backup_cmd.register(app)
golden_cmd.register(app)
feed_cmd.register(app)
practice_cmd.register(app)
queue_cmd.register(app)
worker_cmd.register(app)


def run() -> None:
    """Entry point of the console script: run the app, turning errors into one line."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for KB_DEBUG
        if os.environ.get("KB_DEBUG"):
            raise
        err_console.print(
            f"internal error: {type(exc).__name__}: {exc} (set KB_DEBUG=1 for details)",
            markup=False,
            highlight=False,
        )
        sys.exit(2)


if __name__ == "__main__":
    run()
