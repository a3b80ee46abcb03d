"""Random and malformed arq state, written into the real Redis, read through every read path of
arq's: the snapshot and its JSON, the failures, each job by id, every page of every queue, a
search, one
`/metrics` reading, all rendered. Nothing may escape, no record may need the safety net of an
unexpected exception, every field stays bounded, the readings keep to their round trips, and
the canary a pickle would create never appears."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial

import pytest
from hypothesis import given, settings

from harness.redis_server import RedisServer
from qwatch.arq.layout import ArqLayout
from qwatch.arq.pages import STATES
from qwatch.cli.report import failed_report, job_report, jobs_report, snapshot_report
from qwatch.model import ARQ, PageRequest, SearchRequest
from qwatch.watch import Watch
from tests.properties.hostile_arq import QUEUE_NAMES, arq_states
from tests.properties.hostile_rq import State
from tests.properties.test_fuzz import Reads, counting_reads, scraped_up, shown_safely

ROUND_TRIPS = {"snapshot": 3 + 1, "failed": 0, "job": 2, "page": 4}
"""The most round trips each read may take once the queues and results are discovered (a
snapshot reads Redis' own figures too; failures are the results discovery read)."""
NAMED = ArqLayout(QUEUE_NAMES)


@pytest.fixture(scope="module")
def reads(redis_server: RedisServer) -> Iterator[Reads]:
    with counting_reads(redis_server, ROUND_TRIPS) as found:
        yield found


@given(state=arq_states())
@settings(max_examples=300)
@pytest.mark.timeout(600)
def test_no_arq_state_breaks_a_read_path(reads: Reads, state: State) -> None:
    client = reads.client
    client.flushdb()
    state.write(client)
    reads.lines.clear()
    watch = Watch(client, ARQ, arq=NAMED)
    watch.systems()  # the discovery, and the results it reads
    snapshot = reads.counted("snapshot", watch.read)
    json.dumps(snapshot.to_dict(), allow_nan=False)
    failed = reads.counted("failed", lambda: watch.failed(20))
    jobs = [reads.counted("job", partial(watch.job, i.decode())) for i in state.job_ids]
    pages = [
        reads.counted("page", partial(watch.arq_page, PageRequest(q, s, limit=20)))
        for q in watch.arq_queues
        for s in STATES
    ]
    searched = watch.searched(SearchRequest("a", budget=200))
    assert searched.done or searched.stopped
    scraped_up(client, Watch(client, ARQ, arq=NAMED))
    shown_safely(
        reads,
        [snapshot, failed, jobs, pages, searched.hits],
        snapshot_report(snapshot, "fuzz"),
        failed_report(failed, now=snapshot.taken_at),
        *(job_report(job) for job in jobs if job is not None),
        *(jobs_report(page) for page in pages),
    )
