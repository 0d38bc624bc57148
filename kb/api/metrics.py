"""Prometheus metrics of the API (``GET /metrics``).

* ``kb_api_requests_total{method, route, status}``: requests answered;
* ``kb_api_request_duration_seconds{method, route}``: latency histogram;
* ``kb_api_suggestions_total{outcome}``: suggestions, ``answered`` or ``handoff``; the
  hand-off rate is ``rate(kb_api_suggestions_total{outcome="handoff"}[5m]) /
  rate(kb_api_suggestions_total[5m])``;
* ``kb_api_usage_dropped_total``: query-log rows and key touches dropped because the
  background writer's queue was full or the database stayed unavailable at shutdown
  (should stay 0);
* ``kb_api_audience_withheld_total``: internal articles the last-line audience guard
  removed from a public answer (should stay 0: retrieval filters first).

Each app gets its own registry (tests build several apps in one process). With
several workers ``kb serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics``
aggregates every worker's values.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)


class ApiMetrics:
    """The API's metrics, registered in one registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        """Create the metrics in a fresh registry."""
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kb_api_requests",
            "API requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kb_api_request_duration_seconds",
            "Time from request to response, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.suggestions = Counter(
            "kb_api_suggestions",
            "Suggestions served, by outcome: answered or handoff.",
            ["outcome"],
            registry=self.registry,
        )
        self.withheld = Counter(
            "kb_api_audience_withheld",
            "Internal articles removed from answers to public keys by the last-line guard.",
            registry=self.registry,
        )
        self.usage_dropped = Counter(
            "kb_api_usage_dropped",
            "Query-log rows and API-key touches dropped (writer queue full, or database "
            "unavailable at shutdown).",
            registry=self.registry,
        )
        for outcome in ("answered", "handoff"):
            self.suggestions.labels(outcome=outcome)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        self.requests.labels(method=method, route=route, status=str(status)).inc()
        self.latency.labels(method=method, route=route).observe(seconds)

    def suggestion(self, handoff: bool) -> None:
        """Count one suggestion by outcome."""
        self.suggestions.labels(outcome="handoff" if handoff else "answered").inc()

    def render(self) -> bytes:
        """The exposition text: this process, or every worker in multiprocess mode."""
        path = os.environ.get(MULTIPROC_ENV)
        if path and os.path.isdir(path):
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=path)
            return generate_latest(registry)
        return generate_latest(self.registry)
