"""Support of benchmarks/adversarial.py: results, the real CLI, knowledge bases, servers.

Everything here drives the product from outside: ``kb`` runs as a subprocess
(``python -m kb.cli.main``) against a knowledge base in a temporary ``KB_HOME``,
and servers are real ``kb serve`` processes on loopback (tests/kb/api/helpers.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from tests.kb.api.helpers import ServerProcess  # noqa: E402

ADMIN = "adv-admin"
CLI_TIMEOUT = 300.0


@dataclass
class Result:
    """What one check tried, its figures and whether the product held."""

    item: str
    tried: str
    held: bool | None = None  # None: not judged (skipped, not available, check failed)
    figures: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def verdict(self) -> str:
        """HELD, NOT HELD, or why there is no verdict."""
        if self.held is None:
            return self.note.split(":")[0].upper() if self.note else "NO VERDICT"
        return "HELD" if self.held else "NOT HELD"


@dataclass
class Run:
    """A finished CLI command."""

    argv: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float = 0.0

    def json(self) -> Any:
        """The command's stdout parsed as JSON (None if it is not JSON)."""
        try:
            return json.loads(self.stdout)
        except ValueError:
            return None

    def error_lines(self) -> list[str]:
        """The non-blank lines of stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    def is_clear_refusal(self, *names: str, max_lines: int = 1) -> bool:
        """Exit code not 0, at most ``max_lines`` on stderr, naming one of ``names``.

        Never a traceback or an "internal error". An import's refusal is two lines: the
        file's own line and the batch summary.
        """
        text = self.stderr
        return (
            self.code != 0
            and 1 <= len(self.error_lines()) <= max_lines
            and "Traceback" not in text
            and "internal error" not in text.lower()
            and any(name in text for name in names)
        )

    def brief(self) -> str:
        """Exit code and the last line of stderr, for reports."""
        last = (self.error_lines() or [""])[-1][:160]
        return f"exit {self.code}: {last}" if last else f"exit {self.code}"


def kb_env(home: Path, **settings: Any) -> dict[str, str]:
    """Environment of a ``kb`` process for the knowledge base in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env["KB_HOME"] = str(home)
    env["PYTHONPATH"] = str(PROJECT)
    env["OMP_NUM_THREADS"] = env.get("OMP_NUM_THREADS", "2")
    env["HOME"] = str(home.parent / "user-home")  # no personal token file of the real user
    for name, value in settings.items():
        env[f"KB_{name.upper()}"] = str(value)
    return env


def kb_command(*argv: str) -> list[str]:
    """The command line running the real kb CLI of this checkout."""
    return [sys.executable, "-m", "kb.cli.main", *argv]


