"""The rule files pass promtool, and every alert is shown firing and silent by promtool tests."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from tests.grafana.shipped import (
    GRAFANA,
    JSON,
    RULE_FILES,
    RULE_TESTS,
    RUNBOOK,
    alerting_rules,
    rules,
)

README = GRAFANA / "README.md"

SERIES = re.compile(r"(?P<name>[\w:]+)\{(?P<labels>[^}]*)\}")


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed: run `make test`, which installs it")
    return subprocess.run(
        [binary, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def test_rule_files_are_valid() -> None:
    assert [path.name for path in RULE_FILES] == ["alerting.rules.yml", "recording.rules.yml"]
    result = promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    assert RULE_TESTS
    result = promtool("test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_recorded_names_follow_the_convention() -> None:
    """level:metric:operations, as Prometheus, Mimir and Cortex tooling expect."""
    for rule in rules():
        if "record" in rule:
            assert re.fullmatch(r"[a-z_]+:qwatch_[a-z_]+:[a-z_0-9]+", rule["record"])


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda rule: rule["alert"])
def test_alert_annotations(rule: JSON) -> None:
    """What on-call reads: a severity, a summary, and a description naming its value, and
    its queue when it fires per queue (its promtool cases expect a queue label: promtool
    compares every label)."""
    assert rule["labels"]["severity"] in ("critical", "warning")
    annotations = rule["annotations"]
    assert set(annotations) == {"summary", "description", "runbook_url"}
    if rule["alert"] not in ("QwatchRedisDown", "QwatchExporterDown"):  # their value is 0
        assert "$value" in annotations["description"]
    fired = [alert for _group, case in _tests_of(rule["alert"]) for alert in case["exp_alerts"]]
    if any("queue" in alert["exp_labels"] for alert in fired):
        assert "$labels.queue" in annotations["description"]


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda rule: rule["alert"])
def test_runbook_section_exists(rule: JSON) -> None:
    url = rule["annotations"]["runbook_url"]
    assert url.endswith(f"docs/runbook.md#{rule['alert'].lower()}")
    assert f"\n## {rule['alert']}\n" in RUNBOOK.read_text()


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda rule: rule["alert"])
def test_the_readme_lists_every_alert(rule: JSON) -> None:
    assert f"\n| `{rule['alert']}` | {rule['labels']['severity']} | " in README.read_text()


def _tests_of(alert: str) -> list[tuple[JSON, JSON]]:
    """(test group, alert_rule_test) pairs of the promtool tests for `alert`."""
    found = []
    for path in RULE_TESTS:
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test", []):
                if case["alertname"] == alert:
                    found.append((group, case))
    return found


def _labels(series: str) -> dict[str, str]:
    match = SERIES.fullmatch(series)
    assert match, series
    return dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))


def _covered(labels: dict[str, str], expected: Sequence[JSON]) -> bool:
    """Whether an input series belongs to one of the alerts expected to fire."""
    return any(
        all(labels[key] == value for key, value in alert["exp_labels"].items() if key in labels)
        for alert in expected
    )


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_is_tested_firing_and_silent(rule: JSON) -> None:
    """A promtool case fires it; the same test has a series that must not, and a time
    before `for` has passed when nothing fires yet."""
    cases = _tests_of(rule["alert"])
    firing = [(group, case) for group, case in cases if case["exp_alerts"]]
    assert firing, "no case where it fires"
    assert any(not case["exp_alerts"] for _group, case in cases), "no case where it waits"
    for group, case in firing:
        series = [_labels(entry["series"]) for entry in group["input_series"]]
        assert any(not _covered(labels, case["exp_alerts"]) for labels in series), (
            "no series that must stay silent"
        )
