"""Grafana dashboards and Prometheus rules for qwatch's metrics, generated from code.

Run `python -m grafana.generate` after changing `grafana/thresholds.py` or the
panels; tests check that the committed files are what it writes.
"""
