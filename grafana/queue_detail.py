"""qwatch / Queue: one queue in depth, its states, throughput, durations and failures."""

from __future__ import annotations

from grafana.dashboard import (
    JSON,
    QUEUE,
    Query,
    dashboard,
    quantiles,
    redis_variables,
    stat,
    table,
    timeseries,
)
from grafana.rules import RECORDED
from grafana.thresholds import THRESHOLDS

UID = "qwatch-queue"


def _now() -> list[JSON]:
    return [
        stat(
            "Queued jobs",
            "Jobs waiting in the queue for a worker right now.",
            "short",
            Query(f'qwatch_queue_jobs{{{QUEUE}, state="queued"}}', "queued"),
        ),
        stat(
            "Oldest queued job",
            "How long the oldest queued job has waited; red from the alert threshold on.",
            "s",
            Query(f"qwatch_queue_oldest_job_age_seconds{{{QUEUE}}}", "oldest"),
            threshold=THRESHOLDS.oldest_job_age_seconds,
        ),
        stat(
            "Workers listening",
            "Live workers that take jobs from this queue. None with jobs queued means"
            " nothing runs them.",
            "short",
            Query(f"qwatch_queue_workers{{{QUEUE}}}", "workers"),
        ),
        stat(
            "Abandoned jobs",
            "Started jobs of this queue whose worker is gone: they will never finish.",
            "short",
            Query(f"qwatch_jobs_abandoned{{{QUEUE}}}", "abandoned"),
            threshold=1,
        ),
    ]


def _states() -> list[JSON]:
    return [
        timeseries(
            "Jobs by state",
            "The queue and each of its registries over time: queued, started (running),"
            " finished and failed (kept for their ttl), deferred (waiting on another job),"
            " scheduled (for later) and canceled.",
            "short",
            [Query(f"qwatch_queue_jobs{{{QUEUE}}}", "{{state}}")],
            width=24,
        ),
    ]


def _throughput() -> list[JSON]:
    window = THRESHOLDS.rate_window
    return [
        timeseries(
            "Finished and failed",
            f"Jobs per second that finished and that failed for good, over {window}.",
            "ops",
            [
                Query(f"{RECORDED.finished}{{{QUEUE}}}", "finished"),
                Query(f"{RECORDED.failed}{{{QUEUE}}}", "failed"),
            ],
        ),
        timeseries(
            "Failure ratio",
            f"Failed jobs out of all that ended, over {window}. The dashed line is the"
            " alert threshold.",
            "percentunit",
            [Query(f"{RECORDED.failure_ratio}{{{QUEUE}}}", "failure ratio")],
            threshold=THRESHOLDS.failure_ratio,
        ),
        timeseries(
            "Finished by function",
            "Jobs per second that finished, by the function they ran.",
            "ops",
            [
                Query(
                    "sum by (function) (rate(qwatch_jobs_finished_total"
                    f"{{{QUEUE}}}[$__rate_interval]))",
                    "{{function}}",
                )
            ],
        ),
        timeseries(
            "Failed by function and exception",
            "Jobs per second that failed, by function and by the exception they raised.",
            "ops",
            [
                Query(
                    "sum by (function, exception) (rate(qwatch_jobs_failed_total"
                    f"{{{QUEUE}}}[$__rate_interval]))",
                    "{{function}}: {{exception}}",
                )
            ],
        ),
    ]


def _durations() -> list[JSON]:
    return [
        timeseries(
            "Run time",
            "Median, 95th and 99th percentile and mean of how long jobs ran (ended minus started).",
            "s",
            [
                *quantiles(RECORDED.run_time, "run"),
                Query(
                    f"rate(qwatch_job_duration_seconds_sum{{{QUEUE}}}[$__rate_interval])\n/\n"
                    f"rate(qwatch_job_duration_seconds_count{{{QUEUE}}}[$__rate_interval])",
                    "run mean",
                ),
            ],
        ),
        timeseries(
            "Wait time",
            "Median, 95th and 99th percentile of how long jobs waited from enqueued to"
            " started. Rising wait with flat run time means too few workers.",
            "s",
            quantiles(RECORDED.wait_time, "wait"),
        ),
    ]


def _failures() -> list[JSON]:
    return [
        table(
            "Top failing functions",
            "The functions whose jobs failed most over the dashboard's time range.",
            "short",
            Query(
                "topk(10, sum by (function) (increase(qwatch_jobs_failed_total"
                f"{{{QUEUE}}}[$__range])))"
            ),
            "failed jobs",
        ),
        table(
            "Top exceptions",
            "The exceptions that failed most jobs over the dashboard's time range. See them"
            " with `qwatch failed --queue QUEUE` and one job with `qwatch job ID`.",
            "short",
            Query(
                "topk(10, sum by (exception) (increase(qwatch_jobs_failed_total"
                f"{{{QUEUE}}}[$__range])))"
            ),
            "failed jobs",
        ),
    ]


def queue_detail() -> JSON:
    return dashboard(
        UID,
        "qwatch / Queue",
        "One RQ queue in depth: its states over time, throughput, run and wait times, and"
        " the functions and exceptions that fail.",
        redis_variables(multi_redis=False, multi_queue=False),
        [
            ("Now", _now()),
            ("States", _states()),
            ("Throughput", _throughput()),
            ("Durations", _durations()),
            ("Failures", _failures()),
        ],
    )
