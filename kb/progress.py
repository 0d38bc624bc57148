"""Progress of long work (ingest, reindex, import --publish) on stderr.

Three modes, chosen by ``progress_mode``:

- ``bar``: on a terminal, a tqdm bar per counted stage with its rate (passages/s) and
  ETA, and one line per finished stage;
- ``plain``: when stderr is not a terminal (CI logs, pipes), lines without control
  characters: the count, rate and ETA at most every ``PLAIN_INTERVAL`` seconds, and
  one line when a stage ends;
- ``off``: nothing (``--no-progress``, ``--json``, library callers).

The stages of the indexing pipeline are named ``reading``, ``chunking``,
``embedding`` (chunks, then ``embedding sentences``) and ``writing``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

#: Seconds between two plain progress lines of one stage.
PLAIN_INTERVAL = 10.0
#: The bar on a terminal: stage, percentage, count, elapsed, rate and ETA.
BAR_FORMAT = (
    "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}, {rate_fmt}, ETA {remaining}]"
)

Update = Callable[[int], None]


def _stderr() -> TextIO:
    """The current stderr (test runners swap it)."""
    return sys.stderr


def progress_mode(enabled: bool, stream: TextIO | None = None) -> str:
    """``off`` unless enabled; else ``bar`` on a terminal and ``plain`` otherwise."""
    if not enabled:
        return "off"
    stream = stream or _stderr()
    isatty = getattr(stream, "isatty", None)
    return "bar" if callable(isatty) and isatty() else "plain"


def format_seconds(seconds: float) -> str:
    """A duration as ``m:ss`` (``h:mm:ss`` past an hour)."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def rate_line(stage: str, done: int, total: int, unit: str, elapsed: float) -> str:
    """One plain line: count, rate and ETA while running, the time taken at the end."""
    rate = done / elapsed if elapsed > 0 else 0.0
    if done >= total:
        return f"{stage}: {done}/{total} {unit} in {elapsed:.1f} s, {rate:.1f} {unit}/s"
    eta = format_seconds((total - done) / rate) if rate > 0 else "?"
    return f"{stage}: {done}/{total} {unit}, {rate:.1f} {unit}/s, ETA {eta}"


class PlainProgress:
    """Progress lines without control characters, at most one per ``interval`` seconds."""

    def __init__(
        self, stage: str, total: int, unit: str, stream: TextIO, interval: float = PLAIN_INTERVAL
    ) -> None:
        """Start counting ``total`` items of ``unit`` for ``stage``."""
        self.stage, self.total, self.unit = stage, total, unit
        self.stream, self.interval = stream, interval
        self.done = 0
        self.started = time.perf_counter()
        self._last = self.started

    def update(self, count: int) -> None:
        """Count ``count`` more items; print a line when ``interval`` has passed."""
        self.done += count
        now = time.perf_counter()
        if self.done < self.total and now - self._last >= self.interval:
            self._last = now
            self._print(now)

    def close(self) -> None:
        """Print the final line (count, time, rate)."""
        self._print(time.perf_counter())

    def _print(self, now: float) -> None:
        line = rate_line(self.stage, self.done, self.total, self.unit, now - self.started)
        self.stream.write(line + "\n")
        self.stream.flush()


@contextmanager
def counted(stage: str, total: int, mode: str, unit: str = "passages") -> Iterator[Update]:
    """Report a stage of ``total`` items; yields ``update(count)``.

    ``bar``: a tqdm bar with rate and ETA; ``plain``: lines (``PlainProgress``);
    ``off`` or nothing to do: silent.
    """
    if mode == "off" or total <= 0:
        yield lambda count: None
        return
    stream = _stderr()
    if mode == "bar":
        with tqdm(
            total=total, desc=stage, unit=f" {unit}", file=stream, bar_format=BAR_FORMAT
        ) as bar:
            yield bar.update
        return
    plain = PlainProgress(stage, total, unit, stream)
    yield plain.update
    plain.close()


def stage_done(stage: str, count: int, unit: str, seconds: float, mode: str) -> None:
    """One line for a finished uncounted stage, e.g. ``reading: 12 articles in 0.1 s``."""
    if mode == "off":
        return
    stream = _stderr()
    stream.write(f"{stage}: {count} {unit} in {seconds:.1f} s\n")
    stream.flush()
