"""The functions screen counts what real workers finish and fail while qwatch top watches."""

from __future__ import annotations

import threading

import redis
from rq import Queue
from rq.job import Job

from harness import tasks
from harness.polling import wait_until
from harness.workers import run_burst
from qwatch.tui.app import QwatchApp
from qwatch.tui.feed import Feed
from qwatch.wire.connection import Target, connect
from tests.tui.conftest import SIZE, cells, following, make_app, table, track, until


async def test_recent_completions_and_run_times_per_function(client: redis.Redis, url: str) -> None:
    Queue("default", connection=client).enqueue(tasks.add, 0, 0)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await until(
            pilot,
            lambda: table(app, "#queues").row_count == 1 and following(app).polls,
            "the first polls",
        )
        queue = Queue("default", connection=client)
        for i in range(3):
            queue.enqueue(tasks.sleep, 0.1 * (i + 1))
        for i in range(2):
            queue.enqueue(tasks.divide, i, 0)
        run_burst(url, ["default"])
        track(app)
        await pilot.press("4")
        functions = table(app, "#functions")
        await until(
            pilot,
            lambda: (
                functions.row_count >= 3
                and cells(app, "#functions", "harness.tasks.sleep")[4] == "3"
                and cells(app, "#functions", "harness.tasks.divide")[5] == "2"
            ),
            "the recent completions",
        )
        sleep = cells(app, "#functions", "harness.tasks.sleep")
        p50, p95, longest = (float(text.rstrip("s")) for text in sleep[6:9])
        assert 0.2 <= p50 < p95 == longest
        divide = cells(app, "#functions", "harness.tasks.divide")
        assert divide[3] == "2"  # in the failed registry, sampled
        assert cells(app, "#functions", "harness.tasks.add")[4] == "1"


async def test_a_job_kept_two_seconds_counts_whatever_the_refresh_interval(
    client: redis.Redis, url: str
) -> None:
    """Completions are followed every 0.2 s while the screen refreshes every 10 s: a job whose
    record is gone before the next refresh is in the functions screen all the same."""
    target = Target(url=url, timeout=1.0)
    feed = Feed(target, connect(target), track_interval=0.2)
    app = QwatchApp(feed, interval=10)
    async with app.run_test(size=SIZE) as pilot:
        await until(
            pilot, lambda: app.update is not None and feed.following.polls, "the first polls"
        )
        job = Queue("default", connection=client).enqueue(tasks.add, 2, 2, result_ttl=2)
        run_burst(url, ["default"])
        await until(pilot, lambda: not Job.exists(job.id, connection=client), "its record gone")
        await pilot.press("4")  # the first look at the functions screen refreshes at once
        await until(
            pilot,
            lambda: (
                table(app, "#functions").row_count == 1
                and cells(app, "#functions", "harness.tasks.add")[4] == "1"
            ),
            "the job in the recent completions",
        )
    tracker = f"qwatch-tracker-{target.display}"
    wait_until(
        lambda: tracker not in {thread.name for thread in threading.enumerate()},
        "the tracker to stop with the app",
    )
