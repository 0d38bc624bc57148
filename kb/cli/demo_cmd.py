"""``kb demo``: a fresh knowledge base from the sample articles, and everything kb runs.

It creates a new data directory, a user for each role, a public bot key (printed
once), loads ``articles/`` through the workflow (recorded as a bootstrap
publication by the admin; the earlier version of one policy in
``articles/_history/`` is published first, so that policy has two versions),
builds the index, and then serves the API and the Streamlit app until Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import typer

from kb.cli.common import STATE, console, err_console, print_table
from kb.errors import InvalidInput
from kb.formats.importer import read_articles

PROJECT_DIR = Path(__file__).resolve().parents[2]
MARKER = ".kb-demo"
DEMO_USERS = (
    ("admin", ["admin"], "系统管理员"),
    ("alice", ["author"], "Alice 知识编辑"),
    ("bob", ["reviewer"], "Bob 审核员"),
    ("carol", ["publisher"], "Carol 发布人"),
    ("dave", ["agent"], "Dave 客服"),
    ("sue", ["supervisor"], "Sue 主管"),
)


def register(app: typer.Typer) -> None:
    """Add the command of this module to the app."""
    app.command("demo")(demo)


def demo(
    home: Path = typer.Option(Path(".kb-demo"), "--home", help="Data directory, made anew."),
    articles: Path = typer.Option(
        PROJECT_DIR / "articles", "--articles", help="The articles to load."
    ),
    serve: bool = typer.Option(
        True, "--serve/--no-serve", help="Serve the API and the app after setting up."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address the servers listen on."),
    api_port: int = typer.Option(8000, "--api-port", help="Port of the HTTP API."),
    app_port: int = typer.Option(8501, "--app-port", help="Port of the Streamlit app."),
) -> None:
    """Set up a demo knowledge base from articles/ and serve the API and the app."""
    home = _fresh_home(home)
    os.environ["KB_HOME"] = str(home)
    STATE.reset(STATE.config_path)
    STATE.indexes_in_bulk()  # it builds the whole index; the servers are processes of their own
    console.print(f"demo knowledge base: {home}", highlight=False)
    _add_users()
    key = _add_bot_key()
    _load_articles(articles)
    _build_index()
    _print_access(key, host, api_port, app_port, serve)
    if serve:
        STATE.reset(STATE.config_path)  # the servers load their own; free the bulk engine
        _serve(home, host, api_port, app_port)


def _fresh_home(home: Path) -> Path:
    """Empty the demo directory; refuse to delete a directory the demo did not make."""
    home = home.expanduser().resolve()
    if home.exists():
        if not (home / MARKER).exists() and any(home.iterdir()):
            raise InvalidInput(f"{home} exists and is not a demo directory; choose another --home")
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / MARKER).write_text("made by kb demo; deleted by the next kb demo\n", encoding="utf-8")
    return home


def _add_users() -> None:
    from review.users import add_user

    rows = []
    with STATE.db.session() as session:
        for name, roles, display in DEMO_USERS:
            password = f"demo-{name}"
            add_user(
                session,
                None if name == "admin" else "admin",
                name,
                roles,
                password=password,
                display_name=display,
            )
            rows.append({"user": name, "roles": roles, "password": password})
    print_table(rows, ["user", "roles", "password"], title="demo users (sign in to the app)")


def _add_bot_key() -> str:
    from review.keys import create_key

    with STATE.db.session() as session:
        _, clear = create_key(session, "admin", "demo-bot", ["suggest", "feedback"], "public")
    return clear


DEMO_REASON = "kb demo: the sample articles replace their own earlier versions"


def _load_articles(articles: Path) -> None:
    from review.importing import import_articles

    if not articles.is_dir():
        raise InvalidInput(f"{articles}: no such directory of articles")
    batches = [p for p in (articles / "_history", articles) if p.is_dir()]
    for number, path in enumerate(batches):
        batch = read_articles(
            [path],
            max_bytes=STATE.config.import_max_bytes,
            max_chars=STATE.config.import_max_chars,
        )
        if batch.errors:
            raise InvalidInput("; ".join(o.error or "" for o in batch.errors))
        with STATE.db.session() as session:
            items = [(i.article, i.source) for i in batch.items]
            # The current articles replace the history just loaded: an explicit bootstrap.
            reason = DEMO_REASON if number else None
            result = import_articles(session, "admin", items, publish=True, bootstrap_reason=reason)
        console.print(
            f"published {result.published} article(s) from {path} (bootstrap, by admin)",
            highlight=False,
        )


def _build_index() -> None:
    from ingest.sync import sync_index

    console.print("building the index (the bundled multilingual model embeds every chunk)...")
    report = sync_index(STATE.db, STATE.config, progress=True, resources=STATE.runtime.resources)
    console.print(
        f"index {report.version}: {report.indexed} article(s), {report.chunks} chunk(s), "
        f"{report.computed} embedding(s) computed, in {report.seconds:.1f} s",
        highlight=False,
    )


def _print_access(key: str, host: str, api_port: int, app_port: int, serve: bool) -> None:
    console.print(
        f"public bot key (shown once): {key}", highlight=False, markup=False, soft_wrap=True
    )
    if not serve:
        console.print("set up; serve it with: kb serve  and  streamlit run app.py")
        return
    console.print(f"API:  http://{host}:{api_port}  (docs: /docs)", highlight=False)
    console.print(f"app:  http://{host}:{app_port}", highlight=False)
    console.print(
        f"try:  curl -s http://{host}:{api_port}/v1/suggest -H 'Authorization: Bearer {key}' "
        "-H 'Content-Type: application/json' -d '{\"question\": \"快递丢了怎么赔\"}'",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _serve(home: Path, host: str, api_port: int, app_port: int) -> None:
    """Run the API and the app as child processes until Ctrl-C or one of them exits."""
    env = {**os.environ, "KB_HOME": str(home)}
    bin_dir = Path(sys.executable).parent
    children = [
        subprocess.Popen(
            [str(bin_dir / "kb"), "serve", "--host", host, "--port", str(api_port)], env=env
        ),
        subprocess.Popen(
            [
                str(bin_dir / "streamlit"),
                "run",
                str(PROJECT_DIR / "app.py"),
                "--server.headless",
                "true",
                "--server.address",
                host,
                "--server.port",
                str(app_port),
                "--browser.gatherUsageStats",
                "false",
            ],
            env=env,
            cwd=PROJECT_DIR,
        ),
    ]
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        err_console.print("a server stopped; shutting the demo down")
    except KeyboardInterrupt:
        err_console.print("stopping the demo")
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
