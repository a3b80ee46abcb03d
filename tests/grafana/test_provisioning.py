"""Grafana's provisioning files load the shipped dashboards from where the README puts them."""

from __future__ import annotations

import yaml

from tests.grafana.shipped import GRAFANA

PROVISIONING = GRAFANA / "provisioning"


def test_a_default_prometheus_data_source() -> None:
    config = yaml.safe_load((PROVISIONING / "datasources" / "qwatch.yml").read_text())
    assert config["apiVersion"] == 1
    [source] = config["datasources"]
    assert source["type"] == "prometheus"
    assert source["isDefault"] is True
    assert source["url"].startswith("http")


def test_the_dashboards_are_loaded_from_where_the_readme_mounts_them() -> None:
    config = yaml.safe_load((PROVISIONING / "dashboards" / "qwatch.yml").read_text())
    assert config["apiVersion"] == 1
    [provider] = config["providers"]
    assert provider["type"] == "file"
    path = provider["options"]["path"]
    readme = (GRAFANA / "README.md").read_text()
    assert f'-v "$PWD/grafana/dashboards:{path}"' in readme
    assert '-v "$PWD/grafana/provisioning:/etc/grafana/provisioning"' in readme
