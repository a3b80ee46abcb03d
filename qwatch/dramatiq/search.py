"""Dramatiq's messages whose id, actor, arguments or kept traceback hold a text: its dead letters,
then those fetched, waiting and delayed, of every queue, a batch at a time.

It goes on from where the search before it stopped, with what is left of
the request's budget of entries and seconds; each batch is three round
trips (`pages.read_window`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import redis

from qwatch import job_states
from qwatch.dramatiq.broker import Discovered
from qwatch.dramatiq.layout import DramatiqLayout
from qwatch.dramatiq.messages import DramatiqMessage
from qwatch.dramatiq.pages import Read, read_window
from qwatch.errors import exception_line
from qwatch.model import DRAMATIQ, SearchHit, SearchProgress, carried_on

ORDER = (job_states.FAILED, job_states.STARTED, job_states.QUEUED, job_states.SCHEDULED)
"""The states in the order they are searched: dead letters first, the messages people look for."""


def search(
    client: redis.Redis,
    layout: DramatiqLayout,
    found: Discovered,
    before: SearchProgress,
    seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[SearchProgress]:
    """The search `before` left, carried on for at most `seconds`."""
    request = before.request
    places = request.places(found.queues, ORDER)

    def read(queue: str, state: str, offset: int, count: int) -> tuple[int, list[Read]]:
        return read_window(client, layout, found, queue, state, offset, count)

    def hit(queue: str, state: str, entry: Read) -> SearchHit | None:
        _id, at, holder, message = entry
        if message is None or not _holds(request.matches, message):
            return None
        return _hit(queue, state, message, at / 1000 if at else None, holder)

    return carried_on(before, places, read, hit, seconds, clock)


def _holds(matches: Callable[..., bool], message: DramatiqMessage) -> bool:
    return matches(message.id, message.actor, message.arguments, message.traceback)


def _hit(
    queue: str, state: str, message: DramatiqMessage, died_at: float | None, holder: str | None
) -> SearchHit:
    return SearchHit(
        id=message.id or "?",
        queue=queue,
        state=state,
        function=message.actor,
        at=died_at or message.enqueued_at,
        worker=holder,
        detail=exception_line(message.traceback) or message.arguments,
        system=DRAMATIQ,
    )
