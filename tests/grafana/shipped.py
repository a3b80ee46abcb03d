"""The files users get from grafana/: dashboards, rule files and promtool tests, as loaded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
RULE_FILES = sorted((GRAFANA / "alerts").glob("*.rules.yml"))
RULE_TESTS = sorted((GRAFANA / "alerts" / "tests").glob("*.yml"))
RUNBOOK = ROOT / "docs" / "runbook.md"

JSON = dict[str, Any]


def load_dashboard(path: Path) -> JSON:
    board: JSON = json.loads(path.read_text())
    return board


def data_panels(board: JSON) -> list[JSON]:
    """Every panel that shows data: all but the row headers."""
    return [panel for panel in board["panels"] if panel["type"] != "row"]


def dashboard_queries() -> Iterator[tuple[str, str, str]]:
    """(dashboard title, panel title, PromQL) of every query of every shipped dashboard."""
    for path in DASHBOARDS:
        board = load_dashboard(path)
        for panel in data_panels(board):
            for target in panel["targets"]:
                yield board["title"], panel["title"], target["expr"]


def system_of(expr: str) -> str:
    """The system whose queue a panel's query needs data of: a system's own series or
    selector names it; the shared panels are checked on RQ's."""
    for system in ("celery", "dramatiq", "arq"):
        if f"qwatch_{system}_" in expr or f'system="{system}"' in expr:
            return system
    return "rq"


def rules() -> list[JSON]:
    """Every recording and alerting rule of the shipped rule files."""
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def alerting_rules() -> list[JSON]:
    return [rule for rule in rules() if "alert" in rule]


def fill_in(expr: str, variables: dict[str, str]) -> str:
    """`expr` as Grafana would send it, with `$name` replaced by `variables[name]`."""

    def value(match: re.Match[str]) -> str:
        return variables[match[1]]

    return re.sub(r"\$(\w+)", value, expr)
