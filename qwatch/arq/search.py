"""arq's jobs whose id, function, arguments, result or exception hold a text: the failed
results read, then those running, waiting, deferred and finished, of every queue, a batch at
a time.

It goes on from where the search before it stopped, with what is left of
the request's budget of entries and seconds; each batch is three round
trips (`pages.read_window`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import redis

from qwatch import job_states
from qwatch.arq.layout import ArqLayout
from qwatch.arq.pages import Read, read_window
from qwatch.arq.results import ArqResults
from qwatch.model import ARQ, SearchHit, SearchProgress, carried_on

ORDER = (
    job_states.FAILED,
    job_states.STARTED,
    job_states.QUEUED,
    job_states.SCHEDULED,
    job_states.FINISHED,
)
"""The states in the order they are searched: failures first, the jobs people look for."""


def search(
    client: redis.Redis,
    layout: ArqLayout,
    results: ArqResults,
    queues: Sequence[str],
    before: SearchProgress,
    seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[SearchProgress]:
    """The search `before` left, carried on for at most `seconds`."""
    request = before.request
    places = request.places(queues, ORDER)

    def read(queue: str, state: str, offset: int, count: int) -> tuple[int, list[Read]]:
        return read_window(client, layout, results, queue, state, offset, count)

    def hit(queue: str, state: str, entry: Read) -> SearchHit | None:
        job_id, _score, record = entry
        if record is None or not request.matches(
            job_id, record.function, record.arguments, record.result, record.exception
        ):
            return None
        return SearchHit(
            id=job_id,
            queue=queue,
            state=state,
            function=record.function,
            at=record.finished_at or record.started_at or record.enqueued_at,
            worker=None,
            detail=record.exception or record.result or record.arguments,
            system=ARQ,
        )

    return carried_on(before, places, read, hit, seconds, clock)
