"""Building blocks of a Grafana dashboard: variables, panels, rows and their layout.

Panels query the `$datasource` variable, so the JSON needs no `__inputs` and
works both imported and provisioned from files. Every panel gets a unit and a
description; the layout fills rows of 24 columns from left to right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grafana.rules import QUANTILES

JSON = dict[str, Any]

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39
"""Grafana 10.4 and 11 write this version; older and newer Grafana migrate it."""

REDIS = 'job=~"$job", instance=~"$instance", redis=~"$redis"'
"""Label matchers of the series of the chosen Redis instances."""
SYSTEM = REDIS + ', system=~"$system"'
"""Label matchers of the per-system series (queues, workers, job counters) of the chosen
systems: rq, celery or both."""
QUEUE = SYSTEM + ', queue=~"$queue"'
"""Label matchers of the series of the chosen queues."""
OWN_QUEUE = REDIS + ', queue=~"$queue"'
"""Label matchers of the chosen queues' series that only one system has, whose name says
which (`qwatch_celery_*`, `qwatch_arq_*`)."""


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


def quantiles(record: str, legend: str) -> list[Query]:
    """One query per recorded quantile of the chosen queues, named p50, p95, p99."""
    return [
        Query(f'{record}{{{QUEUE}, quantile="{q}"}}', f"{legend} {name}")
        for q, name in QUANTILES.items()
    ]


def datasource_variable() -> JSON:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
    }


def query_variable(name: str, label: str, query: str, *, multi: bool) -> JSON:
    """A variable listing the values of a label; `multi` also offers All."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": query,
        "definition": query,
        "current": {},
        "hide": 0,
        "includeAll": multi,
        "multi": multi,
        **({"allValue": ".+"} if multi else {}),
        "options": [],
        "refresh": 2,
        "regex": "",
        "sort": 1,
    }


def redis_variables(*, multi_redis: bool, multi_queue: bool) -> list[JSON]:
    """datasource, job, instance, redis, system and queue, each narrowing the next; a queue
    is one only with its system, since RQ and Celery may both have one of that name."""
    return [
        datasource_variable(),
        query_variable("job", "Job", "label_values(qwatch_up, job)", multi=True),
        query_variable(
            "instance", "Exporter", 'label_values(qwatch_up{job=~"$job"}, instance)', multi=True
        ),
        query_variable(
            "redis",
            "Redis",
            'label_values(qwatch_up{job=~"$job", instance=~"$instance"}, redis)',
            multi=multi_redis,
        ),
        query_variable(
            "system",
            "System",
            f"label_values(qwatch_queue_jobs{{{REDIS}}}, system)",
            multi=multi_queue,
        ),
        query_variable(
            "queue",
            "Queue",
            f"label_values(qwatch_queue_jobs{{{SYSTEM}}}, queue)",
            multi=multi_queue,
        ),
    ]


def _targets(queries: Sequence[Query], *, instant: bool = False) -> list[JSON]:
    return [
        {
            "datasource": DATASOURCE,
            "editorMode": "code",
            "expr": query.expr,
            "legendFormat": query.legend or "__auto",
            "range": not instant,
            "instant": instant,
            **({"format": "table"} if instant else {}),
            "refId": chr(ord("A") + index),
        }
        for index, query in enumerate(queries)
    ]


def _panel(kind: str, title: str, description: str, width: int, height: int) -> JSON:
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": height, "w": width, "x": 0, "y": 0},
    }


def _steps(threshold: float | None) -> JSON:
    steps: list[JSON] = [{"color": "green", "value": None}]
    if threshold is not None:
        steps.append({"color": "red", "value": threshold})
    return {"mode": "absolute", "steps": steps}


def timeseries(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Query],
    *,
    width: int = 12,
    stack: bool = False,
    threshold: float | None = None,
    links: Sequence[JSON] = (),
) -> JSON:
    """A graph; `threshold` draws the alert's threshold as a dashed red line."""
    return {
        **_panel("timeseries", title, description, width, 8),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "color": {"mode": "palette-classic"},
                "custom": {
                    "drawStyle": "line",
                    "lineWidth": 1,
                    "fillOpacity": 20 if stack else 0,
                    "showPoints": "never",
                    "spanNulls": False,
                    "stacking": {"mode": "normal" if stack else "none", "group": "A"},
                    "thresholdsStyle": {"mode": "off" if threshold is None else "dashed"},
                },
                "thresholds": _steps(threshold),
                "links": list(links),
            },
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": _targets(queries),
    }


def stat(
    title: str,
    description: str,
    unit: str,
    query: Query,
    *,
    width: int = 6,
    threshold: float | None = None,
    mappings: Sequence[JSON] = (),
) -> JSON:
    """The last value, red from `threshold` on."""
    return {
        **_panel("stat", title, description, width, 4),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": {"mode": "thresholds"},
                "thresholds": _steps(threshold),
                "mappings": list(mappings),
            },
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
        },
        "targets": _targets([query]),
    }


UP_DOWN = [
    {
        "type": "value",
        "options": {
            "1": {"text": "up", "color": "green", "index": 0},
            "0": {"text": "down", "color": "red", "index": 1},
        },
    }
]
"""Value mappings that show 1 and 0 as up in green and down in red."""


def table(
    title: str, description: str, unit: str, query: Query, value_name: str, *, width: int = 12
) -> JSON:
    """An instant query's rows, largest value first, without the time column."""
    return {
        **_panel("table", title, description, width, 8),
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"showHeader": True, "sortBy": [{"displayName": value_name, "desc": True}]},
        "transformations": [
            {
                "id": "organize",
                "options": {"excludeByName": {"Time": True}, "renameByName": {"Value": value_name}},
            }
        ],
        "targets": _targets([query], instant=True),
    }


def dashboard(
    uid: str,
    title: str,
    description: str,
    variables: list[JSON],
    sections: Sequence[tuple[str, Sequence[JSON]]],
) -> JSON:
    """A dashboard of titled rows of panels, laid out left to right, ids in order."""
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "title": "qwatch",
                "type": "dashboards",
                "tags": ["qwatch"],
                "asDropdown": False,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "panels": _layout(sections),
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["qwatch", "rq", "celery", "redis"],
        "templating": {"list": variables},
        "time": {"from": "now-3h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
    }


def _layout(sections: Sequence[tuple[str, Sequence[JSON]]]) -> list[JSON]:
    panels: list[JSON] = []
    y = 0
    for title, members in sections:
        panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        y += 1
        x = line_height = 0
        for panel in members:
            size = panel["gridPos"]
            if x + size["w"] > 24:
                x, y, line_height = 0, y + line_height, 0
            panels.append({**panel, "gridPos": {**size, "x": x, "y": y}})
            x += size["w"]
            line_height = max(line_height, size["h"])
        y += line_height
    return [{**panel, "id": number} for number, panel in enumerate(panels, start=1)]
