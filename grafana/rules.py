"""Prometheus recording and alerting rules for qwatch's metrics.

Recording rules hold what dashboards and alerts compute again and again: per
queue job rates, the failure ratio and run and wait time quantiles, and per
Redis the jobs no registry showed (`qwatch_jobs_untracked_total`), so that the
failure-ratio alert never takes a queue whose successes qwatch cannot see for
a queue without successes. They keep
every label but the ones summed away (`function`, `exception`), so `job`,
`instance`, `redis`, `queue` and any target labels you add stay. Alerts read
the thresholds from `grafana.thresholds`; their annotations never quote a
threshold, so changing one changes no message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from grafana.rulefile import Yaml
from grafana.thresholds import THRESHOLDS, Thresholds
from qwatch.prometheus.recorded import Recorded

QUANTILES = {"0.5": "p50", "0.95": "p95", "0.99": "p99"}
"""The recorded quantiles, by their `quantile` label, with their usual names."""


RECORDED = Recorded(THRESHOLDS.rate_window)


@dataclass(frozen=True)
class Alert:
    """One alerting rule; `summary` and `description` are Prometheus templates."""

    name: str
    expr: str
    duration: str
    severity: str
    summary: str
    description: str


@dataclass(frozen=True)
class Recording:
    """One recording rule; `labels` tell apart the quantiles recorded under one name."""

    record: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)


def recording_rules(t: Thresholds = THRESHOLDS) -> list[Recording]:
    """Per queue rates, the failure ratio and quantiles over `t.rate_window`."""
    names, window = Recorded(t.rate_window), t.rate_window
    # A queue may have only finished or only failed jobs so far: `or ... * 0`
    # stands in a zero for the missing side instead of dropping the queue.
    finished_or_zero = f"({names.finished} or {names.failed} * 0)"
    failed_or_zero = f"({names.failed} or {names.finished} * 0)"
    rules = [
        Recording(
            names.finished,
            f"sum without (function) (rate(qwatch_jobs_finished_total[{window}]))",
        ),
        Recording(
            names.failed,
            f"sum without (function, exception) (rate(qwatch_jobs_failed_total[{window}]))",
        ),
        Recording(names.completed, f"{finished_or_zero}\n+\n{failed_or_zero}"),
        Recording(names.failure_ratio, f"{failed_or_zero}\n/\n({names.completed} > 0)"),
        Recording(names.untracked, f"rate(qwatch_jobs_untracked_total[{window}])"),
        # Successes with result_ttl=0 leave no record: the workers' counters say how many
        # per Redis, not per queue. Counted here as the queue's, the ratio cannot be lower.
        Recording(
            names.failure_ratio_floor,
            f"{failed_or_zero}\n/\n(\n  (\n    {names.completed}\n"
            "    + ignoring (queue, outcome) group_left ()\n"
            f'    {names.untracked}{{outcome="finished"}}\n'
            f"    or\n    {names.completed}\n  )\n  > 0\n)",
        ),
    ]
    for record, histogram in (
        (names.run_time, "qwatch_job_duration_seconds"),
        (names.wait_time, "qwatch_job_wait_seconds"),
    ):
        rules += [
            Recording(
                record,
                f"histogram_quantile({q}, rate({histogram}_bucket[{window}]))",
                {"quantile": q},
            )
            for q in QUANTILES
        ]
    return rules


def alerts(t: Thresholds = THRESHOLDS) -> list[Alert]:
    """The alerts a team running RQ, Celery, Dramatiq or arq wants paged or told about."""
    names = Recorded(t.rate_window)
    queued = 'qwatch_queue_jobs{state="queued"}'
    where = "queue {{ $labels.queue }} on Redis {{ $labels.redis }}"
    return [
        Alert(
            "QwatchRedisDown",
            "qwatch_up == 0",
            t.redis_down_for,
            "critical",
            "qwatch cannot read Redis {{ $labels.redis }}",
            "qwatch at {{ $labels.instance }} fails to read Redis {{ $labels.redis }}: it is"
            " down, unreachable, refuses qwatch's credentials or answers too slowly. The RQ"
            " workers and producers that use it are most likely failing too.",
        ),
        Alert(
            "QwatchExporterDown",
            f'up{{job="{t.exporter_job}"}} == 0',
            t.exporter_down_for,
            "warning",
            "Prometheus cannot scrape qwatch at {{ $labels.instance }}",
            "The qwatch exporter at {{ $labels.instance }} does not answer Prometheus: the"
            " queues it watches are unobserved and no other qwatch alert can fire for them.",
        ),
        Alert(
            "QwatchQueueWithoutWorkers",
            f"{queued} > 0\nand ignoring (state)\nqwatch_queue_workers == 0",
            t.no_workers_for,
            "critical",
            "Queue {{ $labels.queue }} has jobs but no worker",
            f"{{{{ $value }}}} jobs wait in {where} and no live worker listens to it:"
            " they will not run until one does.",
        ),
        Alert(
            "QwatchQueueOldestJobTooOld",
            f"qwatch_queue_oldest_job_age_seconds > {t.oldest_job_age_seconds:g}",
            t.oldest_job_for,
            "warning",
            "Jobs wait too long in queue {{ $labels.queue }}",
            f"The oldest job queued in {where} has waited {{{{ $value | humanizeDuration }}}}:"
            " its workers do not keep up, and a job enqueued now waits about as long.",
        ),
        Alert(
            "QwatchQueueBacklogGrowing",
            f"{queued} > {t.backlog_min_jobs}\nand\nderiv({queued}[{t.backlog_growth_window}]) > 0",
            t.backlog_growing_for,
            "warning",
            "The backlog of queue {{ $labels.queue }} keeps growing",
            "Queue {{ $labels.queue }} on Redis {{ $labels.redis }} holds {{ $value }} queued"
            " jobs and keeps growing: jobs arrive faster than its workers finish them.",
        ),
        Alert(
            "QwatchQueueFailureRatioHigh",
            f"{names.failure_ratio} > {t.failure_ratio:g}\nand\n"
            f"{names.completed} * {seconds(t.rate_window)} >= {t.failure_min_jobs}\nand\n"
            # successes seen, or too many failures for untracked successes to explain
            f"(\n  {names.finished} > 0\n  or\n"
            f"  {names.failure_ratio_floor} > {t.failure_ratio:g}\n)",
            t.failure_for,
            "warning",
            "Many jobs of queue {{ $labels.queue }} fail",
            "{{ $value | humanizePercentage }} of the jobs that ended in"
            f" {where} failed recently.",
        ),
        Alert(
            "QwatchJobsAbandoned",
            "qwatch_jobs_abandoned > 0",
            t.abandoned_for,
            "warning",
            "Jobs of queue {{ $labels.queue }} were abandoned by a dead worker",
            f"{{{{ $value }}}} started jobs of {where} belong to a worker that is gone: they"
            " will never finish, and RQ moves them to the failed registry only at its next"
            " clean-up.",
        ),
        # RQ's workers alone: Celery's and Dramatiq's have alerts of their own, and arq's
        # health check has no series here, since it cannot be overdue: it expires (its
        # time to live is the workers' interval plus one second), and the queue it named
        # then has no worker, which QwatchQueueWithoutWorkers sees.
        Alert(
            "QwatchWorkerHeartbeatOverdue",
            'qwatch_workers_heartbeat_stale{system!~"celery|dramatiq"}'
            " + qwatch_workers_expired > 0",
            t.heartbeat_for,
            "warning",
            "Workers on Redis {{ $labels.redis }} stopped sending heartbeats",
            "Workers on Redis {{ $labels.redis }} with an overdue heartbeat or gone without"
            " unregistering: {{ $value }}. They were killed, crashed or are frozen, and a job"
            " they held may be abandoned.",
        ),
        Alert(
            "QwatchRateLimitStalled",
            'qwatch_rate_limit_jobs{state="waiting"} > 0\nand\n'
            f'deriv(qwatch_rate_limit_jobs{{state="waiting"}}[{t.rate_limit_growth_window}])'
            " > 0\nand ignoring (state)\n"
            f"qwatch_rate_limit_oldest_waiting_seconds > {t.rate_limit_oldest_seconds:g}",
            t.rate_limit_for,
            "warning",
            "Jobs held back by rate limit {{ $labels.key }} keep piling up",
            "{{ $value }} jobs wait for a slot of rate limit {{ $labels.key }} on Redis"
            " {{ $labels.redis }}, more and more, and the oldest has not moved for long: the"
            " jobs holding its slots do not finish, or its slots leaked.",
        ),
        *celery_alerts(t),
        *dramatiq_alerts(t),
        *arq_alerts(t),
        Alert(
            "QwatchRedisMemoryNearLimit",
            "qwatch_redis_memory_used_bytes\n/ (qwatch_redis_memory_max_bytes > 0)\n"
            f"> {t.memory_ratio:g}",
            t.memory_for,
            "warning",
            "Redis {{ $labels.redis }} is close to its memory limit",
            "Redis {{ $labels.redis }} uses {{ $value | humanizePercentage }} of its"
            " maxmemory: at the limit it evicts keys, RQ's jobs among them, or refuses new"
            " jobs, depending on its maxmemory-policy.",
        ),
    ]


def dramatiq_alerts(t: Thresholds = THRESHOLDS) -> list[Alert]:
    """What goes wrong only with Dramatiq: messages stuck with a broker process that went
    silent. (A silent broker alone is no alarm: producers that exit linger in Dramatiq's
    heartbeats too.)"""
    return [
        Alert(
            "QwatchDramatiqMessagesHeldBySilentBroker",
            "qwatch_dramatiq_silent_broker_messages > 0",
            t.dramatiq_silent_held_for,
            "warning",
            "Dramatiq messages on Redis {{ $labels.redis }} are held by a dead worker",
            "{{ $value }} messages on Redis {{ $labels.redis }} were fetched by Dramatiq"
            " worker processes that stopped sending heartbeats (killed, frozen or cut off) and"
            " are not acked: they run again only when a live worker's fetch requeues them.",
        ),
    ]


def arq_alerts(t: Thresholds = THRESHOLDS) -> list[Alert]:
    """What goes wrong only with arq: results kept that qwatch leaves unread, while a queue
    of that Redis has no count but its results (no exact mode's hooks). With every queue
    exact, the results are not the count, and an unread one is no alarm."""
    return [
        Alert(
            "QwatchArqResultsUnread",
            "qwatch_arq_results_unread > 0\nand on (job, instance, redis)\n"
            'qwatch_queue_counting_mode{system="arq", mode="unseen"}',
            t.arq_results_unread_for,
            "warning",
            "arq results on Redis {{ $labels.redis }} go uncounted",
            "{{ $value }} results arq keeps on Redis {{ $labels.redis }} were not read by"
            " qwatch (more than it reads or remembers, or too large), so the finished and"
            " failed jobs of its arq queues without exact mode are short.",
        ),
    ]


def celery_alerts(t: Thresholds = THRESHOLDS) -> list[Alert]:
    """What goes wrong only with Celery: messages kombu will deliver twice, queues that no
    worker consumes, workers lost by Celery's own heartbeat rule."""
    queued = 'qwatch_queue_jobs{state="queued", system="celery"}'
    redis = "on (job, instance, redis)"
    where = "Celery queue {{ $labels.queue }} on Redis {{ $labels.redis }}"
    return [
        Alert(
            "QwatchCeleryReservedOverdue",
            "qwatch_celery_queue_overdue > 0",
            t.celery_overdue_for,
            "warning",
            "Unacked messages of Celery queue {{ $labels.queue }} are past their visibility"
            " timeout",
            f"{{{{ $value }}}} messages of {where} were taken by a worker that has not acked"
            " them within the visibility timeout, and kombu's sweep has not restored them"
            " since: their worker died or hangs, or the tasks run longer than the timeout"
            " (with acks_late or ETAs). Once restored they are delivered again and may run"
            " twice.",
        ),
        Alert(
            "QwatchCeleryQueueWithoutWorkers",
            # Every Celery worker seen is in one task-events state, so that sum counts them
            # all, 0 included; those overdue by Celery's heartbeat rule are not live.
            f"{queued} > 0\nand\nderiv({queued}[{t.celery_growth_window}]) > 0\n"
            f"and {redis}\n(\n"
            "  sum by (job, instance, redis) (qwatch_celery_workers_task_events)\n"
            f"  - {redis}\n"
            '  qwatch_workers_heartbeat_stale{system="celery"}\n'
            "  == 0\n)\n"
            f"and {redis}\n"
            f"qwatch_celery_events_listening_seconds > {t.celery_listening_seconds:g}",
            t.celery_no_workers_for,
            "critical",
            "Celery queue {{ $labels.queue }} grows and no Celery worker is alive",
            f"{{{{ $value }}}} messages wait in {where}, more keep coming, and no live Celery"
            " worker sends heartbeats on that Redis: nothing will run them until one starts.",
        ),
        Alert(
            "QwatchCeleryWorkersLost",
            'qwatch_workers_heartbeat_stale{system="celery"}'
            ' + qwatch_workers_expired{system="celery"} > 0',
            t.celery_workers_lost_for,
            "warning",
            "Celery workers on Redis {{ $labels.redis }} stopped sending heartbeats",
            "{{ $value }} Celery workers on Redis {{ $labels.redis }} sent no heartbeat for"
            " twice their interval, which Celery itself takes for offline: killed, crashed,"
            " frozen or cut off from Redis. Messages they reserved come back only after the"
            " visibility timeout. qwatch counts a lost worker 15 minutes, or until it is back.",
        ),
    ]


def seconds(duration: str) -> int:
    """A Prometheus duration of one unit ("90s", "5m", "1h", "1d") in seconds."""
    match = re.fullmatch(r"(\d+)([smhd])", duration)
    if match is None:
        raise ValueError(f"use one number and one unit of s, m, h, d, not {duration!r}")
    return int(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


def recording_file(t: Thresholds = THRESHOLDS) -> Yaml:
    """recording.rules.yml as data: one group, evaluated in order, so later rules see earlier."""
    rules: list[Yaml] = []
    for rule in recording_rules(t):
        entry: dict[str, Yaml] = {"record": rule.record, "expr": rule.expr}
        if rule.labels:
            entry["labels"] = dict(rule.labels)
        rules.append(entry)
    return {"groups": [{"name": "qwatch.recording", "rules": rules}]}


def alerting_file(t: Thresholds = THRESHOLDS) -> Yaml:
    """alerting.rules.yml as data; each runbook_url is the runbook's section of the alert."""
    rules: list[Yaml] = [
        {
            "alert": alert.name,
            "expr": alert.expr,
            "for": alert.duration,
            "labels": {"severity": alert.severity},
            "annotations": {
                "summary": alert.summary,
                "description": alert.description,
                "runbook_url": f"{t.runbook}#{alert.name.lower()}",
            },
        }
        for alert in alerts(t)
    ]
    return {"groups": [{"name": "qwatch.alerts", "rules": rules}]}
