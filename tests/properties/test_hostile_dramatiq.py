"""Random and malformed Dramatiq state, written into the real Redis, read through every read path
of Dramatiq's: the snapshot and its JSON, the dead letters, each message by id, every page of
every queue, one `/metrics` reading, all rendered. Nothing may escape, no record may need the
safety net of an unexpected exception, every field stays bounded, the readings keep to their
round trips, and the canary a pickle would create never appears."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial

import pytest
from hypothesis import given, settings

from harness.redis_server import RedisServer
from qwatch.cli.report import failed_report, job_report, jobs_report, snapshot_report
from qwatch.dramatiq.completions import DramatiqStream
from qwatch.dramatiq.layout import DramatiqLayout
from qwatch.dramatiq.pages import STATES
from qwatch.model import DRAMATIQ, PageRequest
from qwatch.watch import Watch
from qwatch.wire.completions import MAX_BATCHES
from tests.properties.hostile_dramatiq import dramatiq_states
from tests.properties.hostile_rq import State
from tests.properties.test_fuzz import Reads, counting_reads, scraped_up, shown_safely

ROUND_TRIPS = {"snapshot": 3 + 1, "failed": 3, "job": 6, "page": 3, "stream": 2 + MAX_BATCHES - 1}
"""The most round trips each read may take once the queues are discovered (a snapshot reads
Redis' own figures too)."""


@pytest.fixture(scope="module")
def reads(redis_server: RedisServer) -> Iterator[Reads]:
    with counting_reads(redis_server, ROUND_TRIPS) as found:
        yield found


@given(state=dramatiq_states())
@settings(max_examples=300)
@pytest.mark.timeout(600)
def test_no_dramatiq_state_breaks_a_read_path(reads: Reads, state: State) -> None:
    client = reads.client
    client.flushdb()
    stream = DramatiqStream(DramatiqLayout())
    stream.poll(client, Watch(client, DRAMATIQ).read())  # none yet: read the next from its start
    state.write(client)
    reads.lines.clear()
    watch = Watch(client, DRAMATIQ)
    watch.systems()  # the discovery
    snapshot = reads.counted("snapshot", watch.read)
    json.dumps(snapshot.to_dict(), allow_nan=False)
    streamed = reads.counted("stream", partial(stream.poll, client, snapshot))
    failed = reads.counted("failed", lambda: watch.failed(20))
    jobs = [reads.counted("job", partial(watch.job, i.decode())) for i in state.job_ids]
    pages = [
        reads.counted("page", partial(watch.dramatiq_page, PageRequest(q, s, limit=20)))
        for q in watch.dramatiq_queues
        for s in STATES
    ]
    scraped_up(client, Watch(client, DRAMATIQ))
    shown_safely(
        reads,
        [snapshot, failed, jobs, pages, streamed],
        snapshot_report(snapshot, "fuzz"),
        failed_report(failed, now=snapshot.taken_at),
        *(job_report(job) for job in jobs if job is not None),
        *(jobs_report(page) for page in pages),
    )
