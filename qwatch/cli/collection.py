"""How often Python's cycle collector walks every object, in the commands that run for long.

`qwatch serve` and `qwatch top` keep a reading of every queue and worker and
what they remember of the last one: at 10,000 queues and workers some
300,000 objects, and each reading makes as many new ones that live until the
next. By default CPython walks all of them once those new ones pass a quarter
of the old: at nearly every reading, 80 ms at that size, a third of a scrape.
qwatch's records hold no cycles, so the young generations, which still run
as often as before, find what few there are; the full walk comes a hundred
times less often, once some seven million more objects have been made and
kept past the young generations, and frees any cycle they missed.
"""

from __future__ import annotations

import gc

OLDEST_EVERY = 1_000
"""Collections of the middle generation between two of the oldest (CPython's default: 10)."""


def collect_seldom() -> None:
    """Walk every object only after `OLDEST_EVERY` collections of the middle generation."""
    young, middle, _oldest = gc.get_threshold()
    gc.set_threshold(young, middle, OLDEST_EVERY)
