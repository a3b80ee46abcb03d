"""The committed dashboards and rule files are exactly what the generator writes."""

from __future__ import annotations

import yaml

from grafana.generate import outputs
from grafana.rules import alerting_file, alerts, recording_file
from grafana.thresholds import Thresholds
from tests.grafana.shipped import GRAFANA


def test_committed_files_are_generated() -> None:
    stale = [
        str(path.relative_to(GRAFANA))
        for path, content in outputs().items()
        if not path.exists() or path.read_text() != content
    ]
    assert stale == [], "run `python -m grafana.generate` and commit the result"


def test_rule_files_read_back_as_generated() -> None:
    """The hand-rolled YAML writer's output means what the generator meant."""
    assert yaml.safe_load((GRAFANA / "alerts" / "alerting.rules.yml").read_text()) == (
        alerting_file()
    )
    assert yaml.safe_load((GRAFANA / "alerts" / "recording.rules.yml").read_text()) == (
        recording_file()
    )


def test_a_threshold_changes_in_one_place() -> None:
    changed = Thresholds(oldest_job_age_seconds=90, failure_ratio=0.25, rate_window="10m")
    exprs = {alert.name: alert.expr for alert in alerts(changed)}
    assert exprs["QwatchQueueOldestJobTooOld"] == "qwatch_queue_oldest_job_age_seconds > 90"
    assert exprs["QwatchQueueFailureRatioHigh"].startswith(
        "queue:qwatch_jobs_failure_ratio:rate10m > 0.25\n"
    )
    assert "* 600 >= 20" in exprs["QwatchQueueFailureRatioHigh"]
