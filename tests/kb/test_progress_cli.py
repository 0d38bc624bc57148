"""Progress of `kb import --publish`, `kb ingest` and `kb reindex --full` on stderr.

Through the real console entry point in a subprocess (real SQLite, the bundled model,
the real FAISS index): on a terminal (stderr attached to a pseudo-terminal) the stages
show with a bar, rate and ETA; in a pipe (a CI log) they are plain lines without
control characters; `--quiet` (`--no-progress`) and `--json` keep stderr quiet.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli.main import app
from kb.progress import PlainProgress, format_seconds, rate_line

POLICY = """---
id: policy-parcels
type: policy
title: 快递理赔
lang: zh
audience: public
---
## 丢件

快递丢失后请在七天内申请理赔。理赔金额按保价金额计算。未保价的按运费三倍赔偿。

## 破损

外包装破损请当场拒收。签收后发现破损须在二十四小时内联系客服。
"""
FAQ = (
    '{"id": "faq-refund", "question": "退款多久到账", "similar_questions": ["钱啥时候退"], '
    '"answer": "3-5个工作日。"}\n'
    '{"id": "faq-address", "question": "怎么改地址", "answer": "在订单页点击修改地址。"}\n'
)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """Two FAQ entries and a policy of several sentences."""
    root = tmp_path / "src"
    root.mkdir()
    (root / "policy-parcels.md").write_text(POLICY, encoding="utf-8")
    (root / "faq.jsonl").write_text(FAQ, encoding="utf-8")
    assert CliRunner().invoke(app, ["users", "add", "admin", "--role", "admin"]).exit_code == 0
    return root


def kb(kb_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with stderr in a pipe, as in a CI log."""
    return subprocess.run(
        [sys.executable, "-m", "kb.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "KB_HOME": str(kb_home)},
        check=False,
        timeout=300,
    )


def kb_on_terminal(kb_home: Path, *args: str) -> tuple[int, str]:
    """The CLI with stderr on a pseudo-terminal; returns the exit code and what it showed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns
    child = subprocess.Popen(
        [sys.executable, "-m", "kb.cli.main", *args],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env={**os.environ, "KB_HOME": str(kb_home)},
    )
    os.close(slave)
    shown = bytearray()
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        shown.extend(data)
    os.close(master)
    return child.wait(timeout=300), shown.decode("utf-8", "replace")


def test_import_publish_on_a_terminal_shows_stages_rate_and_eta(
    kb_home: Path, source: Path
) -> None:
    code, shown = kb_on_terminal(kb_home, "import", str(source), "--publish", "--as", "admin")
    assert code == 0, shown
    assert "reading: 3 articles" in shown
    assert "chunking: " in shown
    embedding = [line for line in shown.replace("\r", "\n").splitlines() if "embedding:" in line]
    assert embedding, shown
    assert any("100%" in line and "passages/s" in line and "ETA" in line for line in embedding)
    assert "writing: " in shown


def test_plain_lines_in_a_pipe_then_quiet(kb_home: Path, source: Path) -> None:
    done = kb(kb_home, "import", str(source), "--publish", "--as", "admin", "--no-index")
    assert done.returncode == 0, done.stderr
    ingest = kb(kb_home, "ingest")
    assert ingest.returncode == 0, ingest.stderr
    err = ingest.stderr
    assert "\r" not in err and "\x1b" not in err  # nothing a CI log shows as garbage
    lines = err.splitlines()
    assert any(line.startswith("reading: 3 articles in ") for line in lines), err
    assert any(line.startswith("chunking: ") for line in lines), err
    assert any(line.startswith("embedding: ") and "passages/s" in line for line in lines), err
    assert any(line.startswith("writing: ") for line in lines), err
    assert "3 article(s) indexed" in ingest.stdout

    rebuilt = kb(kb_home, "reindex", "--full", "--quiet")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stderr == ""
    as_json = kb(kb_home, "reindex", "--full", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["chunks"] >= 3  # stdout stays pure JSON
    assert "reading:" not in as_json.stderr


class FakeClock:
    """A settable ``time.perf_counter`` for the plain reporter."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_progress_gives_rate_and_eta_between_intervals(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    monkeypatch.setattr("kb.progress.time.perf_counter", clock)
    stream = sys.stderr
    plain = PlainProgress("embedding", 100, "passages", stream, interval=10.0)
    clock.now += 5
    plain.update(10)  # before the interval: silent
    clock.now += 5
    plain.update(10)  # 20 in 10 s: 2/s, 80 left: 40 s
    clock.now += 40
    plain.update(80)
    plain.close()
    assert capsys.readouterr().err.splitlines() == [
        "embedding: 20/100 passages, 2.0 passages/s, ETA 0:40",
        "embedding: 100/100 passages in 50.0 s, 2.0 passages/s",
    ]


def test_formatting() -> None:
    assert format_seconds(65) == "1:05"
    assert format_seconds(3725) == "1:02:05"
    assert rate_line("x", 0, 10, "passages", 1.0) == "x: 0/10 passages, 0.0 passages/s, ETA ?"
