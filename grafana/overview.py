"""qwatch / Overview: every queue, worker and Redis at a glance, and whether qwatch sees them."""

from __future__ import annotations

from grafana.dashboard import (
    JSON,
    QUEUE,
    REDIS,
    UP_DOWN,
    Query,
    dashboard,
    quantiles,
    redis_variables,
    stat,
    timeseries,
)
from grafana.rules import RECORDED
from grafana.thresholds import THRESHOLDS

UID = "qwatch-overview"
QUEUE_LINK = {
    "title": "Queue ${__field.labels.queue} in depth",
    "url": "/d/qwatch-queue/qwatch-queue?${__url_time_range}&${datasource:queryparam}"
    "&var-redis=${__field.labels.redis}&var-queue=${__field.labels.queue}",
}
PER_QUEUE = "{{redis}} {{queue}}"
"""Legend of a per-queue series."""


def _queues() -> list[JSON]:
    return [
        timeseries(
            "Backlog",
            "Jobs waiting in each queue for a worker. A line that only rises means the"
            " workers do not keep up.",
            "short",
            [Query(f'qwatch_queue_jobs{{{QUEUE}, state="queued"}}', PER_QUEUE)],
            links=[QUEUE_LINK],
        ),
        timeseries(
            "Oldest queued job",
            "How long the oldest job of each queue has waited: the latency users feel, since"
            " a job enqueued now waits about as long. The dashed line is the alert threshold.",
            "s",
            [Query(f"qwatch_queue_oldest_job_age_seconds{{{QUEUE}}}", PER_QUEUE)],
            threshold=THRESHOLDS.oldest_job_age_seconds,
            links=[QUEUE_LINK],
        ),
    ]


def _throughput() -> list[JSON]:
    window = THRESHOLDS.rate_window
    return [
        timeseries(
            "Finished jobs",
            f"Jobs per second that finished, per queue, averaged over {window}"
            " (recorded by the qwatch rules).",
            "ops",
            [Query(f"{RECORDED.finished}{{{QUEUE}}}", PER_QUEUE)],
            width=8,
            links=[QUEUE_LINK],
        ),
        timeseries(
            "Failed jobs",
            f"Jobs per second that failed for good (after their retries), per queue,"
            f" averaged over {window}.",
            "ops",
            [Query(f"{RECORDED.failed}{{{QUEUE}}}", PER_QUEUE)],
            width=8,
            links=[QUEUE_LINK],
        ),
        timeseries(
            "Failure ratio",
            f"Failed jobs out of all that ended, per queue, over {window}. The dashed line"
            " is the alert threshold; the alert also wants enough jobs to judge. Successes"
            " of jobs that keep no result (result_ttl=0) are not here: see the untracked"
            " jobs under Workers.",
            "percentunit",
            [Query(f"{RECORDED.failure_ratio}{{{QUEUE}}}", PER_QUEUE)],
            width=8,
            threshold=THRESHOLDS.failure_ratio,
            links=[QUEUE_LINK],
        ),
    ]


def _durations() -> list[JSON]:
    return [
        timeseries(
            "Run time",
            "Median, 95th and 99th percentile of how long jobs ran (ended minus started),"
            " per queue, from the exporter's histogram.",
            "s",
            quantiles(RECORDED.run_time, PER_QUEUE),
            links=[QUEUE_LINK],
        ),
        timeseries(
            "Wait time",
            "Median, 95th and 99th percentile of how long jobs waited from enqueued to"
            " started, per queue. Rising wait with flat run time means too few workers.",
            "s",
            quantiles(RECORDED.wait_time, PER_QUEUE),
            links=[QUEUE_LINK],
        ),
    ]


