"""Readings written out: the text format and OpenMetrics fast, or prometheus_client families.

prometheus_client builds a sample object per value and then validates and
escapes every label name of every sample: some 2 µs a sample in the text
format and ten times that in OpenMetrics, which at a thousand queues (10,000
samples) costs more than the whole Redis read. qwatch's metric and label
names are constants known to be valid, so both formats are written straight
from the rows, escaping label values only, and each line is remembered
with its value from one scrape to the next (a spread series' row as one
block: a queue's nine states). The output is the library's, byte for
byte: a test compares the two on the same reading. The two formats differ in
a few places only: OpenMetrics names a counter family without its `_total`
(its samples keep it), escapes quotes in help texts, and ends with `# EOF`.
qwatch writes no `_created` samples, units or exemplars, in either format.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from qwatch.exporter.metrics import Reading, Row, Series
from qwatch.exporter.totals import Histogram

_OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def written_by_qwatch(content_type: str) -> bool | None:
    """For the content type prometheus_client chose: False to write the text format,
    True for OpenMetrics 1.0, None to leave to the library (another version, or
    names escaped with dots, which rewrites every metric name).
    """
    if "escaping=dots" in content_type:
        return None
    if content_type.startswith("text/plain"):
        return False
    return True if content_type.startswith(_OPENMETRICS) else None


class TextFormat:
    """Writes readings as prometheus_client's `generate_latest` functions do.

    What was written is remembered between scrapes, since queue names rarely
    change and most values do not move from one scrape to the next: a series
    whose rows are all as they were costs one comparison, and in one that
    changed, an unchanged line costs one lookup and a changed one its number.
    A histogram's lines are remembered up to their values (its rows hold the
    totals' own histograms, which change in place). The memory holds the
    lines of the last scrape only: when it finds more than that scrape used,
    it is emptied.
    """

    def __init__(self) -> None:
        self._lines: dict[str, dict[tuple[str, ...], Any]] = {}
        """Per metric name, each row's `(value, line, prefix)` (a tuple of prefixes for a
        histogram)."""
        self._series: dict[str, tuple[list[Row], bytes]] = {}
        """Per metric name but a histogram's, the last scrape's rows and their lines."""

    @property
    def remembered(self) -> int:
        """How many series' lines are remembered."""
        return sum(map(len, self._lines.values()))

    def render(self, reading: Reading, openmetrics: bool = False, ends: bool = True) -> bytes:
        """The reading as text; OpenMetrics closes with `# EOF` unless more text `ends` it."""
        numbers: dict[float, str] = {}
        lines: list[bytes] = []
        written: dict[str, tuple[list[Row], bytes]] = {}
        used = 0
        for series, rows in reading:
            lines.append(_header(series, openmetrics).encode())
            name = series.name + ("_total" if series.kind == "counter" else "")
            used += len(rows)
            last = self._series.get(name)
            if last is not None and last[0] == rows:
                written[name] = last
                lines.append(last[1])
                continue
            known = self._lines.get(name)
            if known is None:
                known = self._lines[name] = {}
            if series.kind == "histogram":
                _write_histograms(lines, name, series, rows, known, numbers)
                continue
            own: list[bytes] = []
            _write_rows(own, name, series, rows, known, numbers)
            written[name] = (rows, b"".join(own))
            lines.append(written[name][1])
        if openmetrics and ends:
            lines.append(b"# EOF\n")
        self._series = written
        if self.remembered > used:
            self._lines, self._series = {}, {}
        return b"".join(lines)


def _write_rows(
    lines: list[bytes],
    name: str,
    series: Series,
    rows: list[Row],
    known: dict[tuple[str, ...], Any],
    numbers: dict[float, str],
) -> None:
    """Each row's line; for a spread series each row's block, a line per value of the
    spread label that the row has a value for."""
    for row, value in rows:
        last = known.get(row)
        if last is not None and last[0] == value:
            lines.append(last[1])
            continue
        assert not isinstance(value, Histogram)
        prefixes = last[2] if last is not None else _prefixes(name, series, row)
        if isinstance(value, tuple):
            text = "".join(
                [
                    f"{prefix}{_text(numbers, one)}\n"
                    for prefix, one in zip(prefixes, value)
                    if one is not None
                ]
            ).encode()
        else:  # one line: most rows
            text = f"{prefixes[0]}{_text(numbers, value)}\n".encode()
        known[row] = (value, text, prefixes)
        lines.append(text)


def _prefixes(name: str, series: Series, row: tuple[str, ...]) -> tuple[str, ...]:
    """Each line's text up to its value: one, or one per value of the spread label."""
    lines = series.spread_labels(row) if series.spread is not None else [row]
    return tuple(_prefix(name, _pairs(series.labels, line)) for line in lines)


def _text(numbers: dict[float, str], value: float) -> str:
    """The value as written, each distinct value written once per scrape."""
    text = numbers.get(value)
    if text is None:
        text = numbers[value] = _number(value)
    return text


def _write_histograms(
    lines: list[bytes],
    name: str,
    series: Series,
    rows: list[Row],
    known: dict[tuple[str, ...], Any],
    numbers: dict[float, str],
) -> None:
    """Each histogram's bucket, count and sum lines."""
    for row, value in rows:
        assert isinstance(value, Histogram)
        prefix = known.get(row)
        if not isinstance(prefix, tuple) or len(prefix) != len(value.bounds) + 3:
            prefix = known[row] = _histogram_prefixes(name, _pairs(series.labels, row), value)
        counts = value.cumulative()
        for start, count in zip(prefix, [*counts, counts[-1], value.total]):
            lines.append(f"{start}{_text(numbers, count)}\n".encode())


def _header(series: Series, openmetrics: bool) -> str:
    if openmetrics:
        text = series.help.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
        return f"# HELP {series.name} {text}\n# TYPE {series.name} {series.kind}\n"
    name = series.name + ("_total" if series.kind == "counter" else "")
    text = series.help.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {text}\n# TYPE {name} {series.kind}\n"


def _prefix(name: str, pairs: str) -> str:
    return f"{name}{{{pairs}}} " if pairs else f"{name} "


def _pairs(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    return ",".join(f'{name}="{_escape(value)}"' for name, value in zip(names, values))


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _histogram_prefixes(name: str, pairs: str, histogram: Histogram) -> tuple[str, ...]:
    """Each bucket's line up to its value, then the count's and the sum's.

    `le` sorts before every label qwatch gives a histogram, so it comes first.
    """
    labels = f",{pairs}" if pairs else ""
    bounds = [*map(_number, histogram.bounds), "+Inf"]
    return (
        *(f'{name}_bucket{{le="{bound}"{labels}}} ' for bound in bounds),
        _prefix(name + "_count", pairs),
        _prefix(name + "_sum", pairs),
    )


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
            if not isinstance(value, tuple):
                family.add_metric(list(row), float(value))  # type: ignore[arg-type]
                continue
            for line, one in zip(series.spread_labels(row), value):
                if one is not None:
                    family.add_metric(list(line), float(one))
        yield family


def _number(value: float) -> str:
    """As prometheus_client's `floatToGoString` writes a value; below a million (most
    values) that is Python's repr, taken the short way."""
    if -1e6 < value < 1e6:
        return repr(float(value))
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text
