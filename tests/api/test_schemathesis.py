"""Property-based run of every operation of the OpenAPI document: no input makes the server fail (5xx).

Bounded so it stays fast in CI: a few derandomized examples per operation, over a small multi-team ledger,
with keyless local access (``require_key: false``) so every operation is reached, writes included.
"""

from __future__ import annotations

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error

from aifinops.api import create_server
from aifinops.core.settings import Settings
from aifinops.core.settings_access import AccessSettings
from tests.access.teams import build_app

_APP = build_app(Settings(access=AccessSettings(require_key="false")))
#: Operations that take seconds per call by design (an evaluation harness on generated data; own tests).
_SLOW = ("/api/v1/anomalies/evaluate",)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_server(_APP, local_mode=True)).exclude(
    path=list(_SLOW)
)


@schema.parametrize()
@hypothesis.settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
