"""The dashboards follow the conventions of well-kept ones, checked on the committed JSON."""

from __future__ import annotations

import re

import pytest

from qwatch.exporter.collector import SERIES
from tests.grafana.shipped import (
    DASHBOARDS,
    JSON,
    dashboard_queries,
    data_panels,
    load_dashboard,
    rules,
)

BOARDS = {path.name: load_dashboard(path) for path in DASHBOARDS}
EXPORTED = {series.name for series in SERIES}
# What Prometheus stores of counters and histograms: meaningful only as rates or increases.
COUNTERS = [f"{s.name}_total" for s in SERIES if s.kind == "counter"] + [
    f"{s.name}_{part}"
    for s in SERIES
    if s.kind == "histogram"
    for part in ("bucket", "sum", "count")
]
RECORDED = {rule["record"] for rule in rules() if "record" in rule}
EXPRESSIONS = [expr for _board, _panel, expr in dashboard_queries()]
RULE_EXPRESSIONS = [rule["expr"] for rule in rules()]


def test_both_dashboards_ship() -> None:
    assert {board["title"] for board in BOARDS.values()} == {"qwatch / Overview", "qwatch / Queue"}


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_importable_and_provisionable(name: str) -> None:
    """Fixed uid (links and provisioning rely on it), no id, no __inputs."""
    board = BOARDS[name]
    assert re.fullmatch(r"qwatch-[a-z]+", board["uid"])
    assert board["id"] is None
    assert "__inputs" not in board
    assert "qwatch" in board["tags"]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_variables(name: str) -> None:
    variables = {v["name"]: v for v in BOARDS[name]["templating"]["list"]}
    assert list(variables) == ["datasource", "job", "instance", "redis", "system", "queue"]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for variable in list(variables.values())[1:]:
        assert variable["datasource"]["uid"] == "${datasource}"


def test_the_queue_dashboard_shows_one_queue() -> None:
    variables = {v["name"]: v for v in BOARDS["qwatch-queue.json"]["templating"]["list"]}
    for name in ("system", "queue"):  # an RQ and a Celery queue may share a name
        assert not variables[name]["multi"]
        assert not variables[name]["includeAll"]


@pytest.mark.parametrize(("dashboard", "panel", "expr"), dashboard_queries())
def test_per_system_series_are_narrowed_to_the_chosen_systems(
    dashboard: str, panel: str, expr: str
) -> None:
    """A panel of both systems never sums an RQ and a Celery queue of the same name."""
    per_system = ("qwatch_queue_", "qwatch_jobs_", "qwatch_workers", "qwatch_worker_", "queue:")
    for selector in re.findall(r"([\w:]+)\{([^}]*)\}", expr):
        name, matchers = selector
        if name.startswith(per_system):
            assert 'system=~"$system"' in matchers, (dashboard, panel, name)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_panel_has_a_unit_a_description_and_the_datasource(name: str) -> None:
    for panel in data_panels(BOARDS[name]):
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert len(panel["description"]) > 20, panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_panels_do_not_overlap(name: str) -> None:
    taken: set[tuple[int, int]] = set()
    panels: list[JSON] = BOARDS[name]["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, panel["title"]
        taken |= cells


def test_rates_use_the_rate_interval() -> None:
    for expr in EXPRESSIONS:
        for window in re.findall(r"\brate\([^\[]*\[([^\]]+)\]", expr):
            assert window == "$__rate_interval", expr
        for window in re.findall(r"\bincrease\([^\[]*\[([^\]]+)\]", expr):
            assert window in ("$__rate_interval", "$__range"), expr


@pytest.mark.parametrize("expr", EXPRESSIONS + RULE_EXPRESSIONS)
def test_counters_only_inside_rate_or_increase(expr: str) -> None:
    for counter in COUNTERS:
        uses = len(re.findall(rf"\b{counter}\b", expr))
        wrapped = len(re.findall(rf"\b(?:rate|increase)\({counter}(?:\{{[^}}]*\}})?\[", expr))
        assert uses == wrapped, f"{counter} outside rate() or increase() in {expr}"


@pytest.mark.parametrize("expr", EXPRESSIONS + RULE_EXPRESSIONS)
def test_only_series_that_exist(expr: str) -> None:
    """Every series a query names is exported by qwatch, recorded by the rules, or `up`."""
    selectors = re.sub(r"\{[^}]*\}|\b(?:by|without|on|ignoring) \([^)]*\)", "", expr)
    for name in re.findall(r"\b(?:queue_quantile:|queue:|redis:|qwatch_)[\w:]*|\bup\b", selectors):
        base = re.sub(r"_(total|bucket|sum|count)$", "", name)
        assert name in RECORDED or base in EXPORTED or name == "up", f"{name} in {expr}"
