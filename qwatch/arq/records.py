"""arq's jobs and results as display data, read from their pickles without unpickling them.

arq pickles a job as `{t: tries, f: function, a: args, k: kwargs, et: enqueued
ms}` (`jobs.serialize_job`) and its outcome as the same with `s` (success),
`r` (the result, or the exception raised), `st` and `ft` (started and finished
ms), `q` (the queue) and `id` (`jobs.serialize_result`). A deployment may
configure another serializer: its records show as undecodable, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from qwatch.limits import ARGUMENTS_LIMIT, EXCEPTION_LIMIT, FUNCTION_LIMIT, NAME_LIMIT
from qwatch.pickle.decode import DecodedRecord, decode_record
from qwatch.text.formatting import clip
from qwatch.wire.timestamps import LATEST

UNREADABLE = "<unreadable arq job>"


@dataclass(frozen=True, slots=True)
class ArqRecord:
    """A job or its result, each field checked; `problem` for a placeholder."""

    function: str
    arguments: str
    tries: int | None
    enqueued_at: float | None
    problem: str | None = None
    success: bool | None = None
    """A result's outcome; None for a job not ended."""
    result: str | None = None
    exception: str | None = None
    exception_type: str | None = None
    """The failure's class, as the completions stream names it."""
    started_at: float | None = None
    finished_at: float | None = None
    queue: str | None = None


def job_record(data: bytes | None) -> ArqRecord:
    """A job not ended, from `arq:job:<id>`."""
    return _record(decode_record(data), ended=False)


def result_record(data: bytes | None) -> ArqRecord:
    """A job's outcome, from `arq:result:<id>`."""
    return _record(decode_record(data), ended=True)


def _record(record: DecodedRecord, ended: bool) -> ArqRecord:
    if record.problem is not None:
        return ArqRecord(UNREADABLE, record.problem, None, None, problem=record.problem)
    function = record.fields.get("f")
    tries = record.number("t")
    base = ArqRecord(
        clip(function, FUNCTION_LIMIT) if isinstance(function, str) else UNREADABLE,
        record.arguments("a", "k", ARGUMENTS_LIMIT),
        int(tries) if tries is not None and 0 <= tries < 1e9 else None,
        moment(record.number("et")),
    )
    if not ended:
        return base
    success = record.fields.get("s")
    ok = success if isinstance(success, bool) else None
    queue = record.fields.get("q")
    return ArqRecord(
        base.function, base.arguments, base.tries, base.enqueued_at,
        success=ok,
        result=record.text("r", ARGUMENTS_LIMIT) if ok else None,
        exception=record.exception("r", EXCEPTION_LIMIT) if ok is False else None,
        exception_type=record.class_name("r") if ok is False else None,
        started_at=moment(record.number("st")),
        finished_at=moment(record.number("ft")),
        queue=queue if isinstance(queue, str) and len(queue) <= NAME_LIMIT else None,
    )  # fmt: skip


def moment(milliseconds: float | None) -> float | None:
    """A millisecond timestamp as seconds, None when absurd."""
    if milliseconds is None or not 0 < milliseconds / 1000 <= LATEST:
        return None
    return milliseconds / 1000
