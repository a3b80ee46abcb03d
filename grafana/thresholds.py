"""Every alert threshold and duration, in one table: change a value here, then run
`python -m grafana.generate` to rewrite the rule files and the dashboards' threshold lines.

Durations are Prometheus durations ("90s", "5m", "1h"). `for` is how long a
condition must hold before the alert fires; until then it is pending.
"""

from __future__ import annotations

from dataclasses import dataclass

from qwatch.prometheus.recorded import RATE_WINDOW


@dataclass(frozen=True)
class Thresholds:
    """The values the alerting rules compare against."""

    exporter_job: str = "qwatch"
    """The `job` label Prometheus gives the qwatch scrape target (its `job_name`)."""
    rate_window: str = RATE_WINDOW
    """Window of the recorded rates, failure ratios and quantiles."""

    redis_down_for: str = "1m"
    exporter_down_for: str = "2m"
    no_workers_for: str = "5m"

    oldest_job_age_seconds: float = 600
    """A queue's oldest queued job older than this is latency users feel."""
    oldest_job_for: str = "5m"

    backlog_min_jobs: int = 100
    """Growth of a smaller backlog is noise."""
    backlog_growth_window: str = "30m"
    backlog_growing_for: str = "15m"

    failure_ratio: float = 0.1
    """Failed / (failed + finished) jobs of a queue over `rate_window`."""
    failure_min_jobs: int = 20
    """Jobs that must end in `rate_window` for the ratio to mean something."""
    failure_for: str = "10m"

    abandoned_for: str = "1m"
    heartbeat_for: str = "2m"

    celery_overdue_for: str = "3m"
    """Reserved messages past the visibility timeout that long were not restored by kombu's
    sweep (every ~100 s by default, 10 messages at a time): no worker sweeps them."""
    celery_no_workers_for: str = "5m"
    celery_growth_window: str = "10m"
    """A Celery queue counts as growing when its queued messages rose over this window."""
    celery_listening_seconds: float = 60
    """Listening to Celery's events for this long has seen every live worker (heartbeats
    every 2 s): before that, no worker seen proves nothing."""
    celery_workers_lost_for: str = "2m"

    dramatiq_silent_held_for: str = "10m"
    """Dramatiq requeues a dead broker's messages only when a live worker's fetch runs its
    clean-up, which each fetch does by chance: a few minutes is normal."""

    arq_results_unread_for: str = "15m"
    """qwatch reads arq's new results a batch a minute, so a burst goes unread a few
    minutes; unread this long, more are kept than qwatch remembers, or they are too large."""

    rate_limit_oldest_seconds: float = 900
    """An RQ 3.0 rate-limit key whose oldest held-back job has waited this long lets none
    through."""
    rate_limit_growth_window: str = "15m"
    rate_limit_for: str = "10m"

    memory_ratio: float = 0.9
    """Redis used memory / maxmemory; only where maxmemory is set."""
    memory_for: str = "10m"

    runbook: str = "https://github.com/qwatch/qwatch/blob/main/docs/runbook.md"
    """Where docs/runbook.md is published; each alert links to its section."""


THRESHOLDS = Thresholds()
