"""Running Haystack pipelines so that kb's own errors come out as themselves.

Haystack wraps any exception raised inside a component in ``PipelineRuntimeError``;
a front end would then report a clear ``InvalidInput`` (an empty question, a bad
file) as an internal error. ``run_haystack`` re-raises the component's exception.
"""

from __future__ import annotations

from typing import Any

from haystack import Pipeline
from haystack.core.errors import PipelineRuntimeError


def run_haystack(pipeline: Pipeline, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """``pipeline.run(data, **kwargs)``, raising a failed component's own exception."""
    try:
        return pipeline.run(data, **kwargs)
    except PipelineRuntimeError as exc:
        raise (exc.__cause__ or exc) from None