def _workers() -> list[JSON]:
    return [
        timeseries(
            "Workers by state",
            "Registered workers, busy or idle (suspended when `rq suspend` is in force).",
            "short",
            [Query(f"qwatch_workers{{{REDIS}}}", "{{redis}} {{state}}")],
            width=8,
            stack=True,
        ),
        timeseries(
            "Workers per queue",
            "Live workers listening to each queue. A queue with jobs and none here is"
            " stuck: that is the no-worker alert.",
            "short",
            [Query(f"qwatch_queue_workers{{{QUEUE}}}", PER_QUEUE)],
            width=8,
        ),
        timeseries(
            "Dead and dying workers",
            "Workers whose heartbeat is overdue (killed, crashed or frozen), and workers"
            " still registered after their key expired: they died without unregistering.",
            "short",
            [
                Query(f"qwatch_workers_heartbeat_stale{{{REDIS}}}", "{{redis}} heartbeat overdue"),
                Query(f"qwatch_workers_expired{{{REDIS}}}", "{{redis}} expired"),
            ],
            width=8,
        ),
        timeseries(
            "Abandoned jobs",
            "Started jobs whose worker is gone: they will never finish. RQ moves them to"
            " the failed registry only at its next clean-up.",
            "short",
            [Query(f"qwatch_jobs_abandoned{{{QUEUE}}}", PER_QUEUE)],
            links=[QUEUE_LINK],
        ),
        timeseries(
            "Jobs done, as workers count them",
            "Jobs per second by outcome from the workers' own counters. These include jobs"
            " RQ keeps no record of (result_ttl=0), which the per-queue panels cannot see;"
            " 'untracked' is how many of them no registry showed (failed ones include"
            " attempts that were retried).",
            "ops",
            [
                Query(
                    f"rate(qwatch_worker_jobs_total{{{REDIS}}}[$__rate_interval])",
                    "{{redis}} {{outcome}}",
                ),
                Query(
                    f"rate(qwatch_jobs_untracked_total{{{REDIS}}}[$__rate_interval])",
                    "{{redis}} {{outcome}} untracked",
                ),
            ],
        ),
    ]


def _redis_and_exporter() -> list[JSON]:
    return [
        timeseries(
            "Redis memory",
            "Memory Redis uses, and its maxmemory where one is set. Near the limit Redis"
            " evicts keys or refuses writes, depending on its maxmemory-policy.",
            "bytes",
            [
                Query(f"qwatch_redis_memory_used_bytes{{{REDIS}}}", "{{redis}} used"),
                Query(f"qwatch_redis_memory_max_bytes{{{REDIS}}} > 0", "{{redis}} limit"),
            ],
            width=8,
        ),
        timeseries(
            "Scrape duration",
            "How long qwatch took to read each Redis for one scrape. Slow reads point at a"
            " busy Redis or a slow network; reads over the timeout count as down.",
            "s",
            [Query(f"qwatch_scrape_duration_seconds{{{REDIS}}}", "{{redis}}")],
            width=8,
        ),
        stat(
            "Redis read by qwatch",
            "Whether qwatch's last read of each Redis worked (qwatch_up). Down means every"
            " other panel of that Redis is blind.",
            "none",
            Query(f"qwatch_up{{{REDIS}}}", "{{redis}}"),
            width=4,
            mappings=UP_DOWN,
        ),
        stat(
            "Exporter scraped",
            "Whether Prometheus reaches each qwatch exporter (its `up` series).",
            "none",
            Query('up{job=~"$job", instance=~"$instance"}', "{{instance}}"),
            width=4,
            mappings=UP_DOWN,
        ),
    ]


def overview() -> JSON:
    return dashboard(
        UID,
        "qwatch / Overview",
        "RQ queues, workers and Redis as qwatch serves them: backlog, latency, throughput,"
        " failures, durations, worker health and the exporter's own health.",
        redis_variables(multi_redis=True, multi_queue=True),
        [
            ("Queues", _queues()),
            ("Throughput", _throughput()),
            ("Durations", _durations()),
            ("Workers", _workers()),
            ("Redis and exporter", _redis_and_exporter()),
        ],
    )
