"""Request and response bodies of the API (pydantic), as published in the OpenAPI schema.

The question length limit comes from the settings, so the request models are
built per app by ``request_models(config)``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb.text import QUESTION_PATTERN

ARTICLE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
# A conversation id as chat platforms make them: UUIDs, base64, open ids; no spaces.
SESSION_ID_PATTERN = r"^[A-Za-z0-9._:@/+=-]{1,128}$"
MAX_TOP_K = 20


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="Human-readable explanation.")
    request_id: str = Field(description="Id of the request, also in the X-Request-ID header.")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class Citation(BaseModel):
    """One numbered source of the answer: marker ``[n]`` maps to ``n``."""

    model_config = ConfigDict(extra="allow")

    n: int | None = None
    article_id: str
    version: int | None = None
    title: str | None = None
    spans: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Every cited passage of the article: `passage`, `char_start`, `char_end` "
        "(each article is cited once).",
    )


class Result(BaseModel):
    """One retrieved article (or chunk) with its score."""

    model_config = ConfigDict(extra="allow")

    article_id: str
    score: float | None = None


class SuggestResponse(BaseModel):
    """The answer object, the same as ``kb suggest --json`` prints."""

    model_config = ConfigDict(extra="allow")

    answer: str | None = Field(description="Reply with `[n]` markers, or null on hand-off.")
    text: str | None = Field(
        default=None,
        description="The reply to send: `answer` without its `[n]` markers, between the "
        "configured greeting and closing; null on hand-off.",
    )
    internal: bool = Field(
        default=False,
        description="True when the reply cites an internal-only article (internal keys only): "
        "internal guidance for the agent, not for the customer.",
    )
    citations: list[Citation]
    notes: list[dict[str, Any]] = Field(
        default_factory=list,
        description="What the agent should know about the sources: `disagreement` notes name "
        "another source (`other`, a citation) that states a different figure than the reply.",
    )
    confidence: float
    handoff: bool = Field(description="True: no confident answer, pass to a human.")
    reason: str | None = None
    results: list[Result]
    request_id: str = Field(description="Quote it in POST /v1/feedback.")
    parts: list[dict[str, Any]] = Field(
        default_factory=list,
        description="One answer object per question the message asks, in order, each with "
        "the `question` kb answered, its own `answer`, `text`, `citations`, `handoff` and "
        "`results`; the top-level fields are the first part's, `text` the whole reply.",
    )


class FeedbackResponse(BaseModel):
    """The recorded feedback."""

    id: int
    request_id: str
    helpful: bool


class ArticleResponse(BaseModel):
    """The published, currently effective version of an article."""

    id: str
    version: int
    type: str
    title: str
    body: str
    question: str
    similar_questions: list[str]
    lang: str
    tags: list[str]
    audience: str
    effective_from: date | None
    effective_to: date | None
    updated_at: str


class Health(BaseModel):
    """Liveness or readiness."""

    status: str
    index_version: str | None = None
    detail: dict[str, Any] | None = None


class FeedbackRequest(BaseModel):
    """A verdict on one suggestion served to the same key."""

    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=64)
    helpful: bool
    comment: str | None = Field(default=None, max_length=2000)
    correct_article_id: str | None = Field(default=None, pattern=ARTICLE_ID_PATTERN)


class SuggestFields(BaseModel):
    """A customer's question: the fields of ``POST /v1/suggest`` (see ``suggest_request_model``
    for the model served, whose question length is the configured limit)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1,
        description="At least one letter or digit (checked by kb as 422 otherwise).",
        json_schema_extra={"pattern": QUESTION_PATTERN},
    )
    audience: Literal["public", "internal"] | None = Field(
        default=None, description="Defaults to the key's audience; a public key gets 403."
    )
    top_k: int | None = Field(default=None, ge=1, le=MAX_TOP_K)
    as_of: date | None = Field(default=None, description="Effective date (default today).")
    lang: str | None = Field(default=None, max_length=16)
    channel: str | None = Field(default=None, max_length=32)
    session_id: str | None = Field(
        default=None,
        max_length=128,
        pattern=SESSION_ID_PATTERN,
        description="The conversation this question belongs to; kept in the query log.",
    )

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of_is_a_date_string(cls, value: Any) -> Any:
        """Only ``YYYY-MM-DD`` text: pydantic would read a number as a Unix time."""
        if value is not None and not isinstance(value, str | date):
            raise ValueError("as_of must be a date string YYYY-MM-DD")
        return value


def suggest_request_model(max_question_chars: int) -> type[SuggestFields]:
    """The ``POST /v1/suggest`` body with the configured question length limit."""

    class SuggestRequest(SuggestFields):
        """A customer's question."""

        question: str = Field(
            min_length=1,
            max_length=max_question_chars,
            description="At least one letter or digit (checked by kb as 422 otherwise).",
            json_schema_extra={"pattern": QUESTION_PATTERN},
        )

    return SuggestRequest


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (401, "No, a wrong or a revoked API key."),
        (403, "The key lacks the scope or the audience."),
        (404, "Not found (or not visible to this key)."),
        (413, "Request body too large."),
        (422, "Invalid request."),
        (429, "Rate limit exceeded; see Retry-After."),
        (500, "Internal error."),
        (503, "Not ready: model or index not loaded; see Retry-After."),
    )
}
