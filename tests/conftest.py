"""Shared fixtures: one private redis-server per test session, flushed for every test."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest
import redis
from hypothesis import HealthCheck, settings

from harness.redis_server import RedisServer

settings.register_profile(
    "qwatch",
    max_examples=2_000,
    deadline=None,  # the machine is shared: work is counted, never timed
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("large", settings.get_profile("qwatch"), max_examples=20_000)
settings.register_profile("quick", settings.get_profile("qwatch"), max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "qwatch"))

collect_ignore = [] if importlib.util.find_spec("arq") else ["arq"]
"""arq's tests run where arq is installed, in .venv-arq (`make test` runs them there): arq
pins a redis-py older than the one the rest of the suite runs on."""


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free port, started by the suite and stopped after it."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the private server, emptied before each test."""
    if redis_server.process is None:
        redis_server.start()
    connection = redis_server.client()
    connection.flushall()
    yield connection
    connection.close()


@pytest.fixture
def url(redis_server: RedisServer, client: redis.Redis) -> str:
    """The private server's URL, emptied like `client`."""
    return redis_server.url
