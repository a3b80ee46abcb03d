"""A fixed number of time slots of a few measures, the oldest overwritten: one tier of history.

A ring is one queue's or one worker's measures over one span (the last hour,
the last day) at one step. Samples within a slot are summed; a closed slot
keeps one float32 a measure, the mean of its samples. Slots no sample
reached are gaps, never zeros: qwatch did not look then. `coarsened` halves
the points and doubles the step over the same span, which is how a history
keeps its memory bound as a fleet grows.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

_GAP = math.nan


class Ring:
    """`size` slots of `step` seconds, each holding `width` values, one a measure: a level
    (jobs queued) or a rate the recorder worked out over the time its sample covers."""

    __slots__ = ("_count", "_sums", "size", "slot", "step", "values", "width")

    def __init__(self, width: int, step: float, size: int) -> None:
        self.width = width
        self.step = step
        self.size = size
        self.values = array("f", [_GAP]) * (size * self.width)
        self.slot: int | None = None
        """The open slot: the one the last sample fell in."""
        self._sums = [0.0] * self.width
        self._count = 0

    def add(
        self, at: float, sample: Sequence[float], count: int = 1
    ) -> tuple[float, list[float], int] | None:
        """`count` samples summing to `sample`, at `at` (seconds since the epoch). Returns the
        slot this closed, as (its start, its sums, its samples): what a coarser tier takes.
        A sample older than the open slot is dropped: a clock stepped back would otherwise
        rewrite the past."""
        slot = int(at // self.step)
        if slot == self.slot:
            self._sums = [a + b for a, b in zip(self._sums, sample)]
            self._count += count
            return None
        if self.slot is not None and slot < self.slot:
            return None
        closed = self._close() if self.slot is not None else None
        if self.slot is not None:
            for gap in range(self.slot + 1, min(slot, self.slot + 1 + self.size)):
                self._write(gap, [_GAP] * self.width)
        self.slot = slot
        self._sums = list(sample)
        self._count = count
        return closed

    def points(self, measure: int, now: float | None = None) -> list[tuple[float, float]]:
        """The measure's slots that hold a value, oldest first, each as (slot start, value);
        the open slot too. With `now`, the slots of the span ending now alone."""
        if self.slot is None:
            return []
        last = self.slot if now is None else max(self.slot, int(now // self.step))
        points = []
        width = self.width
        for slot in range(max(self.slot - self.size + 1, last - self.size + 1), self.slot):
            value = self.values[(slot % self.size) * width + measure]
            if not math.isnan(value):
                points.append((slot * self.step, value))
        if self._count and self.slot > last - self.size:
            value = self._closed_value(measure)
            if not math.isnan(value):
                points.append((self.slot * self.step, value))
        return points

    def column(self, measure: int, now: float) -> list[float]:
        """The measure's value in each slot of the span ending at the slot `now` falls in,
        oldest first, NaN where no sample came: a whole fleet's sparklines, sliced out in C
        rather than looped over slot by slot as `points` does."""
        last = int(now // self.step)
        if self.slot is None or last - self.slot >= self.size:
            return [_GAP] * self.size
        last = max(last, self.slot)
        kept = self.values[measure :: self.width]
        start = (last + 1) % self.size
        values = (kept[start:] + kept[:start]).tolist()
        after = last - self.slot  # slots past the open one hold an older lap of the ring
        values[self.size - 1 - after :] = [_GAP] * (after + 1)
        if self._count:
            values[self.size - 1 - after] = self._closed_value(measure)
        return values

    def last_slot_at(self) -> float | None:
        """When the open slot began: how recent this ring's last sample is."""
        return None if self.slot is None else self.slot * self.step

    def coarsened(self) -> Ring:
        """The same span at twice the step in half the slots: each new slot the mean of
        the two it covers (of those that hold a value), the open one included."""
        coarse = Ring(self.width, self.step * 2, max(1, self.size // 2))
        if self.slot is None:
            return coarse
        width = self.width
        pairs: dict[int, list[list[float]]] = {}
        for slot in range(self.slot - self.size + 1, self.slot + 1):
            row = self._row(slot)
            if not math.isnan(row[0]):
                pairs.setdefault(slot // 2, []).append(row)
        coarse.slot = self.slot // 2
        means = {
            slot: [sum(row[i] for row in rows) / len(rows) for i in range(width)]
            for slot, rows in pairs.items()
        }
        for slot, row in means.items():
            if slot != coarse.slot:
                coarse._write(slot, row)
        coarse._restart_open(means.get(coarse.slot))
        return coarse

    def nbytes(self) -> int:
        return self.values.itemsize * len(self.values)

    def _row(self, slot: int) -> list[float]:
        """A slot's values: the open one's as they stand, a closed one's as kept."""
        if slot == self.slot and self._count:
            return [self._closed_value(i) for i in range(self.width)]
        width = self.width
        start = (slot % self.size) * width
        return list(self.values[start : start + width])

    def _restart_open(self, row: list[float] | None) -> None:
        """The open slot, holding one sample worth `row` (in closed-slot units), if any."""
        self._sums = [0.0] * self.width
        self._count = 0
        if row is None:
            return
        self._count = 1
        self._sums = list(row)

    def _closed_value(self, measure: int) -> float:
        return self._sums[measure] / self._count

    def _close(self) -> tuple[float, list[float], int] | None:
        """Keep the open slot's values; its sums and samples, if it had any."""
        assert self.slot is not None
        if not self._count:
            self._write(self.slot, [_GAP] * self.width)
            return None
        count = self._count
        row = [total / count for total in self._sums]
        self._write(self.slot, row)
        return self.slot * self.step, self._sums, count

    def _write(self, slot: int, row: Sequence[float]) -> None:
        width = self.width
        start = (slot % self.size) * width
        self.values[start : start + width] = array("f", row)
