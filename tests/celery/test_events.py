"""The listener against real Celery workers: liveness, completions, failures, outages."""

from __future__ import annotations

import json
import signal
import socket

import redis
from celery import Celery

from harness.celery_app import make_app
from harness.polling import wait_until
from harness.redis_server import RedisServer
from qwatch.celery.events import CeleryEvents, events_channel
from qwatch.celery.state import RESULT_GRACE
from qwatch.model import Completion, WorkerStats
from tests.celery.conftest import Clock, StartWorker
from tests.celery.messages import envelope, heartbeat

HOST = socket.gethostname()


def worker_named(
    listener: CeleryEvents, name: str, processed: int | None = None
) -> WorkerStats | None:
    """The live worker `name@<this host>`, once it says it processed `processed` tasks."""
    return next(
        (
            worker
            for worker in listener.view().workers
            if worker.name == f"{name}@{HOST}" and processed in (None, worker.processed)
        ),
        None,
    )


def live_worker(listener: CeleryEvents, name: str, processed: int | None = None) -> WorkerStats:
    """Wait for the worker to be alive (and to have processed `processed` tasks)."""
    worker = wait_until(lambda: worker_named(listener, name, processed), f"{name} alive")
    assert worker is not None
    return worker


def completions_of(listener: CeleryEvents, ids: set[str]) -> dict[str, Completion]:
    """Take completions until every task in `ids` has ended; by id."""
    ended: dict[str, Completion] = {}

    def all_ended() -> bool:
        ended.update((completion.id, completion) for completion in listener.take_completions())
        return ids <= set(ended)

    wait_until(all_ended, f"{len(ids)} completions")
    return ended


def test_a_worker_is_alive_with_the_count_celery_reports(
    listener: CeleryEvents, start_worker: StartWorker, app: Celery
) -> None:
    start_worker(name="counter")
    live_worker(listener, "counter")
    results = [app.send_task("harness.add", (n, 1)) for n in range(3)]
    assert [result.get(timeout=30) for result in results] == [1, 2, 3]
    stats = app.control.inspect(timeout=5).stats() or {}
    total = sum(stats[f"counter@{HOST}"]["total"].values())
    assert total == 3
    worker = live_worker(listener, "counter", total)
    assert (worker.system, worker.hostname, worker.state) == ("celery", HOST, "idle")
    assert worker.pid is not None and worker.birth is not None
    assert not worker.heartbeat_overdue and listener.view().expired_workers == ()


def test_task_events_give_named_completions_and_failures_with_tracebacks(
    listener: CeleryEvents, start_worker: StartWorker, app: Celery, clock: Clock
) -> None:
    start_worker(name="eventful", task_events=True)
    live_worker(listener, "eventful")
    add = app.send_task("harness.add", (2, 3))
    crawl = app.send_task("harness.crawl", ("http://upstream",))
    retried = app.send_task("harness.retry_once", ("marker",))
    listener.remember_queues([(crawl.id, "celery")])
    ids = {add.id, crawl.id, retried.id}
    ended = completions_of(listener, ids)
    assert (ended[add.id].outcome, ended[add.id].function) == ("finished", "harness.add")
    assert ended[retried.id].outcome == "finished"  # the retry was no end
    failed = ended[crawl.id]
    assert (failed.outcome, failed.function) == ("failed", "harness.crawl")
    assert (failed.exception, failed.queue, failed.system) == (
        "UpstreamTimeout",
        "celery",
        "celery",
    )
    assert failed.started_at is not None and failed.run_seconds is not None
    assert ended[add.id].queue == ""  # nobody said which queue it came from

    [failure] = listener.failures()
    assert (failure.id, failure.name, failure.exception) == (
        crawl.id,
        "harness.crawl",
        "UpstreamTimeout",
    )
    assert (
        failure.traceback and "UpstreamTimeout: http://upstream did not answer" in failure.traceback
    )
    assert failure.args == "('http://upstream',)" and failure.worker == f"eventful@{HOST}"

    worker = live_worker(listener, "eventful")
    assert (worker.task_events, worker.successful_jobs, worker.failed_jobs) == (True, 2, 1)
    assert listener.view().watch.results_seen >= 4  # the backend published them too (and RETRY)
    clock.ahead += RESULT_GRACE
    assert listener.take_completions() == []  # ... and they were not counted again


def running(listener: CeleryEvents, name: str, task_id: str | None) -> WorkerStats | None:
    """The live worker `name`, once its current task is `task_id`."""
    worker = worker_named(listener, name)
    return worker if worker is not None and worker.current_job == task_id else None


def test_a_busy_worker_shows_the_task_it_runs_until_it_ends(
    listener: CeleryEvents, start_worker: StartWorker, app: Celery
) -> None:
    start_worker(name="busy", task_events=True)
    live_worker(listener, "busy")
    sleeping = app.send_task("harness.sleep", (3,))
    worker = wait_until(lambda: running(listener, "busy", sleeping.id), "the worker busy")
    assert worker is not None
    assert (worker.state, worker.current_job_description) == ("busy", "harness.sleep (3,)")
    first = worker.current_job_seconds
    assert first is not None

    def older() -> bool:
        again = running(listener, "busy", sleeping.id)
        return again is not None and (again.current_job_seconds or 0) > first

    wait_until(older, "the task's age growing")
    assert sleeping.get(timeout=30) == 3
    idle = wait_until(lambda: running(listener, "busy", None), "the worker idle again")
    assert idle is not None
    assert (idle.state, idle.current_job_description, idle.current_job_seconds) == (
        "idle",
        None,
        None,
    )


