"""The FastAPI app for bots: ``create_app(config)``.

Endpoints: ``POST /v1/suggest``, ``POST /v1/feedback``, ``GET /v1/articles/{id}``, the
OpenAI-compatible ``POST /v1/chat/completions`` and ``GET /v1/models`` (``kb.api.chat``),
``GET /healthz``, ``GET /readyz``, ``GET /metrics``; OpenAPI at ``/openapi.json``,
docs at ``/docs``. Every error has the one body of ``kb.api.errors``. The handlers
are plain functions: FastAPI runs them in its thread pool, so a CPU-bound
suggestion does not block the event loop. See docs/api.md.
"""

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import Depends, FastAPI, Path, Request, Response
from fastapi.responses import JSONResponse

import kb
from kb.api.auth import allowed_audience, require
from kb.api.chat import add_chat_routes
from kb.api.due_publisher import DuePublisher
from kb.api.errors import install_error_handlers, request_id_of
from kb.api.middleware import BodyLimit, RequestContext
from kb.api.schemas import (
    ARTICLE_ID_PATTERN,
    ERROR_RESPONSES,
    ArticleResponse,
    FeedbackRequest,
    FeedbackResponse,
    Health,
    SuggestFields,
    SuggestResponse,
    suggest_request_model,
)
from kb.api.service import ApiState
from kb.api.serving import Asking, serve_suggestion
from kb.config import Config, load_config
from kb.errors import NotReady
from kb.privacy import configure_masking_from, mask_personal_data
from kb.store.db import Database
from kb.store.keys import KeyInfo

logger = logging.getLogger("kb.api")

DESCRIPTION = (
    "Suggested replies with citations for bots, from approved knowledge only. "
    "Authenticate with `Authorization: Bearer <key>` (`kb keys create`). Every error "
    'answers `{"error": {"code", "message", "request_id"}}`.'
)


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: ERROR_RESPONSES[s] for s in statuses}


def create_app(config: Config, *, db: Database | None = None, load: bool = True) -> FastAPI:
    """The API app for ``config``; ``load=False`` skips loading the model and index (tests)."""
    configure_masking_from(config)  # the settings may not come from load_config (tests)
    state = ApiState(config, db)
    publisher = DuePublisher(state.runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if load:
            state.start_loading()
            publisher.start()  # scheduled publications, every publish_due_interval_seconds
        yield
        publisher.stop()
        state.stop()

    app = FastAPI(
        title="kb suggest API",
        version=kb.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=_errors(422, 500),
    )
    app.state.kb = state
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=config.api_max_body_bytes)
    app.add_middleware(RequestContext, metrics=state.metrics)
    _add_probes(app, state)
    _add_v1(app, state, suggest_request_model(config.api_max_question_chars))
    add_chat_routes(app, state)
    return app


def _add_probes(app: FastAPI, state: ApiState) -> None:
    @app.get("/healthz", response_model=Health, response_model_exclude_none=True, tags=["service"])
    def healthz() -> dict[str, Any]:
        """Liveness: 200 while the process runs."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=Health, tags=["service"], responses=_errors(503))
    def readyz() -> dict[str, Any]:
        """Readiness: 200 only when the model and the index are loaded."""
        readiness = state.readiness
        if not readiness.ready:
            detail = f"model loaded: {readiness.model}; index loaded: {readiness.index}"
            if readiness.error:
                detail += f"; last error: {readiness.error}"
            raise NotReady(f"not ready ({detail})")
        snapshot = state.reader.snapshot()
        return {"status": "ready", "index_version": snapshot.version}

    @app.get(
        "/metrics",
        tags=["service"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus metrics."}},
    )
    def metrics() -> Response:
        """Prometheus metrics: request counts, latencies, hand-offs."""
        return Response(state.metrics.render(), media_type=state.metrics.content_type)


def _add_v1(app: FastAPI, state: ApiState, suggest_model: type[SuggestFields]) -> None:
    suggest_errors = _errors(401, 403, 413, 422, 429, 503)

    @app.post("/v1/suggest", response_model=SuggestResponse, tags=["v1"], responses=suggest_errors)
    def suggest(
        payload: suggest_model,  # type: ignore[valid-type]
        request: Request,
        key: KeyInfo = Depends(require("suggest")),
    ) -> JSONResponse:
        """A suggested reply with citations, or a hand-off (see docs/api.md)."""
        body = cast(SuggestFields, payload)  # suggest_model subclasses SuggestFields
        asking = Asking(
            key=key,
            audience=allowed_audience(key, body.audience),
            request_id=request_id_of(request),
            channel=body.channel or "api",
            session_id=body.session_id,
            top_k=body.top_k,
            as_of=body.as_of,
            lang=body.lang,
        )
        data, _context_used = serve_suggestion(state, asking, [body.question])
        return JSONResponse(data)

    @app.post(
        "/v1/feedback",
        response_model=FeedbackResponse,
        status_code=201,
        tags=["v1"],
        responses=_errors(401, 403, 404, 413, 422, 429),
    )
    def feedback(
        body: FeedbackRequest, key: KeyInfo = Depends(require("feedback"))
    ) -> dict[str, Any]:
        """Record whether a suggestion this key received helped (feeds the editors' insights)."""
        row = state.record_feedback(
            key,
            body.request_id,
            body.helpful,
            mask_personal_data(body.comment) if body.comment else None,
            body.correct_article_id,
        )
        return {"id": row.id, "request_id": row.request_id, "helpful": row.helpful}

    @app.get(
        "/v1/articles/{article_id}",
        response_model=ArticleResponse,
        tags=["v1"],
        responses=_errors(401, 403, 404, 422, 429),
    )
    def article(
        article_id: str = Path(pattern=ARTICLE_ID_PATTERN, max_length=128),
        key: KeyInfo = Depends(require("articles")),
    ) -> dict[str, Any]:
        """The published, effective version of an article this key may see (else 404)."""
        return state.article(key.audience, article_id)


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` and ``kb serve`` workers: settings from the env."""
    loaded = load_config(os.environ.get("KB_CONFIG") or None)
    logging.basicConfig(level=loaded.config.log_level.upper())
    logging.getLogger("haystack").setLevel(logging.WARNING)  # a line per component per request
    return create_app(loaded.config)


__all__ = ["app_from_env", "create_app"]
