"""`qwatch top` over Dramatiq, driven by the pilot: its queues and brokers, a dead letter in the
inspector, and RQ's actions refused, each once."""

from __future__ import annotations

import redis
from dramatiq.brokers.redis import RedisBroker

from harness.dramatiq_app import send
from harness.polling import wait_until
from qwatch.dramatiq.dead import NO_ERROR
from qwatch.model import DRAMATIQ
from qwatch.tui.app import QwatchApp
from qwatch.tui.browser import JobBrowser
from qwatch.tui.dialogs import Confirm
from qwatch.tui.feed import Feed
from qwatch.tui.inspector import Inspector
from qwatch.watch import Watch
from qwatch.wire.connection import Target, connect
from tests.dramatiq.conftest import StartWorker
from tests.tui.conftest import cells, table, until


async def test_top_shows_dramatiq_and_refuses_rqs_actions_on_it(
    client: redis.Redis, url: str, broker: RedisBroker, start_worker: StartWorker
) -> None:
    died = send(broker, "harness.fail", "mailbox of customer 4711 is full")
    for n in range(3):
        send(broker, "harness.add", n, 1, queue="parked")
    start_worker("default")
    wait_until(lambda: Watch(client, DRAMATIQ).failed(5), "the dead letter")
    target = Target(url=url, timeout=1.0)
    watched = connect(target)
    feed = Feed(target, watched, 3600.0, watch=Watch(watched, DRAMATIQ))
    notes: list[str] = []
    app = QwatchApp(feed, interval=3600)
    app.notify = lambda message, **_kw: notes.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(app, "#queues").row_count == 2, "both queues")
        assert cells(app, "#queues", "dramatiq:parked")[:3] == ["parked", "", "3"]  # one system
        table(app, "#queues").select("dramatiq:parked")
        await pilot.press("enter")
        await pilot.pause()
        assert notes == [
            "the job browser works on RQ queues only: dramatiq queue parked is unchanged"
            " (qwatch jobs and the dashboard list its messages)"
        ]
        assert not isinstance(app.screen, JobBrowser)
        await pilot.press("3")
        await until(pilot, lambda: table(app, "#failed").row_count == 1, "the dead letter")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Inspector), "the inspector")
        assert isinstance(app.screen, Inspector) and app.screen.job.id == died.message_id
        assert app.screen.job.exception == NO_ERROR
        await pilot.press("r")
        await pilot.pause()
        assert notes[-1] == (
            f"requeue works on RQ jobs only: dramatiq message {died.message_id} is unchanged"
        )
        assert not isinstance(app.screen, Confirm)
