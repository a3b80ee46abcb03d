"""The charts' geometry and words, on made-up points: a time nobody sampled is a gap, never a
zero, and a reader is told so."""

from __future__ import annotations

import math
import re

from qwatch.web import charts

STEP = 15.0
END = 36_000.0


def stretches(svg: str) -> list[str]:
    """The `d` of each line's path, split where the pen lifts."""
    paths = re.findall(r'<path class="line[^"]*" d="([^"]*)"', svg)
    return [part for path in paths for part in path.split("M") if part]


def test_a_time_nobody_sampled_is_a_gap_and_said() -> None:
    before = [(END - 3600 + STEP * n, 4.0) for n in range(10)]
    after = [(END - 600 + STEP * n, 8.0) for n in range(10)]
    line = charts.Line("queued", before + after, "accent")
    svg = str(charts.chart("emails: queued", [line], END, 3600, STEP))
    assert len(stretches(svg)) == 2
    assert "queued last 8 at 09:52, highest 8 at 09:50, lowest 4, 1 gap where nobody sampled" in svg


def test_a_line_unbroken_is_one_stretch_and_its_top_a_round_number() -> None:
    line = charts.Line("out", [(END - STEP * n, 7.0 + n) for n in range(40)][::-1], "success")
    svg = str(charts.chart("out", [line], END, 3600, STEP))
    assert len(stretches(svg)) == 1 and "gap" not in svg
    assert ">50</text>" in svg  # the highest, 46, under an axis topped at 50
    assert [charts.ceiling(v) for v in (0, 0.3, 1, 1.5, 7, 46, 120)] == [1, 0.5, 1, 2, 10, 50, 200]


def test_a_sparkline_lifts_its_pen_where_nobody_sampled() -> None:
    values = [1.0, 2.0, math.nan, math.nan, 3.0, 4.0]
    svg = str(charts.sparkline("emails queued", values))
    (path,) = re.findall(r'd="([^"]*)"', svg)
    assert path.count("M") == 2
    assert "last 4, highest 4, with gaps where nobody sampled" in svg
    assert "no samples" in str(charts.sparkline("quiet", [math.nan] * 240))


def test_words_and_names_are_escaped() -> None:
    name = '<img src=x onerror="alert(1)">'
    svg = str(charts.chart(name, [charts.Line(name, [(END, 1.0)], "accent")], END, 3600, STEP))
    spark = str(charts.sparkline(name, [1.0]))
    for drawn in (svg, spark):
        assert "<img" not in drawn and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in drawn
