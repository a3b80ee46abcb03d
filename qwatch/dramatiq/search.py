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
from qwatch.dramatiq.pages import read_window
from qwatch.errors import exception_line
from qwatch.limits import SEARCH_BATCH
from qwatch.model import DRAMATIQ, SearchHit, SearchProgress

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
    started = clock()
    hits = list(before.hits)
    scanned, total = before.scanned, before.total
    queues = [q for q in found.queues if not request.queues or q in request.queues]
    states = [s for s in ORDER if not request.states or s in request.states]
    for queue in queues:
        for state in states:
            offset = 0
            while True:
                stopped = request.stop_reason(scanned, len(hits), clock() - started >= seconds)
                if stopped:
                    yield SearchProgress(request, tuple(hits), scanned, total, False, stopped)
                    return
                room = min(SEARCH_BATCH, request.budget - scanned)
                count, read = read_window(client, layout, found, queue, state, offset, room)
                total += count if offset == 0 else 0
                scanned += len(read)
                hits += [
                    _hit(queue, state, message, at / 1000 if at else None, holder)
                    for _id, at, holder, message in read
                    if message is not None and _holds(request.matches, message)
                ][: request.limit - len(hits)]
                offset += len(read)
                yield SearchProgress(request, tuple(hits), scanned, total, False)
                if not read or offset >= count:
                    break
    yield SearchProgress(request, tuple(hits), scanned, total, True)


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
