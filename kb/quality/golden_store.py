"""The golden questions' live candidate lists on disk, next to their index version.

Computing every golden question's live lists (``kb.quality.golden_filter.LiveLists``) is the
costly part of a cold golden check; a running app keeps them in memory, but each
``kb check`` / ``kb publish`` is a fresh process. So the lists are stored in the index
version's directory (``golden-lists/<key>.npz``), written atomically (a temporary file,
then a rename) the first time a check computes them, and read by the next process.

The key covers everything the lists depend on: the index version, its chunks (ids,
articles, which pass the filters, the FAQ questions and their vectors), the filters
(audience, day), the list depths, the tokenizers, the golden questions' texts and their
query vectors.
A file is used only if its stored key equals the key computed now, its arrays have the
expected shapes and ranges and its payload digest matches: a stale, truncated or edited
file is ignored (and replaced), never a source of a wrong answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.quality.golden_filter import Scorer, Tops
from kb.search.filters import SearchFilters
from kb.search.index import MANIFEST_FILE

log = logging.getLogger(__name__)

FORMAT = 1
DIRNAME = "golden-lists"
KEEP_FILES = 4  # golden sets / days kept per index version (the newest files)


def lists_key(
    scorer: Scorer,
    filters: SearchFilters,
    tokenizers: Sequence[str],
    texts: Sequence[str],
    vectors: np.ndarray,
) -> str:
    """The fingerprint of everything the live lists of ``texts`` on ``scorer`` depend on."""
    digest = hashlib.sha256()
    head = {
        "format": FORMAT,
        "index_version": scorer.snapshot.version,
        "filters": repr(filters),
        "depths": repr(scorer.depths),
        "lists": list(scorer.lists()),
        "tokenizers": sorted(tokenizers),
        "questions": len(texts),
    }
    digest.update(json.dumps(head, sort_keys=True).encode())
    for values in (scorer.ids, scorer.article):
        digest.update("\x1f".join(str(v) for v in values.tolist()).encode())
    digest.update(scorer.passing.tobytes())
    digest.update(scorer.group_rows.tobytes())
    if scorer.questions is not None:  # the FAQ questions and their vectors (from the cache)
        digest.update("\x1f".join(scorer.questions.questions).encode())
        digest.update(np.ascontiguousarray(scorer.questions.vectors, dtype=np.float32).tobytes())
    digest.update("\x1f".join(texts).encode())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


def path_for(snapshot_path: Path, key: str) -> Path | None:
    """Where the lists with ``key`` are stored for the index version in ``snapshot_path``
    (None when that is not a stored index version: nothing is read or written)."""
    if not (snapshot_path / MANIFEST_FILE).is_file():
        return None
    return snapshot_path / DIRNAME / f"{key[:40]}.npz"


def _payload_digest(key: str, tops: dict[str, Tops]) -> str:
    digest = hashlib.sha256(key.encode())
    for name in sorted(tops):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(tops[name].items, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(tops[name].bar, dtype=np.float32).tobytes())
    return digest.hexdigest()


def load(path: Path, key: str, scorer: Scorer, count: int) -> dict[str, Tops] | None:
    """The lists stored at ``path`` if they are exactly the ones for ``key`` (``count``
    questions on ``scorer``); None when missing, stale or corrupt (logged)."""
    if not path.is_file():
        return None
    try:
        tops = _read(path, key)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("golden lists %s unreadable (%s): recomputing", path.name, type(exc).__name__)
        return None
    if tops is None or not _valid(tops, scorer, count):
        log.warning("golden lists %s are stale or corrupt: recomputing", path.name)
        return None
    return tops


def _read(path: Path, key: str) -> dict[str, Tops] | None:
    with np.load(path, allow_pickle=False) as data:
        if str(data["key"]) != key:
            return None
        names = [str(n) for n in data["lists"].tolist()]
        tops = {n: Tops(data[f"{n}.items"], data[f"{n}.bar"]) for n in names}
        if str(data["digest"]) != _payload_digest(key, tops):
            return None
    return tops


def _valid(tops: dict[str, Tops], scorer: Scorer, count: int) -> bool:
    """Do the arrays have the shapes, types and ranges the lists of ``scorer`` have?"""
    if set(tops) != set(scorer.lists()):
        return False
    for name, top in tops.items():
        k, items = scorer.depths.of(name), len(scorer.item_rows(name))
        if top.items.shape != (count, k) or top.bar.shape != (count,):
            return False
        if top.items.dtype != np.int64 or top.bar.dtype != np.float32:
            return False
        if top.items.size and (top.items.min() < -1 or top.items.max() >= items):
            return False
    return True


def save(path: Path, key: str, tops: dict[str, Tops]) -> bool:
    """Store ``tops`` at ``path`` atomically (False, logged, if the directory is not
    writable: the check goes on without it); prune the oldest files of the version."""
    arrays: dict[str, np.ndarray] = {
        "key": np.array(key),
        "lists": np.array(sorted(tops)),
        "digest": np.array(_payload_digest(key, tops)),
    }
    for name, top in tops.items():
        arrays[f"{name}.items"] = np.ascontiguousarray(top.items, dtype=np.int64)
        arrays[f"{name}.bar"] = np.ascontiguousarray(top.bar, dtype=np.float32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez(out, **arrays)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        log.warning("golden lists not stored (%s): the next process recomputes them", exc)
        return False
    _prune(path.parent)
    return True


def _prune(folder: Path) -> None:
    """Keep the ``KEEP_FILES`` newest list files of an index version."""
    files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP_FILES:]:
        try:
            old.unlink()
        except OSError:
            continue
