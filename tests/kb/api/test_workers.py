"""``kb serve --workers 2``: both workers serve, metrics add up over the workers."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.kb.api.conftest import Kb
from tests.kb.api.helpers import ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_workers_serve_and_metrics_aggregate(kb_server: Kb) -> None:
    server = ServerProcess(kb_server.home, workers=2, api_rate_limit_per_minute=0).start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for i in range(20):
                response = client.post(
                    "/v1/suggest",
                    json={"question": f"怎么退货 {i}"},
                    headers=kb_server.auth("public"),
                )
                assert response.status_code == 200, response.text
            text = client.get("/metrics").text
    finally:
        server.stop()
    pattern = r'kb_api_requests_total\{method="POST",route="/v1/suggest",status="200"\} (\S+)'
    assert sum(float(v) for v in re.findall(pattern, text)) == 20
    log = server.log.read_text(errors="replace")
    assert log.count("Started server process") == 2
    assert "died" not in log
