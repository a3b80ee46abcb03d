"""`on_job_start` and `after_job_end` for arq's WorkerSettings: arq telling qwatch of every outcome.

arq keeps a job's outcome only as a result key that expires, in no index: a
reader can count what is kept, never what ended. With these hooks each
worker adds one entry per job to the stream `arq:__qwatch_completions__`
(format in `qwatch.wire.completions`), so qwatch counts finished, failed and
retried jobs and their run times exactly, per function::

    from qwatch.arq import exact

    class WorkerSettings:
        functions = [...]
        on_job_start = exact.on_job_start
        after_job_end = exact.after_job_end

`Exact(queue=..., on_job_start=..., after_job_end=...)` is for a worker with
another `queue_name`, or hooks of its own, which it calls after its own work
(their errors stay theirs, as arq would treat them).

**When.** `after_job_end` runs once arq has stored the outcome: a job whose
key is still there was put back to be tried again (retried); otherwise its
result says finished or failed, with its function, the exception's class
and arq's own start and end times. A job whose result is not kept
(`keep_result=0`) leaves no outcome to read and is not counted (said once
in the log); nor are the jobs arq fails before running them (too many
tries, expired, unknown function, aborted before it started), for which it
runs no hooks.

**Never harmful.** arq stops a worker whose hook raises, so every step here
catches whatever goes wrong and logs it once until writing works again.
The result is decoded by qwatch's never-unpickling reader, in a thread,
within its bounds. A job costs two round trips on the worker's own pool
after it ended, three when its result is read. The stream is trimmed as
for RQ (`QWATCH_STREAM_MAXLEN`, `QWATCH_STREAM_MAX_AGE`).

arq need not be imported here: the hooks use the pool arq puts in `ctx`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from qwatch import job_states
from qwatch.arq.layout import COMPLETIONS, DEFAULT_QUEUE, ArqLayout
from qwatch.arq.records import ArqRecord, job_record, result_record
from qwatch.pickle.decode import MAX_PICKLE_BYTES
from qwatch.wire import completions

log = logging.getLogger("qwatch.arq")
Hook = Callable[[dict[str, Any]], Awaitable[Any]]
STARTED = "qwatch_started_at"
"""Where `on_job_start` leaves the moment the job started, in the job's `ctx`."""
OUTCOMES = {True: job_states.FINISHED, False: job_states.FAILED}
WORKER = f"{socket.gethostname()}.{os.getpid()}"
"""This worker process, as the stream names it: arq gives its workers no names."""


class Exact:
    """The two hooks of exact mode for one worker's queue."""

    def __init__(
        self,
        *,
        queue: str = DEFAULT_QUEUE,
        on_job_start: Hook | None = None,
        after_job_end: Hook | None = None,
        maxlen: int | None = None,
        max_age: int | None = None,
    ) -> None:
        """`queue`: the worker's `queue_name`; the hooks: the worker's own, called after
        these; `maxlen`, `max_age`: the stream's bounds, else from the environment, else the
        defaults (`qwatch.wire.completions`)."""
        variable = completions.trim_setting
        self.queue = queue
        self.maxlen = maxlen or variable(completions.MAXLEN_VARIABLE, completions.DEFAULT_MAXLEN)
        self.max_age = max_age or variable(
            completions.MAX_AGE_VARIABLE, completions.DEFAULT_MAX_AGE
        )
        self._then_start, self._then_end = on_job_start, after_job_end
        self._failing = False
        self._unkept = False

    async def on_job_start(self, ctx: dict[str, Any]) -> None:
        ctx[STARTED] = time.time()
        if self._then_start is not None:
            await self._then_start(ctx)

    async def after_job_end(self, ctx: dict[str, Any]) -> None:
        try:
            await self._write(ctx)
        except Exception as exc:
            if not self._failing:
                log.warning("qwatch.arq.exact: cannot write to Redis: %s", exc)
                self._failing = True
        else:
            if self._failing:
                log.warning("qwatch.arq.exact: writing to Redis again")
                self._failing = False
        if self._then_end is not None:
            await self._then_end(ctx)

    async def _write(self, ctx: dict[str, Any]) -> None:
        pool, job_id = ctx["redis"], str(ctx["job_id"])
        ended = time.time()
        job_key, result_key = ArqLayout.job_key(job_id), ArqLayout.result_key(job_id)
        async with pool.pipeline(transaction=False) as pipe:
            pipe.strlen(job_key)
            pipe.strlen(result_key)
            job_size, result_size = await pipe.execute()
        if job_size:  # arq keeps the job for its next try
            record = await _read(pool, job_key, job_size, job_record)
            outcome = completions.RETRIED
        elif result_size:
            record = await _read(pool, result_key, result_size, result_record)
            success = record.success if record is not None else None
            outcome = OUTCOMES[success] if success is not None else ""
        else:
            record, outcome = None, ""
        if record is None or not outcome:
            self._say_unkept(job_id)
            return
        await self._add(pool, job_id, outcome, record, ctx, ended)

    async def _add(
        self,
        pool: Any,
        job_id: str,
        outcome: str,
        record: ArqRecord,
        ctx: dict[str, Any],
        ended: float,
    ) -> None:
        started = ctx.get(STARTED)
        fields = completions.entry(
            job_id,
            record.queue or self.queue,
            outcome,
            function=record.function,
            exception=record.exception_type,
            enqueued_at=record.enqueued_at,
            started_at=record.started_at or (started if isinstance(started, float) else None),
            ended_at=record.finished_at or ended,
            worker=WORKER,
        )
        async with pool.pipeline(transaction=False) as pipe:
            pipe.xadd(COMPLETIONS, fields, maxlen=self.maxlen, approximate=True)
            oldest = int((time.time() - self.max_age) * 1000)
            pipe.xtrim(COMPLETIONS, minid=f"{oldest}-0", approximate=True)
            await pipe.execute()

    def _say_unkept(self, job_id: str) -> None:
        """Said once: a job whose outcome could not be read is not counted."""
        if not self._unkept:
            log.warning(
                "qwatch.arq.exact: job %s left no result to read its outcome from"
                " (keep_result=0?): such jobs are not counted",
                job_id,
            )
            self._unkept = True


async def _read(
    pool: Any, key: str, size: int, parse: Callable[[bytes], ArqRecord]
) -> ArqRecord | None:
    """The job or result at `key`, decoded in a thread; None when too large or gone."""
    if size > MAX_PICKLE_BYTES:
        return None
    data = await pool.get(key)
    return await asyncio.to_thread(parse, data) if isinstance(data, bytes) else None


_DEFAULT = Exact()
on_job_start = _DEFAULT.on_job_start
after_job_end = _DEFAULT.after_job_end
"""The hooks for a worker on arq's default queue with no hooks of its own."""
