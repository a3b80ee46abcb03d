"""After a real workload, every metric equals the truth RQ records."""

from __future__ import annotations

from collections import Counter

import pytest
import redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from harness import tasks
from harness.polling import wait_until
from harness.workers import run_burst, start_worker, stop_worker, stop_worker_gracefully
from harness.workload import enqueue_mixed, mixed_workload
from qwatch.errors import exception_line
from qwatch.rq.jobs import exception_name
from tests.exporter.conftest import StartExporter
from tests.rq.test_reader import STATES, rq_counts

HISTOGRAMS = ("qwatch_job_duration_seconds", "qwatch_job_wait_seconds")


def finished_jobs(client: redis.Redis) -> list[Job]:
    ids = [
        (queue.name, job_id)
        for queue in Queue.all(connection=client)
        for registry in (FinishedJobRegistry, FailedJobRegistry)
        for job_id in registry(queue.name, connection=client).get_job_ids(cleanup=False)
    ]
    return [Job.fetch(job_id, connection=client) for _queue, job_id in ids]


def job_traceback(job: Job) -> str | None:
    result = job.latest_result()
    return result.exc_string if result else None


def test_metrics_equal_the_truth_after_a_mixed_workload(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    exporter = start_exporter(ttls=[600])
    exporter.scrape()
    mixed_workload(client, url)
    scrape = exporter.scrape()
    assert scrape.value("qwatch_up", redis="main") == 1

    for rq_queue in Queue.all(connection=client):
        for state, count in rq_counts(rq_queue).items():
            assert (
                scrape.value("qwatch_queue_jobs", redis="main", queue=rq_queue.name, state=state)
                == count
            )
    assert set(STATES) == {key[2][1] for key in scrape.series("qwatch_queue_jobs")}

    jobs = finished_jobs(client)
    finished = Counter(
        (job.origin, str(job.func_name)) for job in jobs if job.get_status() == "finished"
    )
    failed = Counter(
        (job.origin, str(job.func_name), str(exception_name(exception_line(job_traceback(job)))))
        for job in jobs
        if job.get_status() == "failed"
    )
    assert sum(finished.values()) == 6 and sum(failed.values()) == 4
    for (queue, function), count in finished.items():
        assert (
            scrape.value("qwatch_jobs_finished_total", redis="main", queue=queue, function=function)
            == count
        )
    for (queue, function, exception), count in failed.items():
        labels = {"redis": "main", "queue": queue, "function": function, "exception": exception}
        assert scrape.value("qwatch_jobs_failed_total", **labels) == count
    assert len(scrape.series("qwatch_jobs_finished_total")) == len(finished)
    assert len(scrape.series("qwatch_jobs_failed_total")) == len(failed)

    for queue in ("default", "high"):
        in_queue = [job for job in jobs if job.origin == queue]
        runs = [(job.ended_at - job.started_at).total_seconds() for job in in_queue]  # type: ignore[operator]
        assert scrape.value("qwatch_job_duration_seconds_count", redis="main", queue=queue) == len(
            in_queue
        )
        assert scrape.value(
            "qwatch_job_duration_seconds_sum", redis="main", queue=queue
        ) == pytest.approx(sum(runs), abs=1e-3)
        assert scrape.value(
            "qwatch_job_duration_seconds_bucket", redis="main", queue=queue, le="+Inf"
        ) == len(in_queue)

    again = exporter.scrape()
    for name in (
        "qwatch_jobs_finished_total",
        "qwatch_jobs_failed_total",
        *(h + "_count" for h in HISTOGRAMS),
    ):
        assert again.series(name) == scrape.series(name), name


def test_each_job_counted_once_across_scrapes_and_a_restart(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    exporter = start_exporter()
    exporter.scrape()
    queue = Queue("emails", connection=client)
    total = 0
    for batch_size in (3, 1, 4):
        for i in range(batch_size):
            queue.enqueue(tasks.add, i, 1)
        run_burst(url, ["emails"])
        total += batch_size
        scrape = exporter.scrape()
        assert (
            scrape.value(
                "qwatch_jobs_finished_total",
                redis="main",
                queue="emails",
                function="harness.tasks.add",
            )
            == total
        )
    exporter.stop()

    restarted = start_exporter()
    assert restarted.scrape().series("qwatch_jobs_finished_total") == {}
    queue.enqueue(tasks.add, 9, 9)
    run_burst(url, ["emails"])
    scrape = restarted.scrape()
    assert (
        scrape.value(
            "qwatch_jobs_finished_total", redis="main", queue="emails", function="harness.tasks.add"
        )
        == 1
    )


def test_jobs_without_a_record_still_count_in_the_worker_totals(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    worker = start_worker(url, ["fire-and-forget"], name="long-lived")
    try:
        wait_until(lambda: client.exists("rq:worker:long-lived"), "the worker to register")
        exporter = start_exporter()
        exporter.scrape()
        queue = Queue("fire-and-forget", connection=client)
        for i in range(3):
            queue.enqueue(tasks.add, i, 1, result_ttl=0)
        wait_until(
            lambda: (
                client.hmget("rq:worker:long-lived", "successful_job_count", "state")
                == [b"3", b"idle"]
            ),
            "the worker to run three jobs and be idle again",
        )
        scrape = exporter.scrape()
    finally:
        stop_worker(worker)
    assert scrape.series("qwatch_jobs_finished_total") == {}
    assert scrape.value("qwatch_worker_jobs_total", redis="main", outcome="finished") == 3
    assert scrape.value("qwatch_workers", redis="main", state="idle") == 1


def test_working_time_is_a_counter_that_outlives_the_worker(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    worker = start_worker(url, ["slow"], name="timed")
    try:
        wait_until(lambda: client.exists("rq:worker:timed"), "the worker to register")
        exporter = start_exporter()
        exporter.scrape()
        queue = Queue("slow", connection=client)
        for _ in range(2):
            queue.enqueue(tasks.sleep, 0.2)
        wait_until(
            lambda: client.hget("rq:worker:timed", "successful_job_count") == b"2",
            "the worker to run two jobs",
        )
        reported = float(client.hget("rq:worker:timed", "total_working_time") or 0)
        scrape = exporter.scrape()
        stop_worker_gracefully(worker)
    finally:
        stop_worker(worker)
    assert reported >= 0.4
    total = scrape.value("qwatch_worker_working_seconds_total", redis="main")
    assert total == pytest.approx(reported)
    after = exporter.scrape()
    assert sum(after.matching("qwatch_workers", redis="main").values()) == 0
    assert after.value("qwatch_worker_working_seconds_total", redis="main") == total


def test_function_and_exception_labels_are_bounded(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    exporter = start_exporter(label_limit=2)
    exporter.scrape()
    queue = Queue("default", connection=client)
    for message in ("a", "b"):
        queue.enqueue(tasks.fail, message)
    queue.enqueue(tasks.divide, 1, 0)
    queue.enqueue(tasks.add, 1, 1)
    queue.enqueue(tasks.sleep, 0)
    run_burst(url, ["default"])
    scrape = exporter.scrape()
    functions = {dict(key)["function"] for key in scrape.series("qwatch_jobs_finished_total")}
    functions |= {dict(key)["function"] for key in scrape.series("qwatch_jobs_failed_total")}
    assert len(functions) == 3 and "other" in functions
    exceptions = {dict(key)["exception"] for key in scrape.series("qwatch_jobs_failed_total")}
    assert exceptions <= {"ValueError", "ZeroDivisionError", "other"}
    assert sum(scrape.series("qwatch_jobs_failed_total").values()) == 3


def test_gauges_describe_workers_and_problems(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    enqueue_mixed(client)
    exporter = start_exporter()
    scrape = exporter.scrape()
    assert scrape.value("qwatch_queue_workers", redis="main", queue="parked") == 0
    assert scrape.value("qwatch_queue_oldest_job_age_seconds", redis="main", queue="parked") > 0
    assert scrape.value("qwatch_workers", redis="main", state="idle") == 0
    assert scrape.value("qwatch_workers_heartbeat_stale", redis="main") == 0
    assert scrape.value("qwatch_redis_memory_used_bytes", redis="main") > 0
    assert scrape.value("qwatch_build_info", version=__import__("qwatch").__version__) == 1
    assert all(key[0][0] != "worker" for key in scrape.series("qwatch_workers"))


def test_counters_survive_a_flushed_redis(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    exporter = start_exporter()
    exporter.scrape()
    labels = {"redis": "main", "queue": "emails", "function": "harness.tasks.add"}
    for count in (2, 3):
        for i in range(count):
            Queue("emails", connection=client).enqueue(tasks.add, i, 1)
        run_burst(url, ["emails"])
        exporter.scrape()
    assert exporter.scrape().value("qwatch_jobs_finished_total", **labels) == 5
    client.flushall()
    assert exporter.scrape().value("qwatch_jobs_finished_total", **labels) == 5
    Queue("emails", connection=client).enqueue(tasks.add, 9, 1)
    run_burst(url, ["emails"])
    assert exporter.scrape().value("qwatch_jobs_finished_total", **labels) == 6
