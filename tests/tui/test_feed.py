"""The feed of `qwatch top`: jobs out per second include those counted from the stream."""

from __future__ import annotations

import pytest
import redis
from rq import Queue

from harness import tasks
from harness.workers import run_burst
from qwatch.tui.feed import Feed
from qwatch.wire.connection import Target, connect


def test_jobs_kept_by_nobody_count_as_out_in_exact_mode(client: redis.Redis, url: str) -> None:
    queue = Queue("default", connection=client)
    queue.enqueue(tasks.add, 0, 0, result_ttl=0)
    run_burst(url, ["default"], worker_class="qwatch.rq.Worker")
    target = Target(url=url)
    feed = Feed(target, connect(target))
    before = feed.poll(with_functions=False)
    for i in range(5):
        queue.enqueue(tasks.add, i, 1, result_ttl=0)
    run_burst(url, ["default"], worker_class="qwatch.rq.Worker")
    after = feed.poll(with_functions=False)
    rate = after.trends["rq:default"].out_per_second
    assert rate is not None
    elapsed = after.snapshot.taken_at - before.snapshot.taken_at
    assert rate * elapsed == pytest.approx(5)
