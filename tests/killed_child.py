"""Killing a real kb process at a pause point of its own (the crash-safety tests).

The child script wraps one kb function so that it touches a marker file and sleeps at the
chosen moment (a test seam, not a mock: the real work runs up to that point); the test
waits for the marker and SIGKILLs the child there, whatever the machine's speed.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def kill_at_pause(child: subprocess.Popen, marker: Path, hang_guard_s: float = 120) -> None:
    """Wait until ``child`` reaches its pause point (``marker`` exists), then SIGKILL it and
    reap it. Fails with the child's stderr if it exits first, and after ``hang_guard_s``
    (a hang guard, not a speed bound); the child is killed in every case."""
    try:
        deadline = time.monotonic() + hang_guard_s
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the child never reached the pause point"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
