"""Readings written out: the Prometheus text format fast, or prometheus_client families.

prometheus_client builds a sample object per value and then validates and
escapes every label name of every sample: some 2 µs a sample, which at a
thousand queues (10,000 samples) costs as much as the whole Redis read.
qwatch's metric and label names are constants known to be valid, so the text
format is written straight from the rows, escaping label values only, and
each line's labels are remembered from one scrape to the next. The
output is the library's, byte for byte: a test compares the two on the same
reading. OpenMetrics, when a scraper asks for it, is written by the library
from `families`.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from qwatch.exporter.metrics import Reading, Series
from qwatch.exporter.totals import Histogram

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class TextFormat:
    """Writes readings in the text format, as prometheus_client's `generate_latest` does.

    Each series' line up to its value (`name{labels} `) is remembered between
    scrapes, since queue names rarely change: a line then costs one lookup.
    The memory is dropped when it grows past twice what one scrape writes.
    """

    def __init__(self) -> None:
        self._prefixes: dict[tuple[str, tuple[str, ...]], str] = {}

    def render(self, reading: Reading) -> bytes:
        prefixes = self._prefixes
        numbers: dict[float, str] = {}
        lines: list[str] = []
        for series, rows in reading:
            name = series.name + ("_total" if series.kind == "counter" else "")
            lines.append(f"# HELP {name} {_help(series)}\n# TYPE {name} {series.kind}\n")
            for row, value in rows:
                if isinstance(value, Histogram):
                    lines += _histogram_lines(name, _pairs(series.labels, row), value)
                    continue
                prefix = prefixes.get((name, row))
                if prefix is None:
                    prefix = prefixes[(name, row)] = f"{name}{{{_pairs(series.labels, row)}}} "
                text = numbers.get(value)
                if text is None:
                    text = numbers[value] = _number(value)
                lines.append(f"{prefix}{text}\n")
        if len(prefixes) > 2 * len(lines):
            self._prefixes = {}
        return "".join(lines).encode()


def _pairs(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    return ",".join(f'{name}="{_escape(value)}"' for name, value in zip(names, values))


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _histogram_lines(name: str, pairs: str, histogram: Histogram) -> list[str]:
    counts = histogram.cumulative()
    bounds = [*map(_number, histogram.bounds), "+Inf"]
    lines = [
        f'{name}_bucket{{le="{bound}",{pairs}}} {_number(count)}\n'
        for bound, count in zip(bounds, counts)
    ]
    lines.append(f"{name}_count{{{pairs}}} {_number(counts[-1])}\n")
    lines.append(f"{name}_sum{{{pairs}}} {_number(histogram.total)}\n")
    return lines


def families(reading: Reading) -> Iterator[Metric]:
    """The reading as prometheus_client metric families."""
    for series, rows in reading:
        labels = list(series.labels)
        if series.kind == "histogram":
            histograms = HistogramMetricFamily(series.name, series.help, labels=labels)
            for row, value in rows:
                assert isinstance(value, Histogram)
                bounds = [_number(bound) for bound in value.bounds] + ["+Inf"]
                counts = [float(count) for count in value.cumulative()]
                histograms.add_metric(list(row), list(zip(bounds, counts)), value.total)
            yield histograms
            continue
        kind = CounterMetricFamily if series.kind == "counter" else GaugeMetricFamily
        family = kind(series.name, series.help, labels=labels)
        for row, value in rows:
            family.add_metric(list(row), float(value))  # type: ignore[arg-type]
        yield family


def _number(value: float) -> str:
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text


def _help(series: Series) -> str:
    return series.help.replace("\\", r"\\").replace("\n", r"\n")
