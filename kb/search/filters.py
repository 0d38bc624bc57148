"""What a search may return: audience, type, tags, language and the "as of" date.

``SearchFilters`` is built once per request and tested against each candidate chunk's meta
(the provenance the ingest pipeline writes: ``audience``, ``type``, ``tags``, ``lang``,
``effective_from``, ``effective_to``). The rules:

- audience: a ``public`` caller (a bot, the default) sees only ``public`` articles; an
  ``internal`` caller (an agent) sees ``internal`` and ``public`` ones. A chunk without an
  audience counts as ``internal``, so nothing unlabelled ever leaks to bots.
- types: the article type is one of them (empty: any type).
- tags: the article carries *every* given tag (empty: no constraint), matched after
  ``normalize_for_matching`` (case, width, Traditional/Simplified do not matter).
- lang: the article's language is the given one or a sub-tag of it (``zh`` matches
  ``zh`` and ``zh-TW``; ``zh-TW`` matches only ``zh-TW``).
- as_of: only versions effective on that day: ``effective_from <= as_of <= effective_to``
  with a missing bound open. Default: today (local date).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from kb.errors import InvalidInput
from kb.model import ArticleType, Audience
from kb.text import normalize_for_matching

AUDIENCES = tuple(str(a) for a in Audience)
TYPES = tuple(str(t) for t in ArticleType)


def _iso(value: Any) -> str | None:
    """A meta date (ISO string, date or datetime) as ``YYYY-MM-DD``, or None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


@lru_cache(maxsize=4096)
def _norm_tag(tag: str) -> str:
    """A tag in matching form (tags repeat across chunks, so this is cached)."""
    return normalize_for_matching(tag)


def parse_as_of(value: str | date | None) -> date:
    """The as-of date: a date, an ISO ``YYYY-MM-DD`` string, or None for today."""
    if value is None or value == "":
        return date.today()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"as-of date must be YYYY-MM-DD, got {value!r}") from None


@dataclass(frozen=True)
class SearchFilters:
    """The constraints of one search; ``matches(meta)`` decides one chunk."""

    audience: str = "public"
    types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    lang: str | None = None
    as_of: date = field(default_factory=date.today)

    def __post_init__(self) -> None:
        """Validate the values (InvalidInput names the bad one)."""
        if self.audience not in AUDIENCES:
            raise InvalidInput(f"audience must be one of {', '.join(AUDIENCES)}")
        bad = [t for t in self.types if t not in TYPES]
        if bad:
            raise InvalidInput(f"unknown type {bad[0]!r} (known: {', '.join(TYPES)})")

    @classmethod
    def build(
        cls,
        audience: str | None = None,
        types: Iterable[str] | str | None = None,
        tags: Iterable[str] | str | None = None,
        lang: str | None = None,
        as_of: str | date | None = None,
    ) -> SearchFilters:
        """Filters from loose input (CLI options, API fields): strings or lists, None = any."""
        types = [types] if isinstance(types, str) else list(types or [])
        tags = [tags] if isinstance(tags, str) else list(tags or [])
        return cls(
            audience=(audience or "public").strip().lower(),
            types=tuple(dict.fromkeys(t.strip().lower() for t in types if t.strip())),
            tags=tuple(dict.fromkeys(_norm_tag(t) for t in tags if t.strip())),
            lang=(lang or "").strip().lower() or None,
            as_of=parse_as_of(as_of),
        )

    def matches(self, meta: dict[str, Any]) -> bool:
        """True when a chunk with this meta may be returned."""
        if self.audience == "public" and meta.get("audience") != "public":
            return False
        if self.types and meta.get("type") not in self.types:
            return False
        if self.lang is not None:
            lang = str(meta.get("lang") or "").lower()
            if lang != self.lang and not lang.startswith(self.lang + "-"):
                return False
        if self.tags:
            have = {_norm_tag(str(t)) for t in meta.get("tags") or []}
            if not set(self.tags) <= have:
                return False
        return self.is_effective(meta)

    def is_effective(self, meta: dict[str, Any]) -> bool:
        """True when the chunk's version is effective on ``as_of``."""
        day = self.as_of.isoformat()
        start, end = _iso(meta.get("effective_from")), _iso(meta.get("effective_to"))
        return (start is None or start <= day) and (end is None or day <= end)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (echoed in search and suggest responses)."""
        return {
            "audience": self.audience,
            "types": list(self.types),
            "tags": list(self.tags),
            "lang": self.lang,
            "as_of": self.as_of.isoformat(),
        }
