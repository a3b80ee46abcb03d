"""Exact mode for arq: real arq workers with qwatch's hooks, and what qwatch counts from them."""

from __future__ import annotations

import redis

from harness.arq_app import enqueue
from harness.polling import wait_until
from qwatch import job_states
from qwatch.arq.layout import COMPLETIONS
from qwatch.exporter.collector import QwatchCollector, RedisSource
from qwatch.model import ARQ, Completion
from qwatch.watch import Watch
from qwatch.wire.completions import RETRIED
from tests.arq.conftest import StartWorker
from tests.celery.side_by_side import scrape_until
from tests.exporter.conftest import Scrape


def following(client: redis.Redis) -> Watch:
    watch = Watch(client, ARQ)
    watch.follow("test", interval=3600)
    watch.take(watch.read())  # the stream's end, or its absence: read on from there
    return watch


def test_every_outcome_is_counted_with_its_function_and_run_time(
    client: redis.Redis, url: str, start_worker: StartWorker
) -> None:
    watch = following(client)
    ids = {
        "sent": enqueue(url, "send_email", "someone@example.com", "receipt"),
        "broken": enqueue(url, "fail", "mailbox of customer 4711 is full"),
        "again": enqueue(url, "retry_once", "second time lucky"),
    }
    start_worker(exact=True)
    seen: list[Completion] = []

    def counted() -> bool:
        snapshot = watch.read()
        taken = watch.take(snapshot)
        seen.extend(taken.completions)
        seen.extend(taken.arq.retried)
        return len(seen) >= 4

    wait_until(counted, "four outcomes")
    outcomes = sorted((c.id, c.outcome, c.function) for c in seen)
    assert outcomes == sorted(
        [
            (ids["sent"], job_states.FINISHED, "send_email"),
            (ids["broken"], job_states.FAILED, "fail"),
            (ids["again"], RETRIED, "retry_once"),
            (ids["again"], job_states.FINISHED, "retry_once"),
        ]
    )
    failure = next(c for c in seen if c.outcome == job_states.FAILED)
    assert failure.exception == "ValueError" and failure.queue == "arq:queue"
    assert all(c.run_seconds is not None and c.run_seconds >= 0 for c in seen)
    assert watch.take(watch.read()).arq.exact_queues == frozenset({"arq:queue"})


def test_a_stream_redis_refuses_changes_no_outcome_and_stops_no_worker(
    client: redis.Redis, url: str, start_worker: StartWorker
) -> None:
    client.set(COMPLETIONS, "not a stream")  # every XADD fails: WRONGTYPE
    worker = start_worker(exact=True)
    ids = [enqueue(url, "add", n, 1) for n in range(5)] + [enqueue(url, "fail", "boom")]
    watch = Watch(client, ARQ)

    def ended() -> bool:
        return all((job := watch.job(i)) is not None and job.ended_at for i in ids)

    wait_until(ended, "every job's outcome")
    assert [watch.job(i).status for i in ids] == [job_states.FINISHED] * 5 + [  # type: ignore[union-attr]
        job_states.FAILED
    ]
    assert [watch.job(i).result for i in ids[:5]] == ["1", "2", "3", "4", "5"]  # type: ignore[union-attr]
    assert worker.poll() is None, "the worker runs on"


def test_a_job_whose_result_is_not_kept_is_not_counted_as_anything(
    client: redis.Redis, url: str, start_worker: StartWorker
) -> None:
    watch = following(client)
    start_worker(exact=True)
    gone = enqueue(url, "forget")
    kept = enqueue(url, "add", 1, 1)
    seen: list[Completion] = []

    def counted() -> bool:
        seen.extend(watch.take(watch.read()).completions)
        return any(c.id == kept for c in seen)

    wait_until(counted, "the kept job")
    wait_until(lambda: watch.job(gone) is None, "the job without a result to be gone")
    seen.extend(watch.take(watch.read()).completions)
    assert gone not in {c.id for c in seen}


def counted(scrape: Scrape, name: str, **labels: str) -> float:
    return sum(scrape.matching(name, system=ARQ, **labels).values())


def test_metrics_count_each_function_exactly_and_say_the_queue_is_exact(
    client: redis.Redis, url: str, start_worker: StartWorker
) -> None:
    start_worker(exact=True)
    source = RedisSource("main", client, track_interval=0.1, watch=Watch(client, ARQ))
    collector = QwatchCollector([source], timeout=10)
    try:
        source.start()
        scrape_until(collector, lambda got: got.value("qwatch_up") == 1, "a first reading")
        for n in range(3):
            enqueue(url, "add", n, 1)
        enqueue(url, "crawl", "http://shop/customer-4711")
        enqueue(url, "retry_once", "again")
        got = scrape_until(
            collector,
            lambda got: (
                counted(got, "qwatch_jobs_failed_total") == 1
                and counted(got, "qwatch_jobs_finished_total") == 4
            ),
            "four finished, one failed",
        )
    finally:
        source.close()
    assert counted(got, "qwatch_jobs_finished_total", function="add") == 3
    upstream = "harness.arq_app.UpstreamTimeout"
    assert counted(got, "qwatch_jobs_failed_total", function="crawl", exception=upstream) == 1
    assert counted(got, "qwatch_jobs_retried_total", function="retry_once") == 1
    assert counted(got, "qwatch_job_duration_seconds_count", queue="arq:queue") == 5
    assert got.matching("qwatch_queue_counting_mode", mode="exact", queue="arq:queue")
