"""Crash points of benchmarks/adversarial.py: SIGKILL kb import and kb ingest mid-way."""

from __future__ import annotations

import os
import random
import signal
import subprocess
from pathlib import Path
from typing import Any

from adversarial_kb import generated_faq
from adversarial_support import (
    ADMIN,
    PROJECT,
    Result,
    checked,
    database,
    kb_command,
    kb_env,
    new_home,
    run_kb,
    write_jsonl,
)


def kill_after(home: Path, seconds: float, *argv: str) -> str:
    """Start ``kb argv``, SIGKILL it after ``seconds``; how it ended."""
    process = subprocess.Popen(
        kb_command(*argv),
        env=kb_env(home),
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        process.wait(timeout=seconds)
        return f"finished (exit {process.returncode}) before {seconds:.1f} s"
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return f"killed at {seconds:.1f} s"
    except BaseException:  # Ctrl-C: the child has its own session and would live on
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def integrity(home: Path) -> str:
    """SQLite's integrity check of the knowledge base's database."""
    connection = database(home)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def check_crash_points(root: Path, options: Any) -> Result:
    """SIGKILL import and ingest at random moments; database, index and audit survive."""
    rng = random.Random(options.seed)
    home = new_home(root, "crash")
    big = write_jsonl(root / "crash-import.jsonl", generated_faq(options.n, "crash-imp"))
    events = []
    problems: list[str] = []
    for attempt in range(3):
        moment = rng.uniform(1.5, 6.0)  # a 20,000-entry import takes ~5-10 s here
        events.append("import " + kill_after(home, moment, "import", str(big), "--as", ADMIN))
        _after_kill(home, f"import kill {attempt + 1}", problems)
    for attempt in range(3):  # new publications each time, so each ingest has work to do
        batch = write_jsonl(root / f"crash-{attempt}.jsonl", generated_faq(200, f"crash{attempt}"))
        published = run_kb(home, "import", str(batch), "--publish", "--no-index", "--as", ADMIN)
        checked(published, "publish 200 FAQ")
        moment = rng.uniform(3.0, 12.0)  # model load, then embedding
        events.append("ingest " + kill_after(home, moment, "ingest", "--no-progress"))
        _after_kill(home, f"ingest kill {attempt + 1}", problems)
    final = run_kb(home, "ingest", "--no-progress", "--json")
    status = run_kb(home, "index", "status", "--json")
    search = run_kb(home, "search", "退款问题0怎么办", "--json")
    for name, run in (("final ingest", final), ("index status", status), ("search", search)):
        if run.code != 0:
            problems.append(f"{name}: {run.brief()}")
    data = status.json() or {}
    if data.get("out_of_date_articles"):
        problems.append(f"{data['out_of_date_articles']} article(s) out of date after ingest")
    return Result(
        "crash points",
        "SIGKILL `kb import` (3x) and `kb ingest` (3x) at random moments; then integrity, "
        "audit verify, ingest, index status, search",
        held=not problems,
        figures={
            "events": events,
            "problems": problems[:5],
            "out_of_date_after_ingest": data.get("out_of_date_articles"),
        },
    )


def _after_kill(home: Path, when: str, problems: list[str]) -> None:
    """Check the database opens cleanly and the audit chain verifies."""
    check = integrity(home)
    if check != "ok":
        problems.append(f"{when}: integrity_check {check}")
    audit = run_kb(home, "audit", "verify")
    if audit.code != 0:
        problems.append(f"{when}: audit verify {audit.brief()}")