def test_without_task_events_failures_come_from_stored_results(
    listener: CeleryEvents, start_worker: StartWorker, app: Celery
) -> None:
    start_worker(name="quiet")
    live_worker(listener, "quiet")
    add = app.send_task("harness.add", (2, 3))
    crawl = app.send_task("harness.crawl", ("http://upstream",))
    ended = completions_of(listener, {add.id, crawl.id})
    assert (ended[add.id].outcome, ended[crawl.id].outcome) == ("finished", "failed")
    assert ended[crawl.id].exception == "UpstreamTimeout"
    [failure] = listener.failures()
    assert failure.id == crawl.id and failure.traceback and "UpstreamTimeout" in failure.traceback
    worker = live_worker(listener, "quiet", 2)
    assert worker.task_events is False and worker.successful_jobs is None
    assert f"no task events from quiet@{HOST}: failures come from stored results only" in (
        listener.view().notes
    )


def test_a_killed_worker_expires_by_celerys_rule(
    listener: CeleryEvents, start_worker: StartWorker
) -> None:
    process = start_worker(name="doomed")
    live_worker(listener, "doomed")
    process.send_signal(signal.SIGKILL)
    process.wait()
    wait_until(lambda: worker_named(listener, "doomed") is None, "the worker expired")
    view = listener.view()
    assert (view.expired_workers, view.watch.expired_workers) == ((f"doomed@{HOST}",), 1)


def test_a_worker_stopped_warmly_goes_offline_and_is_gone(
    listener: CeleryEvents, start_worker: StartWorker
) -> None:
    process = start_worker(name="polite")
    live_worker(listener, "polite")
    events = listener.view().watch.events_seen
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert listener.wait_for_events(events + 1, timeout=10)  # worker-offline
    wait_until(lambda: worker_named(listener, "polite") is None, "the worker offline")
    assert listener.view().expired_workers == ()


def test_hostile_messages_are_skipped_and_counted(
    listener: CeleryEvents, client: redis.Redis
) -> None:
    wait_until(lambda: listener.view().watch.listening_seconds > 0, "the subscription")
    events = events_channel("", 0)
    hostile = [
        (events + "worker.heartbeat", b"garbage"),
        (events + "task.multi", envelope("a string, not an event", "task.multi")),
        (events + "worker.heartbeat", b"{" + b" " * (5 << 20)),
        ("celery-task-meta-x", b"\x80\x04garbage"),
        ("celery-task-meta-x", json.dumps({"status": ["FAILURE"]}).encode()),
        ("celery-task-meta-x", b"[" * 100_000),
    ]
    for channel, data in hostile:
        assert client.publish(channel, data) == 1
    client.publish(events + "worker.heartbeat", envelope(heartbeat("survivor@host")))
    wait_until(lambda: listener.view().workers, "the next good event")
    view = listener.view()
    assert [worker.name for worker in view.workers] == ["survivor@host"]
    assert view.records_skipped == len(hostile)


def test_the_listener_subscribes_again_after_redis_restarts() -> None:
    with RedisServer() as server:
        listener = CeleryEvents(server.client(socket_timeout=2))
        listener.start()
        try:
            wait_until(lambda: listener.view().watch.listening_seconds > 0, "the subscription")
            server.stop()
            wait_until(lambda: listener.view().watch.listening_seconds == 0, "the outage seen")
            server.start()
            publisher = server.client()
            channel = events_channel("", 0) + "worker.heartbeat"
            message = envelope(heartbeat("back@host"))
            wait_until(lambda: publisher.publish(channel, message), "a subscriber again")
            wait_until(lambda: listener.view().workers, "the event after the restart")
            assert listener.view().watch.listening_seconds > 0
        finally:
            listener.stop()


def test_prefixed_broker_and_backend_are_heard_under_their_prefix(
    client: redis.Redis, url: str, start_worker: StartWorker
) -> None:
    options = {"global_keyprefix": "app:"}
    listener = CeleryEvents(client, prefix="app:", result_prefix="app:")
    listener.start()
    app = make_app(url, options)
    try:
        start_worker(name="prefixed", task_events=True, transport_options=options)
        live_worker(listener, "prefixed")
        crawl = app.send_task("harness.crawl", ("http://upstream",))
        assert completions_of(listener, {crawl.id})[crawl.id].function == "harness.crawl"
        assert listener.view().watch.results_seen == 1
    finally:
        app.close()
        listener.stop()


def test_the_listener_needs_nothing_but_psubscribe(
    redis_server: RedisServer, client: redis.Redis
) -> None:
    client.acl_setuser(
        "listener", enabled=True, passwords=["+secret"], channels=["*"], commands=["+psubscribe"]
    )
    listener = CeleryEvents(redis_server.client(username="listener", password="secret"))
    listener.start()
    try:
        wait_until(lambda: listener.view().watch.listening_seconds > 0, "the subscription")
        channel = events_channel("", 0) + "worker.online"
        client.publish(channel, envelope(heartbeat("acl@host", kind="worker-online")))
        wait_until(lambda: listener.view().workers, "the worker through a PSUBSCRIBE-only user")
    finally:
        listener.stop()
        client.acl_deluser("listener")
