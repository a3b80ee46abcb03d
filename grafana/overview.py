"""qwatch / Overview: every queue, worker and Redis at a glance, and whether qwatch sees them."""

from __future__ import annotations

from grafana.dashboard import (
    JSON,
    OWN_QUEUE,
    QUEUE,
    REDIS,
    SYSTEM,
    UP_DOWN,
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

UID = "qwatch-overview"
QUEUE_LINK = {
    "title": "Queue ${__field.labels.queue} in depth",
    "url": "/d/qwatch-queue/qwatch-queue?${__url_time_range}&${datasource:queryparam}"
    "&var-redis=${__field.labels.redis}&var-system=${__field.labels.system}"
    "&var-queue=${__field.labels.queue}",
}
PER_QUEUE = "{{redis}} {{system}} {{queue}}"
"""Legend of a per-queue series: an RQ and a Celery queue may have the same name."""
SYSTEM_PER_QUEUE = "{{redis}} {{queue}}"
"""Legend of a per-queue series of one system, which its panel names."""


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
        timeseries(
            "Rate limits",
            "Per RQ 3.0 rate-limit key, the jobs holding one of its slots and those held back"
            " outside every queue until a slot frees. Waiting jobs that only rise while the"
            " slots stay full mean the jobs holding them do not finish.",
            "short",
            [
                Query(
                    f'qwatch_rate_limit_jobs{{{REDIS}, state="waiting"}}',
                    "{{redis}} {{key}} waiting",
                ),
                Query(
                    f'qwatch_rate_limit_jobs{{{REDIS}, state="running"}}',
                    "{{redis}} {{key}} holding a slot",
                ),
            ],
            width=24,
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
            "Workers per system and state: RQ's registered workers, busy or idle (suspended"
            " when `rq suspend` is in force); Celery's workers seen through their events.",
            "short",
            [Query(f"qwatch_workers{{{SYSTEM}}}", "{{redis}} {{system}} {{state}}")],
            width=8,
            stack=True,
        ),
        timeseries(
            "Workers per queue",
            "Live workers listening to each RQ queue. A queue with jobs and none here is"
            " stuck: that is the no-worker alert. Celery's Redis does not say who consumes"
            " a queue, so its queues are not here.",
            "short",
            [Query(f"qwatch_queue_workers{{{QUEUE}}}", PER_QUEUE)],
            width=8,
        ),
        timeseries(
            "Dead and dying workers",
            "Workers whose heartbeat is overdue (killed, crashed or frozen; for Celery, none"
            " for twice its interval, Celery's own rule), and RQ workers still registered"
            " after their key expired: they died without unregistering.",
            "short",
            [
                Query(
                    f"qwatch_workers_heartbeat_stale{{{SYSTEM}}}",
                    "{{redis}} {{system}} heartbeat overdue",
                ),
                Query(f"qwatch_workers_expired{{{SYSTEM}}}", "{{redis}} {{system}} expired"),
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
            "Jobs per second by outcome from RQ's workers' own counters (Celery's count no"
            " outcomes: see tasks processed). These include jobs RQ keeps no record of"
            " (result_ttl=0), which the per-queue panels cannot see;"
            " 'untracked' is how many of them no registry showed (failed ones include"
            " attempts that were retried).",
            "ops",
            [
                Query(
                    f"rate(qwatch_worker_jobs_total{{{SYSTEM}}}[$__rate_interval])",
                    "{{redis}} {{system}} {{outcome}}",
                ),
                Query(
                    f"rate(qwatch_jobs_untracked_total{{{SYSTEM}}}[$__rate_interval])",
                    "{{redis}} {{system}} {{outcome}} untracked",
                ),
            ],
        ),
    ]


def _celery() -> list[JSON]:
    return [
        timeseries(
            "Reserved and overdue messages",
            "Messages Celery workers took and have not acked (prefetched, held for their"
            " ETA, running with acks_late), and those of them older than the visibility"
            " timeout: kombu will deliver those again, so their tasks may run twice.",
            "short",
            [
                Query(
                    f"qwatch_celery_queue_reserved{{{OWN_QUEUE}}}",
                    f"{SYSTEM_PER_QUEUE} reserved",
                ),
                Query(
                    f"qwatch_celery_queue_overdue{{{OWN_QUEUE}}}",
                    f"{SYSTEM_PER_QUEUE} overdue",
                ),
            ],
            width=8,
        ),
        timeseries(
            "Waiting by priority",
            "Messages waiting in each of kombu's priority lists of a Celery queue (step 0"
            " is consumed first). A backlog stuck in high steps means low-priority tasks"
            " starve.",
            "short",
            [
                Query(
                    f"qwatch_celery_queue_priority_jobs{{{OWN_QUEUE}}}",
                    f"{SYSTEM_PER_QUEUE} priority {{{{priority}}}}",
                )
            ],
            width=8,
            stack=True,
        ),
        timeseries(
            "Workers and task events",
            "Celery workers by whether they send task events (`-E`). Workers with off run"
            " tasks that no job counter, duration or failure ratio shows; unknown ones have"
            " run no task since qwatch started listening.",
            "short",
            [
                Query(
                    f"qwatch_celery_workers_task_events{{{REDIS}}}",
                    "{{redis}} task events {{state}}",
                )
            ],
            width=8,
            stack=True,
        ),
        timeseries(
            "Oldest reserved message",
            "Age of the oldest message a Celery worker holds unacked. Past the visibility"
            " timeout kombu delivers it again.",
            "s",
            [
                Query(
                    f"qwatch_celery_queue_oldest_reserved_age_seconds{{{OWN_QUEUE}}}",
                    SYSTEM_PER_QUEUE,
                )
            ],
            width=8,
        ),
        timeseries(
            "Tasks processed, as workers count them",
            "Tasks per second Celery's workers report processed, whatever their outcome,"
            " from their heartbeats: these include the tasks of workers that send no task"
            " events.",
            "ops",
            [
                Query(
                    "rate(qwatch_celery_worker_tasks_processed_total"
                    f"{{{REDIS}}}[$__rate_interval])",
                    "{{redis}}",
                )
            ],
            width=8,
        ),
        table(
            "Next tasks",
            "Task names among the messages next in line in each Celery queue (the head"
            " qwatch reads), most first: what the workers will run next.",
            "short",
            Query(f"qwatch_celery_queue_head_tasks{{{OWN_QUEUE}}}", ""),
            "Messages",
            width=8,
        ),
    ]


def _dramatiq() -> list[JSON]:
    dramatiq = SYSTEM + ', queue=~"$queue", system="dramatiq"'
    return [
        timeseries(
            "Dead letters",
            "Messages Dramatiq gave up on, per queue: failed for good, or of an actor no"
            " worker knows. Dramatiq drops each dead letter 7 days after it died.",
            "short",
            [Query(f'qwatch_queue_jobs{{{dramatiq}, state="failed"}}', SYSTEM_PER_QUEUE)],
            width=8,
        ),
        timeseries(
            "Held by silent brokers",
            "Messages fetched and not acked by Dramatiq broker processes silent for over"
            " 60 s (killed, frozen, cut off): they run again only once a live worker's"
            " fetch happens to requeue them. Beside them, the live broker processes seen"
            " fetching nothing: producers, or idle workers.",
            "short",
            [
                Query(
                    f"qwatch_dramatiq_silent_broker_messages{{{REDIS}}}",
                    "{{redis}} held by silent brokers",
                ),
                Query(
                    f"qwatch_dramatiq_brokers_unknown{{{REDIS}}}",
                    "{{redis}} brokers fetching nothing",
                ),
            ],
            width=8,
        ),
        timeseries(
            "Queues by counting mode",
            "Dramatiq queues whose finished and failed messages qwatch counts exactly (every"
            " worker on them runs qwatch.dramatiq.Middleware), and those it cannot see"
            " finish at all: Redis keeps no trace of an acked message.",
            "short",
            [
                Query(
                    f"count by (redis, mode) (qwatch_queue_counting_mode{{{dramatiq}}})",
                    "{{redis}} {{mode}}",
                )
            ],
            width=8,
            stack=True,
        ),
    ]


def _arq() -> list[JSON]:
    arq = SYSTEM + ', queue=~"$queue", system="arq"'
    return [
        timeseries(
            "Health-check counters",
            "Jobs complete, failed and retried as each arq queue's health check counts them:"
            " the counters of the worker that wrote it last, since that worker started. With"
            " several workers on a queue the line jumps between theirs, and a restart starts"
            " it again from 0.",
            "short",
            [
                Query(
                    f"qwatch_arq_health_check_jobs{{{OWN_QUEUE}}}",
                    f"{SYSTEM_PER_QUEUE} {{{{outcome}}}}",
                )
            ],
            width=6,
        ),
        timeseries(
            "Scheduled jobs",
            "arq jobs waiting for their time, per queue: deferred by their producer"
            " (_defer_by, _defer_until) or by a Retry, until their next try.",
            "short",
            [Query(f'qwatch_queue_jobs{{{arq}, state="scheduled"}}', SYSTEM_PER_QUEUE)],
            width=6,
        ),
        timeseries(
            "Results unread",
            "Results arq keeps that qwatch did not read (over its limits of number or size,"
            " docs/arq.md), so the finished and failed jobs of arq's queues leave them out."
            " Exact mode counts every outcome, whatever is kept.",
            "short",
            [Query(f"qwatch_arq_results_unread{{{REDIS}}}", "{{redis}}")],
            width=6,
        ),
        timeseries(
            "Queues by counting mode",
            "arq queues whose finished, failed and retried jobs qwatch counts exactly (their"
            " workers run qwatch.arq.exact's hooks), and those it cannot see end: arq keeps"
            " an outcome only as a result that expires, in no index.",
            "short",
            [
                Query(
                    f"count by (redis, mode) (qwatch_queue_counting_mode{{{arq}}})",
                    "{{redis}} {{mode}}",
                )
            ],
            width=6,
            stack=True,
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
        "RQ, Celery, Dramatiq and arq queues, workers and Redis as qwatch serves them:"
        " backlog, latency, throughput, failures, durations, worker health, Celery's reserved"
        " messages, Dramatiq's dead letters, arq's health checks and the exporter's own"
        " health.",
        redis_variables(multi_redis=True, multi_queue=True),
        [
            ("Queues", _queues()),
            ("Throughput", _throughput()),
            ("Durations", _durations()),
            ("Workers", _workers()),
            ("Celery", _celery()),
            ("Dramatiq", _dramatiq()),
            ("arq", _arq()),
            ("Redis and exporter", _redis_and_exporter()),
        ],
    )
