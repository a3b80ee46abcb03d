"""The functions screen counts what real workers finish and fail while qwatch top watches."""

from __future__ import annotations

import redis
from rq import Queue

from harness import tasks
from harness.workers import run_burst
from tests.tui.conftest import SIZE, cells, make_app, table, until


async def test_recent_completions_and_run_times_per_function(client: redis.Redis, url: str) -> None:
    Queue("default", connection=client).enqueue(tasks.add, 0, 0)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: table(app, "#queues").row_count == 1, "the first poll")
        queue = Queue("default", connection=client)
        for i in range(3):
            queue.enqueue(tasks.sleep, 0.1 * (i + 1))
        for i in range(2):
            queue.enqueue(tasks.divide, i, 0)
        run_burst(url, ["default"])
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
