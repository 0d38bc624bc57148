"""The MCP server (``kb mcp``): kb's search, answers and articles for AI assistants.

Built on the official ``mcp`` SDK (``MCPServer``), over stdio or streamable HTTP. It
serves with the audience and scopes of one API key, the ``mcp_api_key`` setting (made
with ``kb keys create``): a public key never reaches an internal article. The key is
checked again on every call (a revoked key stops the tools at once) and each call
takes a token from the key's rate limit, as on the HTTP API. Tools:

* ``search(query, top_k)``: ranked articles with their best passage (scope ``suggest``);
* ``suggest(question)``: kb's grounded reply with its citations, or a hand-off (scope
  ``suggest``); logged in the query log like ``/v1/suggest`` (channel ``mcp``, masked);
* ``get_article(article_id)``: a published article the key may see (scope ``articles``;
  an internal article with a public key is "no article", as for one that does not exist).

Resources (scope ``articles``): one per published article the key may see,
``kb://articles/<id>`` (Markdown), listed afresh on every ``resources/list``. Over HTTP
every request must carry the key as ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp_types import Resource as McpResource
from starlette.types import ASGIApp, Receive, Scope, Send

import kb
from kb.api.chat_reply import PART_FIELDS, hands_off
from kb.api.schemas import MAX_TOP_K
from kb.api.service import ApiState
from kb.api.serving import Asking, serve_suggestion
from kb.config import Config
from kb.errors import ConfigError, KbError, NotReady
from kb.store.keys import KeyInfo, verify_key

logger = logging.getLogger("kb.mcp")

URI_PREFIX = "kb://articles/"
READY_TIMEOUT_S = 600.0
INSTRUCTIONS = (
    "kb is a customer-service knowledge base. Use `suggest` for a grounded reply with "
    "numbered citations (or a hand-off when kb has no confident answer), `search` to find "
    "articles, `get_article` or the kb://articles/<id> resources to read one."
)


@contextlib.contextmanager
def tool_errors() -> Iterator[None]:
    """Turn kb's errors into the tool error the assistant reads (no traceback)."""
    try:
        yield
    except KbError as exc:
        raise ToolError(exc.message) from None


class KbTools:
    """The tools and resources, bound to one worker state and the configured key."""

    def __init__(self, state: ApiState, clear_key: str) -> None:
        """Serve from ``state`` with the key ``clear_key`` (``ConfigError`` if not valid)."""
        self.state = state
        self._clear = clear_key
        self.key = self._verified()

    def _verified(self) -> KeyInfo:
        with self.state.db.session() as session:
            key = verify_key(session, self._clear)
        if key is None:
            raise ConfigError("mcp_api_key is not an active API key (see kb keys list)")
        return key

    def admit(self, scope: str) -> KeyInfo:
        """The key, still active, within its rate limit and holding ``scope``; else a tool
        error."""
        try:
            key = self._verified()
        except ConfigError:
            raise ToolError("the configured API key has been revoked") from None
        with tool_errors():
            self.state.limiter.check(key.name)
        if scope not in key.scopes:
            raise ToolError(f"the configured API key lacks the '{scope}' scope")
        return key

    def search(self, query: str, top_k: int = 5) -> dict[str, Any]:
        """Articles of the knowledge base matching ``query``, best first, each with its best
        passage (top_k 1-20)."""
        key = self.admit("suggest")
        if not 1 <= top_k <= MAX_TOP_K:
            raise ToolError(f"top_k must be between 1 and {MAX_TOP_K}")
        with tool_errors():
            snapshot = self.state.snapshot()
            with self.state.compute_slots:
                results = self.state.engine.search(
                    query, audience=key.audience, top_k=top_k, snapshot=snapshot
                )
        fields = ("rank", "article_id", "title", "type", "score", "passage", "lang")
        return {"results": [{f: r.get(f) for f in fields} for r in results]}

    def suggest(self, question: str) -> dict[str, Any]:
        """kb's grounded reply to a customer's question, with numbered citations; or a
        hand-off (handoff true, answer null) when kb has no confident answer."""
        key = self.admit("suggest")
        asking = Asking(key, key.audience, uuid.uuid4().hex, channel="mcp")
        with tool_errors():
            data, _ = serve_suggestion(self.state, asking, [question])
        fields = ("answer", "text", "internal", "reason", "confidence", "citations")
        out = {f: data.get(f) for f in (*fields, "request_id")}
        # a message of several questions: each one's answer, and a hand-off if any needs one
        out["handoff"] = hands_off(data)
        out["parts"] = [{f: p.get(f) for f in PART_FIELDS} for p in data.get("parts") or []]
        return out

    def get_article(self, article_id: str) -> dict[str, Any]:
        """A published article of the knowledge base by its id (as in citations)."""
        key = self.admit("articles")
        with tool_errors():
            return self.state.article(key.audience, article_id)

    def read(self, article_id: str) -> str:
        """The article as Markdown (the resource ``kb://articles/<id>``)."""
        try:
            article = self.get_article(article_id)
        except ToolError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        parts = [f"# {article['title']}"]
        if article["type"] == "faq" and article["question"]:
            parts.append(f"**{article['question']}**")
        parts.append(article["body"])
        return "\n\n".join(parts)

    def listing(self) -> list[dict[str, str]]:
        """The articles to list as resources (none without the ``articles`` scope)."""
        key = self.admit("articles")
        return self.state.published_articles(key.audience)


