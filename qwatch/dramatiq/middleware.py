"""`broker.add_middleware(qwatch.dramatiq.Middleware())`: Dramatiq telling qwatch of every outcome.

Redis alone shows Dramatiq's backlog and dead letters, never what finished:
an acked message leaves no trace. With this middleware each worker adds one
entry per message to the stream `<namespace>:__qwatch_completions__`
(format in `qwatch.wire.completions`), so qwatch counts finished, failed and
retried messages and their run times exactly, per actor.

**When.** The entry is written right after the broker acks or rejects the
message (`after_ack`, `after_nack`): only then is its outcome settled, since
Dramatiq runs the `after_*` hooks of later middleware first, before
`Retries` has decided. A rejected message was dead-lettered: failed. An
acked one finished, or was retried when its actor raised. A message skipped
without failing (`SkipMessage`) ran nothing and is not counted, nor is a
delayed message handed on to its queue at its eta. A worker killed between
the ack and the entry loses that one entry.

**Which workers.** At boot the worker records its broker id in
`<namespace>:__qwatch_workers__`, and removes it at shutdown (a killed
worker's stays until the next worker boots and prunes the ids whose
heartbeats Dramatiq has dropped); qwatch counts a queue exactly when every
live broker it saw holding that queue's messages has its id there.

**Never harmful.** Every hook catches whatever goes wrong and logs it once
until writing works again: qwatch never changes a message's outcome or
stops a worker. Each message costs one round trip to the broker's Redis, on
the broker's own client, after its ack. The stream is trimmed as for RQ
(`QWATCH_STREAM_MAXLEN`, `QWATCH_STREAM_MAX_AGE`). A broker other than
Dramatiq's `RedisBroker` has no Redis to write to: the middleware then does
nothing and says so once.

This is the only module of qwatch that imports Dramatiq.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import dramatiq

from qwatch import job_states
from qwatch.dramatiq.layout import DramatiqLayout
from qwatch.wire import completions

log = logging.getLogger("qwatch.dramatiq")
RUNNING_LIMIT = 10_000
"""Messages remembered between their start and their ack; past it, the oldest are dropped."""


@dataclass(slots=True)
class _Run:
    """A message this worker started: when, and the exception its actor raised, if any."""

    message: Any
    started_at: float
    exception: str | None = None


class Middleware(dramatiq.Middleware):
    """Writes each message's outcome and run time to qwatch's completions stream."""

    def __init__(self, *, maxlen: int | None = None, max_age: int | None = None) -> None:
        """`maxlen`, `max_age`: the stream's bounds, else from the environment, else the
        defaults (`qwatch.wire.completions`)."""
        variable = completions.trim_setting
        self.maxlen = maxlen or variable(completions.MAXLEN_VARIABLE, completions.DEFAULT_MAXLEN)
        self.max_age = max_age or variable(
            completions.MAX_AGE_VARIABLE, completions.DEFAULT_MAX_AGE
        )
        self._running: dict[int, _Run] = {}
        self._lock = threading.Lock()
        self._failing = False

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        self._guarded(_mark, broker)

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        self._guarded(_unmark, broker)

    def before_process_message(self, broker: Any, message: Any) -> None:
        with self._lock:
            if len(self._running) >= RUNNING_LIMIT:
                del self._running[next(iter(self._running))]
            self._running[id(message)] = _Run(message, time.time())

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        run = self._run(message, remove=False)
        if run is not None and exception is not None:
            run.exception = exception_name(exception)

    def after_skip_message(self, broker: Any, message: Any) -> None:
        if not message.failed:
            self._run(message, remove=True)

    def after_ack(self, broker: Any, message: Any) -> None:
        run = self._run(message, remove=True)
        if run is not None:
            outcome = completions.RETRIED if run.exception else job_states.FINISHED
            self._guarded(self._write, broker, message, outcome, run)

    def after_nack(self, broker: Any, message: Any) -> None:
        run = self._run(message, remove=True)
        self._guarded(self._write, broker, message, job_states.FAILED, run)

    def _run(self, message: Any, *, remove: bool) -> _Run | None:
        with self._lock:
            run = self._running.pop(id(message), None) if remove else self._running.get(id(message))
        return run if run is not None and run.message is message else None

    def _write(self, broker: Any, message: Any, outcome: str, run: _Run | None) -> None:
        key = DramatiqLayout(broker.namespace).completions_key
        fields = completions.entry(
            str(message.message_id),
            str(message.queue_name),
            outcome,
            function=str(message.actor_name),
            exception=run.exception if run is not None else None,
            enqueued_at=_seconds(message.message_timestamp),
            started_at=run.started_at if run is not None else None,
            ended_at=time.time(),
            worker=str(broker.broker_id),
        )
        with broker.client.pipeline(transaction=False) as pipe:
            pipe.xadd(key, fields, maxlen=self.maxlen, approximate=True)
            oldest = int((time.time() - self.max_age) * 1000)
            pipe.xtrim(key, minid=f"{oldest}-0", approximate=True)
            pipe.execute()

    def _guarded(self, action: Any, broker: Any, *args: Any) -> None:
        """`action`, whose failure is logged once until one works again, never raised."""
        if not hasattr(broker, "client") or not hasattr(broker, "broker_id"):
            if not self._failing:
                log.warning("qwatch.dramatiq.Middleware: %s has no Redis", type(broker).__name__)
                self._failing = True
            return
        try:
            action(broker, *args)
        except Exception as exc:
            if not self._failing:
                log.warning("qwatch.dramatiq.Middleware: cannot write to Redis: %s", exc)
                self._failing = True
            return
        if self._failing:
            log.warning("qwatch.dramatiq.Middleware: writing to Redis again")
            self._failing = False


def _mark(broker: Any) -> None:
    """Say this worker writes the stream, and forget the ids of brokers Dramatiq dropped."""
    layout = DramatiqLayout(broker.namespace)
    client = broker.client
    known = client.hkeys(layout.marks_key)
    with client.pipeline(transaction=False) as pipe:
        for broker_id in known:
            pipe.zscore(layout.heartbeats_key, broker_id)
        scores = pipe.execute()
    gone = [broker_id for broker_id, score in zip(known, scores) if score is None]
    with client.pipeline(transaction=False) as pipe:
        if gone:
            pipe.hdel(layout.marks_key, *gone)
        pipe.hset(layout.marks_key, str(broker.broker_id), completions.FORMAT)
        pipe.execute()


def _unmark(broker: Any) -> None:
    broker.client.hdel(DramatiqLayout(broker.namespace).marks_key, str(broker.broker_id))


def exception_name(exception: BaseException) -> str:
    """The exception's name as Python's traceback prints it: `builtins` unqualified."""
    kind = type(exception)
    module = kind.__module__
    return (
        kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
    )


def _seconds(millis: Any) -> float | None:
    return millis / 1000 if isinstance(millis, int) else None
