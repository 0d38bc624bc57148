"""Answering one ``POST /v1/suggest``: kb's suggest function, the audience guard, the log.

The answer is the object ``kb suggest --json`` prints, made by ``kb.answer.suggest`` (this
module does no retrieval of its own). Around it the API adds:

* the request id (the same in the body, the ``X-Request-ID`` header and the query log);
* a last-line audience guard: for a public key every result, citation and note's other
  source is checked against the audience recorded in the index; an internal one is
  removed, and if one was cited the answer is withheld (hand-off). Retrieval filters by
  audience first, so the guard should never fire; ``kb_api_audience_withheld_total``
  counts it if it does;
* the query log row (question masked with ``kb.privacy.mask_personal_data``), whose
  ``requester`` (``key:<name>``) ties feedback to the key.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from kb.config import Config
from kb.model import Audience
from kb.search.filters import SearchFilters
from kb.search.resources import SearchResources
from kb.search.store import SearchIndex, SearchView

logger = logging.getLogger("kb.api")

WITHHELD_REASON = "audience_withheld"
WITHHELD_DETAIL = "the best sources are not available to this audience"


class Answerer:
    """Calls kb's suggest for API requests (one per worker; the model loads once)."""

    def __init__(
        self, config: Config, reader: SearchIndex, resources: SearchResources | None = None
    ) -> None:
        """Store the settings, the worker's index reader and its ``resources`` (the models
        and caches of ``Runtime.resources``; default: a new set)."""
        self.config = config
        self.reader = reader
        self.resources = resources
        self._suggester: Any = None
        self._audiences: tuple[str, dict[str, str]] | None = None

    def warm_up(self) -> None:
        """Load the model and the query pipeline, and prepare the live snapshot (idempotent)."""
        if self._suggester is None:
            from kb.answer.suggest import Suggester

            suggester = Suggester(self.config, reader=self.reader, resources=self.resources)
            suggester.warm_up()
            self._suggester = suggester
        else:
            self._suggester.warm_up()

    def suggest(
        self,
        question: str,
        *,
        audience: Audience,
        request_id: str,
        top_k: int | None = None,
        as_of: date | None = None,
        lang: str | None = None,
        snapshot: SearchView | None = None,
    ) -> dict[str, Any]:
        """The answer object for one message, as ``kb suggest --json`` would print it: each
        question of the message answered apart (``kb.answer.message_answer``; ``parts``).

        ``snapshot``: the index version to answer from (the request's; default the live one).
        """
        from kb.answer.message_answer import answer_message

        if self._suggester is None:
            self.warm_up()
        filters = SearchFilters.build(audience=str(audience), lang=lang, as_of=as_of)
        reply = answer_message(
            self._suggester,
            question,
            filters,
            top_k=top_k or self.config.top_k,
            request_id=request_id,
            log=False,  # the API writes its own query-log row (with the key as requester)
            snapshot=snapshot,
        )
        data = reply.to_dict()
        data["request_id"] = request_id
        for part in data["parts"]:
            part["request_id"] = request_id
        return data

    def search(
        self, question: str, *, audience: Audience, top_k: int, snapshot: SearchView
    ) -> list[dict[str, Any]]:
        """The ranked results for ``question`` visible to ``audience`` (guarded, like answers)."""
        if self._suggester is None:
            self.warm_up()
        filters = SearchFilters.build(audience=str(audience))
        response = self._suggester.searcher.search(
            question, filters, top_k=top_k, snapshot=snapshot
        )
        data = {"results": [r.to_dict() for r in response.results], "citations": []}
        return list(self.guard(data, audience, snapshot)[0]["results"])

    # --- the audience guard ------------------------------------------------------------------

    def article_audiences(self, snapshot: SearchView) -> dict[str, str]:
        """``{article_id: audience}`` of the snapshot's chunks (cached per version)."""
        cached = self._audiences
        if cached is not None and cached[0] == snapshot.version:
            return cached[1]
        mapping = snapshot.article_audiences()
        self._audiences = (snapshot.version, mapping)
        return mapping

    def guard(
        self, data: dict[str, Any], audience: Audience, snapshot: SearchView
    ) -> tuple[dict[str, Any], int]:
        """Remove what a public caller may not see, from the answer and from each of its
        ``parts``; returns the answer and the count removed."""
        if audience == Audience.INTERNAL:
            return data, 0
        known = self.article_audiences(snapshot)
        removed = _guard_one(data, known)
        for part in data.get("parts") or []:
            removed += _guard_one(part, known)
        return data, removed


def _guard_one(data: dict[str, Any], known: dict[str, str]) -> int:
    """Remove internal results and notes about internal sources of one answer object;
    withhold it if it cites one."""

    def hidden(item: Any) -> bool:
        if not isinstance(item, dict):
            return False
        own = item.get("audience")
        if own is not None and own != "public":
            return True
        return known.get(str(item.get("article_id")), "internal") != "public"

    results = data.get("results") or []
    citations = data.get("citations") or []
    kept = [r for r in results if not hidden(r)]
    removed = len(results) - len(kept)
    data["results"] = kept
    notes = data.get("notes") or []
    shown = [n for n in notes if not hidden(n.get("other") if isinstance(n, dict) else None)]
    removed += len(notes) - len(shown)
    data["notes"] = shown
    if any(hidden(c) for c in citations):
        removed += sum(1 for c in citations if hidden(c))
        data.update(
            answer=None,
            mode=None,
            citations=[],
            notes=[],
            handoff=True,
            reason=WITHHELD_REASON,
            detail=WITHHELD_DETAIL,
        )
    return removed
