"""A PostgreSQL server for the shared catalog and state database (started once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def postgres_server():
    from tests.servers import postgres

    with postgres() as server:
        yield server
