"""Reading ../shared (seeds, eval sets) from tests: a skip on a developer's machine
without it, a failure in CI, which always has it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def require(path: Path) -> Path:
    """``path`` under ../shared, or skip (fail under CI) when it is not there."""
    if not path.exists():
        message = f"{path} is not available (../shared beside the project)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
