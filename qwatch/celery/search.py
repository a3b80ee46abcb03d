"""Celery's tasks whose id, name, arguments or error hold a text: the failures heard while
listening, then every waiting and reserved message of every queue, a page at a time.

Celery keeps no registry of ended tasks, so a search sees what `qwatch failed`
and `qwatch jobs` see: failures heard since qwatch listened, and the messages
still in the broker. It goes on from where a search of RQ's jobs stopped, with
what is left of the request's budget of entries and seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import redis

from qwatch import job_states
from qwatch.celery.events import CeleryFailure
from qwatch.celery.jobs import read_page
from qwatch.celery.layout import CeleryLayout
from qwatch.limits import PAGE_LIMIT
from qwatch.model import (
    CELERY,
    CeleryMessage,
    PageRequest,
    SearchHit,
    SearchProgress,
    SearchRequest,
)

STATES = (job_states.QUEUED, job_states.RESERVED)
"""Where kombu keeps a task's message: waiting in a priority list, or taken by a worker."""


def search(
    client: redis.Redis,
    layout: CeleryLayout,
    queues: Sequence[str],
    failures: Iterable[CeleryFailure],
    before: SearchProgress,
    seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[SearchProgress]:
    """The search `before` left, carried on for at most `seconds`; its hits and counts go on
    from its own."""
    request = before.request
    started = clock()
    hits = list(before.hits)
    wanted = [state for state in STATES if not request.states or state in request.states]
    if not request.states or job_states.FAILED in request.states:
        hits += [_failure_hit(failure) for failure in failures if _failed(request, failure)]
    scanned, total = before.scanned, before.total
    for queue in queues:
        for state in wanted:
            offset: int | None = 0
            while offset is not None:
                stopped = request.stop_reason(scanned, len(hits), clock() - started >= seconds)
                if stopped:
                    shown = tuple(hits[: request.limit])
                    yield SearchProgress(request, shown, scanned, total, False, stopped)
                    return
                page = read_page(client, layout, PageRequest(queue, state, offset, PAGE_LIMIT))
                total += page.total if offset == 0 else 0
                scanned += len(page.jobs)
                hits += [_message_hit(m, state) for m in page.jobs if _holds(request, m)]
                offset = page.next_offset
                yield SearchProgress(request, tuple(hits[: request.limit]), scanned, total, False)
    yield SearchProgress(request, tuple(hits[: request.limit]), scanned, total, True)


def _failed(request: SearchRequest, failure: CeleryFailure) -> bool:
    return request.matches(
        failure.id,
        failure.name,
        failure.args,
        failure.kwargs,
        failure.exception,
        failure.message,
        failure.traceback,
    )


def _holds(request: SearchRequest, message: CeleryMessage) -> bool:
    return request.matches(message.id, message.function, message.arguments)


def _failure_hit(failure: CeleryFailure) -> SearchHit:
    return SearchHit(
        id=failure.id,
        queue=failure.queue or "-",
        state=job_states.FAILED,
        function=failure.name or "?",
        at=failure.failed_at,
        worker=failure.worker,
        detail=failure.message or failure.exception,
        system=CELERY,
    )


def _message_hit(message: CeleryMessage, state: str) -> SearchHit:
    return SearchHit(
        id=message.id or "?",
        queue=message.waiting.queue,
        state=state if message.eta is None else job_states.SCHEDULED,
        function=message.function,
        at=message.waiting.reserved_at,
        worker=None,
        detail=message.arguments,
        system=CELERY,
    )
