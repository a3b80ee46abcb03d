"""A ring's slots: means, gaps, the span it keeps, and coarsening."""

from __future__ import annotations

import math

from qwatch.history.rings import Ring


def test_a_slot_keeps_the_mean_of_its_samples() -> None:
    ring = Ring(2, step=60, size=10)
    ring.add(0, (10, 6))
    ring.add(30, (20, 4))  # same slot: backlog 10 then 20, 6 and 4 jobs a minute
    ring.add(60, (0, 0))
    assert ring.points(0) == [(0, 15.0), (60, 0.0)]
    assert ring.points(1) == [(0, 5.0), (60, 0.0)]


def test_unsampled_slots_are_gaps_not_zeros() -> None:
    ring = Ring(1, step=10, size=100)
    ring.add(0, (5,))
    ring.add(50, (7,))  # nobody looked from 10 to 50
    assert ring.points(0) == [(0, 5.0), (50, 7.0)]


def test_a_measure_not_known_is_left_out_of_its_points_alone() -> None:
    ring = Ring(2, step=10, size=10)
    ring.add(0, (5, math.nan))
    ring.add(10, (6, 12))
    assert ring.points(0) == [(0, 5.0), (10, 6.0)]
    assert ring.points(1) == [(10, 12.0)]


def test_only_the_span_is_kept_and_a_late_sample_is_dropped() -> None:
    ring = Ring(1, step=10, size=3)
    for n in range(6):
        ring.add(n * 10, (n,))
    ring.add(5, (99,))  # a clock stepped back: the past is not rewritten
    assert ring.points(0) == [(30, 3.0), (40, 4.0), (50, 5.0)]
    assert ring.points(0, now=70) == [(50, 5.0)]


def test_coarsening_halves_the_points_over_the_same_span() -> None:
    ring = Ring(2, step=10, size=8)
    for n in range(8):
        ring.add(n * 10, (n, 6))  # one job ended every 10 s: 6 a minute
    coarse = ring.coarsened()
    assert (coarse.step, coarse.size) == (20, 4)
    assert coarse.points(0) == [(0, 0.5), (20, 2.5), (40, 4.5), (60, 6.5)]
    assert [value for _at, value in coarse.points(1)] == [6.0, 6.0, 6.0, 6.0]
    coarse.add(75, (7, 12))  # the open slot goes on where it stood: one sample worth 6
    assert coarse.points(1)[-1] == (60, 9.0)


def shown(values: list[float]) -> list[float | None]:
    return [None if math.isnan(value) else value for value in values]


def test_a_column_is_the_span_ending_now_with_gaps_where_nobody_sampled() -> None:
    ring = Ring(2, step=10, size=4)
    for at, queued in ((0, 1), (10, 2), (20, 3), (40, 5), (50, 6), (55, 8)):
        ring.add(at, (queued, 0))
    assert shown(ring.column(0, now=55)) == [3.0, None, 5.0, 7.0]  # 30 unsampled; 50 open
    assert shown(ring.column(0, now=75)) == [5.0, 7.0, None, None]  # nobody sampled since
    assert shown(ring.column(0, now=500)) == [None] * 4
