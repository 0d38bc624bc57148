"""Bodies of the OpenAI-compatible routes (``/v1/chat/completions``, ``/v1/models``).

The request is OpenAI's chat-completion request. The sampling parameters an OpenAI
client may send (``temperature``, ``max_tokens``, ...) are accepted and ignored: kb's
reply is grounded text, not sampled. Any other unknown field is refused (400), as on
the kb routes. Messages accept extra fields, so a bot may send back the assistant
messages it received (with their ``kb`` field).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kb.api.schemas import SESSION_ID_PATTERN, Citation

MAX_MESSAGES = 100


class ContentPart(BaseModel):
    """One part of a message's content; only ``text`` parts are read."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """One message of the conversation."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = Field(default=None, max_length=64)

    def text(self) -> str:
        """The message's text: the string, or its text parts joined."""
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "".join(p.text or "" for p in parts if p.type == "text")


class ChatRequest(BaseModel):
    """An OpenAI chat-completion request: the last user message is the question."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(max_length=64, description="A model id of GET /v1/models.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = Field(default=False, description="Server-sent events, `data: [DONE]` last.")
    n: int = Field(default=1, ge=1, le=1, description="One reply only.")
    user: str | None = Field(
        default=None,
        max_length=128,
        pattern=SESSION_ID_PATTERN,
        description="The end user or conversation; kept (masked) as the query log's session id.",
    )
    channel: str | None = Field(default=None, max_length=32, description="kb: query-log channel.")
    session_id: str | None = Field(
        default=None, max_length=128, pattern=SESSION_ID_PATTERN, description="kb: as `user`."
    )
    # Accepted for compatibility and ignored: kb does not sample.
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    stream_options: dict[str, Any] | None = None
    logit_bias: dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    response_format: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    store: bool | None = None
    parallel_tool_calls: bool | None = None
    tools: list[Any] | None = None
    tool_choice: Any = None


class KbExtension(BaseModel):
    """kb's extension field ``kb`` on the assistant message."""

    model_config = ConfigDict(extra="allow")

    handoff: bool = Field(description="True: no confident answer; content is the hand-off text.")
    reason: str | None = Field(description="Why it is a hand-off (as /v1/suggest), else null.")
    answer: str | None = Field(description="The reply with [n] markers, null on a hand-off.")
    internal: bool = Field(
        default=False,
        description="The reply cites an internal-only article (internal keys only): internal "
        "guidance, not for the customer; content then starts with a line saying so.",
    )
    citations: list[Citation]
    confidence: float
    context_used: bool = Field(description="The question was retrieved with earlier turns.")
    request_id: str = Field(description="Quote it in POST /v1/feedback.")
    parts: list[dict[str, Any]] = Field(
        default_factory=list,
        description="One entry per question the message asks: `question`, `answer`, `text`, "
        "`internal`, `handoff`, `reason`, `citations` (as the parts of /v1/suggest).",
    )


class AssistantMessage(BaseModel):
    """The reply message."""

    role: Literal["assistant"]
    content: str
    kb: KbExtension


class Choice(BaseModel):
    """The one choice of a completion."""

    index: int
    message: AssistantMessage
    finish_reason: Literal["stop"]


class ChatCompletion(BaseModel):
    """OpenAI's ``chat.completion`` object."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]


class ModelCard(BaseModel):
    """One model: a view of the knowledge base."""

    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    """``GET /v1/models``."""

    object: Literal["list"]
    data: list[ModelCard]


class OpenAIErrorDetail(BaseModel):
    """What went wrong (OpenAI's shape)."""

    message: str
    type: str
    param: str | None
    code: str


class OpenAIErrorBody(BaseModel):
    """The body of every error of the OpenAI-compatible routes."""

    error: OpenAIErrorDetail


OPENAI_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": OpenAIErrorBody, "description": text}
    for status, text in (
        (400, "Invalid request (OpenAI's status; the kb routes say 422)."),
        (401, "No, a wrong or a revoked API key."),
        (403, "The key lacks the scope or the model's audience."),
        (404, "Unknown model."),
        (413, "Request body too large."),
        (429, "Rate limit exceeded; see Retry-After."),
        (500, "Internal error."),
        (503, "Not ready: model or index not loaded; see Retry-After."),
    )
}