def run_kb(
    home: Path,
    *argv: str,
    timeout: float = CLI_TIMEOUT,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
    rss_limit_mb: float = 0.0,
    **settings: Any,
) -> Run:
    """Run ``kb argv`` to its end, sampling its peak memory.

    It is killed after ``timeout`` seconds, or once its memory passes ``rss_limit_mb``
    (if given), so that a runaway import cannot take the shared machine down.
    """
    environment = env if env is not None else kb_env(home, **settings)
    started = time.monotonic()
    process = subprocess.Popen(
        kb_command(*argv),
        env=environment,
        cwd=PROJECT,
        stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    sampler = RssSampler(process.pid, interval=0.1, limit_mb=rss_limit_mb).start()
    try:
        out, err = process.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        err += f"\n[adversarial: killed after {timeout:.0f} s]"
    except BaseException:  # Ctrl-C: the child has its own session and would live on
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    finally:
        sampler.stop()
    if sampler.over_limit:
        err += f"\n[adversarial: killed above {rss_limit_mb:.0f} MB]"
    return Run(
        list(argv), process.returncode, out, err, time.monotonic() - started, sampler.peak_mb
    )


class RssSampler:
    """Samples the resident memory of a process and its children in a thread."""

    def __init__(self, pid: int, interval: float, limit_mb: float = 0.0) -> None:
        """Watch ``pid`` every ``interval`` seconds; SIGKILL its group above ``limit_mb``."""
        self.pid = pid
        self.limit_mb = limit_mb
        self.over_limit = False
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (monotonic seconds, MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @property
    def peak_mb(self) -> float:
        """The largest sample (0 if none)."""
        return max((mb for _t, mb in self.samples), default=0.0)

    def start(self) -> RssSampler:
        """Start sampling."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            mb = tree_rss_mb(self.pid)
            if mb is not None:
                self.samples.append((time.monotonic(), mb))
                if self.limit_mb and mb > self.limit_mb and not self.over_limit:
                    self.over_limit = True
                    with contextlib.suppress(OSError):
                        os.killpg(self.pid, signal.SIGKILL)
            self._stop.wait(self.interval)


def tree_rss_mb(pid: int) -> float | None:
    """Resident memory of a process and all its children, in MB (None if it is gone)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
        total = 0
        for process in processes:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total / 1e6
    except psutil.Error:
        return None


def new_home(root: Path, name: str, *users: tuple[str, str], **settings: Any) -> Path:
    """A fresh knowledge base under ``root`` with an admin and ``users`` (name, roles)."""
    home = root / name
    home.mkdir(parents=True)
    checked(run_kb(home, "init", **settings), "kb init")
    checked(run_kb(home, "users", "add", ADMIN, "--role", "admin", **settings), "users add")
    for user, roles in users:
        role_args = [arg for role in roles.split(",") for arg in ("--role", role)]
        checked(
            run_kb(home, "users", "add", user, *role_args, "--as", ADMIN, **settings),
            f"users add {user}",
        )
    return home


def checked(run: Run, what: str) -> Run:
    """``run`` if it succeeded; otherwise a SetupError naming the step."""
    if run.code != 0:
        raise SetupError(f"{what} failed ({run.brief()})")
    return run


class SetupError(RuntimeError):
    """A step that only prepares a check failed; the check has no verdict."""


def database(home: Path) -> sqlite3.Connection:
    """A read connection to the knowledge base's SQLite database."""
    return sqlite3.connect(f"file:{home / 'kb.sqlite3'}?mode=ro", uri=True, timeout=30)


def query(home: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` against the knowledge base's database."""
    connection = database(home)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as JSON Lines."""
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def start_server(home: Path, **settings: Any) -> ServerProcess:
    """A running ``kb serve`` on a free loopback port (tests/kb/api/helpers.py)."""
    return ServerProcess(home, **settings).start()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0 for no values)."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(int(q) - 1, 0)]


CHINESE_DIGITS = str.maketrans("零〇一二三四五六七八九两幺", "0012345678921")
REQUEST_IDS = re.compile(r"\b(?=[0-9a-f]*[a-f])[0-9a-f]{32}\b")  # not personal data
DIGIT_SEPARATORS = re.compile(r"(?<=\d)[\s.\-_/()（）]+(?=\d)")


def digit_text(text: str) -> str:
    """``text`` after NFKC, Chinese numerals as digits, separators between digits removed."""
    normal = unicodedata.normalize("NFKC", text).translate(CHINESE_DIGITS)
    return DIGIT_SEPARATORS.sub("", normal)


def leaks(secret: str, haystack: str) -> bool:
    """True if a run of 6 of the secret's digits (all of them if fewer) is in ``haystack``.

    A secret with fewer than 6 digits counts as leaked when its NFKC form appears.
    """
    digits = re.sub(r"\D", "", digit_text(secret))
    if len(digits) < 6:
        return unicodedata.normalize("NFKC", secret) in unicodedata.normalize("NFKC", haystack)
    text = digit_text(REQUEST_IDS.sub(" ", haystack))
    return any(digits[i : i + 6] in text for i in range(len(digits) - 5))
