"""``kb mcp``: the MCP server for AI assistants (``kb.api.mcp_server``)."""

from __future__ import annotations

import typer

from kb.cli.common import STATE, err_console
from kb.errors import InvalidInput

TRANSPORTS = ("stdio", "http")


def register(app: typer.Typer) -> None:
    """Add ``kb mcp`` to the app."""
    app.command("mcp")(mcp)


def mcp(
    transport: str = typer.Option(
        "stdio",
        "--transport",
        help="stdio (the assistant starts kb mcp) or http (streamable HTTP).",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (http)."),
    port: int = typer.Option(8765, "--port", help="TCP port to listen on (http)."),
    path: str = typer.Option("/mcp", "--path", help="URL path of the MCP endpoint (http)."),
) -> None:
    """Serve kb's tools (search, suggest, get_article) and articles over MCP, with the
    audience and scopes of the API key in the mcp_api_key setting (KB_MCP_API_KEY)."""
    from kb.api.mcp_server import serve

    if transport not in TRANSPORTS:
        raise InvalidInput(f"unknown transport '{transport}' (choose stdio or http)")
    if not path.startswith("/"):
        raise InvalidInput("--path must start with /")
    config = STATE.config
    STATE.db  # noqa: B018 - create or upgrade the schema once, before serving
    if transport == "http":
        err_console.print(f"kb MCP server on http://{host}:{port}{path} (streamable HTTP)")
    serve(config, transport, host, port, path)
