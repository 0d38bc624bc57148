"""The OpenAI-compatible routes: ``POST /v1/chat/completions`` and ``GET /v1/models``.

A bot built for OpenAI's API points its client at kb (``base_url=http://kb:8000/v1``,
``api_key=<kb key>``). The models are views of the knowledge base (``chat_model``
setting, default ``kb``): ``kb`` answers with the key's audience, ``kb-public`` with
the public one, ``kb-internal`` with the internal one (listed, and allowed, only for an
internal key; a public key asking for it gets 403). The last user message is the
question; the earlier user messages are its context (``kb.answer.chat``). Same keys, scope
(``suggest``), rate limit, audience guard, query log and masking as ``/v1/suggest``
(``kb.api.serving``); errors in OpenAI's envelope (``kb.api.errors``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from kb.answer.chat import FollowUpQuery
from kb.api.auth import require
from kb.api.chat_reply import completion, content_of, extension, stream_events
from kb.api.chat_schemas import OPENAI_ERRORS, ChatCompletion, ChatRequest, ModelList
from kb.api.errors import request_id_of
from kb.api.service import ApiState
from kb.api.serving import Asking, serve_suggestion
from kb.errors import Forbidden, InvalidInput, NotFound
from kb.model import Audience
from kb.store.keys import KeyInfo
from kb.text import has_words, is_encodable

#: Unix time the model ids are reported as created (the release of this API).
MODELS_CREATED = 1_764_460_800
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def model_audiences(config_model: str, key: KeyInfo) -> dict[str, Audience]:
    """The model ids ``key`` may use, each with the audience it answers with."""
    models = {config_model: key.audience, f"{config_model}-public": Audience.PUBLIC}
    if key.audience == Audience.INTERNAL:
        models[f"{config_model}-internal"] = Audience.INTERNAL
    return models


def audience_of_model(config_model: str, key: KeyInfo, model: str) -> Audience:
    """The audience of ``model`` for ``key``: 403 for ``-internal`` with a public key, 404
    for an unknown model."""
    allowed = model_audiences(config_model, key)
    if model in allowed:
        return allowed[model]
    if model == f"{config_model}-internal":
        raise Forbidden(f"this API key may not use the model '{model}' (public audience only)")
    raise NotFound(f"the model '{model}' does not exist (see GET /v1/models)")


def user_turns(body: ChatRequest, max_chars: int) -> list[str]:
    """The user messages' texts, oldest first; 400 unless the last message is a user's
    with words in it, of at most ``max_chars`` characters."""
    last = body.messages[-1]
    if last.role != "user":
        raise InvalidInput("messages: the last message must be the user's question")
    turns = [m.text() for m in body.messages if m.role == "user"]
    if not has_words(turns[-1]):
        raise InvalidInput("messages: the last user message has no letters or digits")
    if not is_encodable(turns[-1]):
        raise InvalidInput("messages: the last user message is not valid text (a lone surrogate)")
    if len(turns[-1]) > max_chars:
        raise InvalidInput(f"messages: the last user message is longer than {max_chars} characters")
    return [t for t in turns[:-1] if has_words(t) and is_encodable(t)] + [turns[-1]]


def add_chat_routes(app: FastAPI, state: ApiState) -> None:
    """Add ``/v1/chat/completions`` and ``/v1/models`` to ``app``."""
    config = state.config
    follow_up = FollowUpQuery(
        config.chat_context_turns, config.chat_followup_max_chars, config.api_max_question_chars
    )

    @app.get("/v1/models", response_model=ModelList, tags=["openai"], responses=OPENAI_ERRORS)
    def models(key: KeyInfo = Depends(require("suggest"))) -> dict[str, Any]:
        """The knowledge base's models this key may use (OpenAI's model list)."""
        data = [
            {"id": name, "object": "model", "created": MODELS_CREATED, "owned_by": "kb"}
            for name in model_audiences(config.chat_model, key)
        ]
        return {"object": "list", "data": data}

    @app.post(
        "/v1/chat/completions",
        response_model=ChatCompletion,
        tags=["openai"],
        responses={
            **OPENAI_ERRORS,
            200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE if stream."},
        },
    )
    def chat_completions(
        body: ChatRequest, request: Request, key: KeyInfo = Depends(require("suggest"))
    ) -> Any:
        """kb's grounded reply to the last user message, in OpenAI's shape (see docs/api.md)."""
        asking = Asking(
            key=key,
            audience=audience_of_model(config.chat_model, key, body.model),
            request_id=request_id_of(request),
            channel=body.channel or "chat",
            session_id=body.session_id or body.user,
        )
        turns = user_turns(body, config.api_max_question_chars)
        data, context_used = serve_suggestion(state, asking, turns, follow_up)
        content = content_of(data, turns[-1], config)
        kb = extension(data, context_used)
        if body.stream:
            events = stream_events(body.model, content, kb)
            return StreamingResponse(events, media_type="text/event-stream", headers=STREAM_HEADERS)
        return JSONResponse(completion(body.model, content, kb))
