"""The exporter tests' fixture that starts `qwatch serve` in-process, for the end-to-end test."""

from tests.exporter.conftest import start_exporter

__all__ = ["start_exporter"]
