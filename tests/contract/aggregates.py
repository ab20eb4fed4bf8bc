"""How the unit-of-work contract makes, stores and reads back each registered aggregate: one
probe per name in adapters/contexts.py (a registration without a probe fails the suite), each
knowing its context's unit of work. Each aggregate's probe lives in its own contract module."""

from typing import Any

from tests.contract.harness import AggregateProbe
from tests.contract.test_accounts import ACCOUNTS, TRANSFERS
from tests.contract.test_identity import LOGIN_FAILURES, PEOPLE, REFRESH_TOKENS
from tests.contract.test_todos import TODOS
from tests.contract.test_users import POSTS, USERS

EVERY_PROBE: list[AggregateProbe[Any, Any]] = [
    TODOS,
    USERS,
    POSTS,
    ACCOUNTS,
    TRANSFERS,
    PEOPLE,
    REFRESH_TOKENS,
    LOGIN_FAILURES,
    # (make aggregate adds its probe above this line)
]
PROBES = {probe.name: probe for probe in EVERY_PROBE}
