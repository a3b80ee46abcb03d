"""`qwatch top`'s changes screen: what changed since it started, newest first, with a real RQ
worker and a Redis that goes away and comes back."""

from __future__ import annotations

from rq import Queue

from harness import tasks
from harness.redis_server import RedisServer
from harness.workers import start_worker, stop_worker
from qwatch.tui.app import QwatchApp
from tests.tui.conftest import cells, make_app, table, until


def shown(app: QwatchApp) -> list[tuple[str, str]]:
    """The changes screen's rows as a person reads them: what changed, and in words."""
    rows = [cells(app, "#changes", key) for key in table(app, "#changes").keys]
    return [(kind, text) for _when, kind, text in rows]


async def test_the_changes_screen_tells_a_worker_appearing_and_redis_going_away() -> None:
    server = RedisServer()
    server.start()
    worker = None
    try:
        Queue("emails", connection=server.client()).enqueue(tasks.add, 1, 1)
        app = make_app(server.url)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("5")
            assert app.view == "changes"
            await until(pilot, lambda: app.update is not None, "the first poll")
            worker = start_worker(server.url, ["emails"], name="changes-worker")
            await until(
                pilot,
                lambda: ("worker appeared", "changes-worker appeared") in shown(app),
                "the worker's arrival",
            )
            server.stop()
            await until(pilot, lambda: app.has_class("-offline"), "the offline banner")
            server.start()  # the moments come with the next reading, both of them
            back = ("redis answering", "Redis answers again")
            await until(pilot, lambda: back in shown(app), "Redis back")
            kinds = [kind for kind, _text in shown(app)]
            assert kinds.index("redis answering") < kinds.index("redis unreachable")  # newest first
            (gone,) = [text for kind, text in shown(app) if kind == "redis unreachable"]
            assert gone.startswith("Redis unreachable: ") and "cannot connect" in gone
    finally:
        if worker is not None:
            stop_worker(worker)
        server.stop()
