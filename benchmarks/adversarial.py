"""Adversarial test of the whole product: reproduce each finding of issue 13, print what held.

Drives the real product from outside, as an attacker or an unlucky operator would:
the ``kb`` CLI in subprocesses, ``kb serve`` on a free loopback port, a real SQLite
database in a temporary ``KB_HOME``, real files. One line per item: what was tried,
the figures, HELD or NOT HELD. A check that cannot run says why instead of a verdict.

    .venv/bin/python benchmarks/adversarial.py                    # quick: ~10 min, no soak
    .venv/bin/python benchmarks/adversarial.py --only 1,2,9       # a subset
    .venv/bin/python benchmarks/adversarial.py --full             # 100,000 entries, 10 min soak
    .venv/bin/python benchmarks/adversarial.py --json /tmp/adv.json

Items: 1-12 as numbered in the issue, plus ``leak``, ``fuzz``, ``crash`` and ``soak``.
Everything is bounded in time and count, on loopback only; temporary directories are
removed and the servers stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import adversarial_api as api
import adversarial_cli as cli
import adversarial_crash as crash
import adversarial_files as files
import adversarial_probe as probe
from adversarial_kb import ServedKb
from adversarial_support import Result, SetupError

#: item -> (check, whether it needs the served knowledge base); in running order.
CHECKS: dict[str, tuple[Callable[..., Result], bool]] = {
    "1": (api.check_personal_data, True),
    "9": (api.check_timing, True),
    "11": (api.check_smaller, True),
    "leak": (probe.check_leaks, True),
    "fuzz": (probe.check_fuzz, True),
    "2": (api.check_busy_database, True),
    "soak": (probe.check_soak, True),
    "3": (files.check_bombs, False),
    "4": (cli.check_faq_without_answer, False),
    "5": (files.check_encodings, False),
    "6": (cli.check_odd_home, False),
    "7": (cli.check_four_eyes, False),
    "8": (cli.check_markdown_titles, False),
    "10": (cli.check_late_settings, False),
    "12": (cli.check_cli_identity, False),
    "crash": (crash.check_crash_points, False),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma list of items, e.g. 1,2,9,fuzz")
    parser.add_argument("--n", type=int, default=20_000, help="FAQ entries of the big imports")
    parser.add_argument("--full", action="store_true", help="n=100,000 and a 10-minute soak")
    parser.add_argument("--soak-minutes", type=float, default=None, help="soak length (0: none)")
    parser.add_argument("--seed", type=int, default=13, help="seed of fuzz and kill moments")
    parser.add_argument("--json", type=Path, default=None, help="write all figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    options = parser.parse_args(argv)
    if options.full:
        options.n = max(options.n, 100_000)
    if options.soak_minutes is None:
        options.soak_minutes = 10.0 if options.full else 0.0
    wanted = [item.strip() for item in options.only.split(",") if item.strip()]
    unknown = [item for item in wanted if item not in CHECKS]
    if unknown:
        parser.error(f"--only: unknown item(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    options.items = wanted or list(CHECKS)
    return options


def run_check(name: str, options: argparse.Namespace, served: ServedKb) -> Result:
    """Run one check; its own failure becomes a report, never a crash of the script."""
    check, needs_server = CHECKS[name]
    started = time.monotonic()
    try:
        if needs_server:
            result = check(served, options)
        else:
            workdir = options.root / f"item-{name}"
            workdir.mkdir()
            result = check(workdir, options)
    except SetupError as exc:
        result = Result(name, check.__doc__ or "", note=f"setup failed: {exc}")
    except Exception as exc:
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        result = Result(name, check.__doc__ or "", note=f"check failed: {detail[:300]}")
    result.figures["check_seconds"] = round(time.monotonic() - started, 1)
    return result


def format_line(result: Result) -> str:
    """One table line: item, what was tried, figures, verdict."""
    figures = "; ".join(f"{k}={_compact(v)}" for k, v in result.figures.items())
    if result.held is None and result.note:
        figures = f"{result.note}; {figures}"
    return f"{result.item:<24} | {result.tried} | {figures} | {result.verdict}"


def _compact(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 400 else text[:397] + "..."


def main(argv: list[str] | None = None) -> int:
    """Run the chosen checks, print the table, write the JSON if asked."""
    options = parse_args(argv)
    options.root = Path(tempfile.mkdtemp(prefix="kb-adversarial-"))
    signal.signal(signal.SIGTERM, _interrupt)
    served = ServedKb(options.root / "served")
    options.root.joinpath("served").mkdir()
    results: list[Result] = []
    print(
        f"adversarial run: items {','.join(options.items)}; n={options.n:,}; "
        f"soak {options.soak_minutes} min; work dir {options.root}",
        flush=True,
    )
    try:
        for name in options.items:
            print(f"... item {name}", flush=True)
            results.append(run_check(name, options, served))
            print(format_line(results[-1]), flush=True)
    except KeyboardInterrupt:
        print("interrupted: stopping the servers and cleaning up", file=sys.stderr)
    finally:
        served.stop()
        if not options.keep:
            shutil.rmtree(options.root, ignore_errors=True)
    _print_table(results)
    if options.json:
        options.json.write_text(
            json.dumps([r.__dict__ for r in results], ensure_ascii=False, indent=2, default=str),
            encoding="utf-8",
        )
        print(f"figures written to {options.json}")
    return 0


def _print_table(results: list[Result]) -> None:
    print("\n=== adversarial summary ===")
    print(f"{'item':<24} | tried | figures | verdict")
    for result in results:
        print(format_line(result))
    held = sum(r.held is True for r in results)
    print(
        f"{held} held, {sum(r.held is False for r in results)} not held, "
        f"{sum(r.held is None for r in results)} without verdict"
    )


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
