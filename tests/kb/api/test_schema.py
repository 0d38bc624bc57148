"""schemathesis against the server's own OpenAPI schema: no 5xx, responses conform.

Runs against the session's real ``kb serve`` (real KB, index and model) with an
internal key, so every operation is reachable, in both positive (valid) and
negative (invalid) generation modes. schemathesis's pytest plugin does not work
with pytest 9 (``Function._nodeid``), so each operation's case strategy is driven
with hypothesis directly. Needs ``schemathesis`` (a dev tool): skipped without it.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from tests.kb.api.conftest import Kb  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
# 413 (body over the size limit) is a proper rejection of invalid data too.
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}
)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_api_conforms_to_its_schema(kb_server: Kb, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{kb_server.url}/openapi.json", config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    headers = kb_server.auth("internal")
    tested = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=40,
            deadline=None,
            derandomize=True,  # the same cases on every run: CI is not a lottery
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            case.call_and_validate(base_url=kb_server.url, headers=headers)

        try:
            check()
        except Unsatisfiable:  # nothing to make invalid (no body, no parameters)
            assert mode == GenerationMode.NEGATIVE
            continue
        tested += 1
    assert tested >= (6 if mode == GenerationMode.POSITIVE else 3)
