"""`qwatch top` on a Redis where RQ and Celery each run a queue named `emails`: two rows,
one per system, and both workers, at the smallest terminal it supports."""

from __future__ import annotations

import redis
from celery import Celery

from qwatch.tui.app import QwatchApp
from qwatch.tui.feed import Feed
from qwatch.watch import Watch
from qwatch.wire.connection import Target, connect
from tests.celery.conftest import StartWorker
from tests.celery.side_by_side import (
    CELERY_WORKER,
    LAYOUT,
    QUEUE,
    RQ_WORKER,
    both_workers,
    send_jobs,
    subscribed,
)
from tests.tui.conftest import shown_cells, table, until

SMALL = (80, 24)


async def test_top_shows_both_queues_and_both_workers(
    client: redis.Redis, url: str, app: Celery, start_worker: StartWorker
) -> None:
    with both_workers(client, url, start_worker):
        target = Target(url=url, timeout=1.0)
        watched = connect(target)
        watch = Watch(watched, layout=LAYOUT)
        subscribed(watch)
        top = QwatchApp(Feed(target, watched, 3600.0, watch), interval=0.2)
        send_jobs(client, app)
        async with top.run_test(size=SMALL) as pilot:
            await until(pilot, lambda: table(top, "#queues").row_count == 2, "the two queues")
            queues = {
                key: shown_cells(top, "#queues", key)[:2] for key in table(top, "#queues").keys
            }
            await pilot.press("2")
            await until(pilot, lambda: table(top, "#workers-table").row_count == 2, "both workers")
            workers = {
                key.split("@")[0]: shown_cells(top, "#workers-table", key)[1]
                for key in table(top, "#workers-table").keys
            }
    assert queues == {f"rq:{QUEUE}": [QUEUE, "rq"], f"celery:{QUEUE}": [QUEUE, "celery"]}
    assert workers == {f"rq:{RQ_WORKER}": "rq", f"celery:{CELERY_WORKER}": "celery"}