class KbMcpServer(MCPServer):
    """``MCPServer`` whose resource list is read from the database on every request."""

    def __init__(self, tools: KbTools, **kwargs: Any) -> None:
        """Serve ``tools``; ``kwargs`` go to ``MCPServer``."""
        super().__init__(**kwargs)
        self.kb_tools = tools

    async def list_resources(self) -> list[McpResource]:
        """One resource per published article the key may see."""
        import anyio.to_thread

        try:
            articles = await anyio.to_thread.run_sync(self.kb_tools.listing)
        except ToolError:
            return []
        return [
            McpResource(
                uri=f"{URI_PREFIX}{a['id']}",
                name=a["id"],
                title=a["title"],
                description=f"{a['type']} article",
                mime_type="text/markdown",
            )
            for a in articles
        ]


def build_server(tools: KbTools) -> KbMcpServer:
    """The MCP server of ``tools``: the tools its key's scopes allow, and the articles."""
    server = KbMcpServer(
        tools, name="kb", version=kb.__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    allowed: list[tuple[str, Callable[..., Any]]] = []
    if "suggest" in tools.key.scopes:
        allowed += [("search", tools.search), ("suggest", tools.suggest)]
    if "articles" in tools.key.scopes:
        allowed.append(("get_article", tools.get_article))
    for name, fn in allowed:
        server.add_tool(fn, name=name, description=fn.__doc__)
    if "articles" in tools.key.scopes:
        server.resource(
            URI_PREFIX + "{article_id}",
            name="article",
            description="A published article of the knowledge base, as Markdown.",
            mime_type="text/markdown",
        )(tools.read)
    return server


def load(state: ApiState) -> None:
    """Load the model and the index of ``state`` (stdout kept clean for stdio)."""
    with contextlib.redirect_stdout(sys.stderr):
        state.start_loading()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not state.readiness.ready:
            if time.monotonic() > deadline:
                state.stop()
                raise NotReady(f"no search index could be loaded: {state.readiness.error}")
            time.sleep(0.2)


class BearerGuard:
    """Admits HTTP requests that carry the configured key as a Bearer token (401 else)."""

    def __init__(self, app: ASGIApp, clear_key: str) -> None:
        """Guard ``app`` with ``clear_key``."""
        self.app = app
        self.digest = hashlib.sha256(clear_key.encode()).digest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the ``Authorization`` header, then pass the request on."""
        if scope["type"] == "http" and not self._admitted(scope):
            from starlette.responses import JSONResponse

            body = {"error": {"code": "unauthorized", "message": "send the kb API key as Bearer"}}
            await JSONResponse(body, status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _admitted(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        value = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, token = value.partition(" ")
        given = hashlib.sha256(token.strip().encode()).digest()
        return scheme.lower() == "bearer" and hmac.compare_digest(given, self.digest)


def serve(config: Config, transport: str, host: str, port: int, path: str) -> None:
    """Run the MCP server until it is stopped (stdio: until the client closes it)."""
    import anyio

    if not config.mcp_api_key:
        raise ConfigError("set mcp_api_key (KB_MCP_API_KEY) to a key made with kb keys create")
    state = ApiState(config)
    try:
        tools = KbTools(state, config.mcp_api_key)  # a wrong key fails before the model loads
        load(state)
        server = build_server(tools)
        if transport == "stdio":
            anyio.run(server.run_stdio_async)
            return
        import uvicorn

        http_app = server.streamable_http_app(streamable_http_path=path, host=host)
        app = BearerGuard(http_app, config.mcp_api_key)
        uvicorn.run(app, host=host, port=port, log_level=config.log_level.lower())
    finally:
        state.stop()
