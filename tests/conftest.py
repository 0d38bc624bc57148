"""Shared test set-up: a private KB_HOME per test and no network but loopback.

Unit tests cannot reach the network: any connection to an address that is not
on this machine fails at once. Integration tests use real servers on
loopback, which stays allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

import kb  # noqa: F401 - sets HF_HUB_OFFLINE and friends before any model import
from tests.shared import require

SHARED = Path(__file__).resolve().parents[2] / "shared"
_real_connect = socket.socket.connect


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
