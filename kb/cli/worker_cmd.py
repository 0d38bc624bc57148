"""``kb worker``: applies publications to the index and publishes due schedules, continuously.

For a deployment where the app and the API run apart from the machine that holds the index: the
app and the CLI apply a publication right after its commit, but one that could not be applied then
(index busy, a crash) or that a schedule made due waits in the outbox until something applies it.
The worker is that something; ``--once`` does one round (for cron or a test). With
``search_store: postgres`` the schedules it publishes reach the index inside their own transaction
(``review.publishing``); its outbox round then only picks up what was left queued (``kb import
--no-index``, a publication made without an index updater).
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

import typer

from kb.cli.common import STATE, err_console
from kb.errors import InvalidInput
from review import publishing
from review import schedule as scheduling

INTERVAL_OPTION = typer.Option(
    2.0, "--interval", help="Seconds between rounds (at least 0.1).", min=0.1, max=3600.0
)
ONCE_OPTION = typer.Option(False, "--once", help="Do one round and exit.")


def register(app: typer.Typer) -> None:
    """Add ``kb worker`` to the app."""
    app.command("worker")(worker)


def worker(interval: float = INTERVAL_OPTION, once: bool = ONCE_OPTION) -> None:
    """Apply pending index updates and publish due schedules, every --interval seconds.

    Runs until interrupted (Ctrl-C, SIGTERM); a round that fails (index locked, model missing)
    is reported on stderr and retried in the next one: nothing is lost, the outbox keeps it."""
    if interval < 0.1:
        raise InvalidInput("--interval must be at least 0.1 seconds")
    stopping = threading.Event()
    if not once:
        _stop_on_signals(stopping)
        err_console.print(f"kb worker: every {interval:g} s; Ctrl-C stops", highlight=False)
    while True:
        round_of_work()
        if once or stopping.wait(interval):
            return


def round_of_work() -> tuple[int, int]:
    """Publish what is due, then apply the outbox to the index; return (published, applied).

    A failure of either step is printed and counted as 0: the next round tries again."""
    published = applied = 0
    try:
        with publishing.transaction(STATE.runtime) as session:
            outcomes = scheduling.publish_due(session, golden_checker=STATE.runtime.golden_checker)
        for outcome in outcomes:
            message = f" ({outcome.message})" if outcome.message else ""
            err_console.print(
                f"{time.strftime('%H:%M:%S')} schedule {outcome.status}: {outcome.article_id} "
                f"version {outcome.version}{message}",
                markup=False,
                highlight=False,
            )
        published = sum(o.status == scheduling.DONE for o in outcomes)
    except Exception as exc:  # reported, retried next round
        _warn("publishing due schedules failed", exc)
    try:
        applied = STATE.runtime.apply_index_changes()
    except Exception as exc:  # the events stay pending in the outbox
        _warn("the index was not updated yet", exc)
    return published, applied


def _warn(what: str, exc: BaseException) -> None:
    err_console.print(
        f"{time.strftime('%H:%M:%S')} warning: {what} ({exc or type(exc).__name__}); "
        "retrying next round",
        markup=False,
        highlight=False,
    )


def _stop_on_signals(stopping: threading.Event) -> None:
    """SIGTERM and SIGINT end the loop after the current round."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
