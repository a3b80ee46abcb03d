"""A measure's hour as one line: where nobody sampled is a space, and a value above zero never
looks like nothing."""

from __future__ import annotations

import math

from qwatch.text.history_line import blocks, folded, labelled

NAN = math.nan


def test_a_slot_nobody_sampled_is_a_gap_not_the_lowest_block() -> None:
    assert blocks([1.0, NAN, 0.0, 8.0], 4) == "▂ ▁█"


def test_one_failure_among_hundreds_still_shows() -> None:
    assert blocks([0.0, 1.0, 700.0], 3) == "▁▂█"


def test_the_newest_slots_fill_the_cells_each_the_mean_of_those_sampled() -> None:
    hour = [NAN] * 200 + [2.0] * 20 + [4.0, NAN] * 10
    assert folded(hour, 12)[-2:] == [2.0, 4.0]
    assert math.isnan(folded(hour, 12)[0])
    assert len(blocks(hour, 7)) == 7  # right-aligned in its room, fewer cells or not


def test_a_label_keeps_its_last_value_however_narrow() -> None:
    line = labelled("out/min", [3.0, 12_500.0], 20)
    assert line.startswith("out/min ") and line.endswith(" 12k") and len(line) == 20
    assert labelled("out/min", [NAN, NAN], 4) == "out/min -"
