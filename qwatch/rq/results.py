"""A job's results stream (`rq:results:<id>`): one entry per recorded execution.

RQ 2 adds an entry when a job succeeds, fails for good, is stopped, or
returns `Retry` (RETRIED, then MAX_RETRIES_EXCEEDED), keeping about the last
ten. A job retried because it raised gets no entry per failed attempt: only
its last outcome is recorded. Return values are pickles, shown by walking
their opcodes; tracebacks are base64 of zlib text.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from qwatch.errors import exception_line
from qwatch.limits import ARGUMENTS_LIMIT, RESULT_BYTES, TRACEBACK_BYTES
from qwatch.model import Attempt
from qwatch.pickle.decode import inflate, render_pickle
from qwatch.rq import job_fields
from qwatch.rq.keys import DEFAULT_KEYS, RQKeys
from qwatch.wire.batch import Command
from qwatch.wire.replies import (
    as_float,
    as_int,
    as_list,
    as_name,
    as_pairs,
    as_strict_text,
    as_text,
)

ATTEMPTS_LIMIT = 20
"""Entries read per job: RQ keeps about ten."""

OUTCOMES = {1: "successful", 2: "failed", 3: "stopped", 4: "retried", 5: "max retries exceeded"}
"""RQ's `Result.Type` values."""


def latest_command(job_id: str, keys: RQKeys = DEFAULT_KEYS) -> Command:
    """The newest entry of a job's results stream."""
    return ("XREVRANGE", keys.results_key(job_id), "+", "-", "COUNT", 1)


def history_command(job_id: str, keys: RQKeys = DEFAULT_KEYS) -> Command:
    """Up to `ATTEMPTS_LIMIT` entries, newest first."""
    return ("XREVRANGE", keys.results_key(job_id), "+", "-", "COUNT", ATTEMPTS_LIMIT)


def result_fields(reply: Any) -> dict[str, Any]:
    """The newest entry of an XREVRANGE reply as a field dict; empty if none."""
    entries = as_list(reply)
    return _entry(entries[0])[1] if entries else {}


def attempts(reply: Any) -> tuple[Attempt, ...]:
    """Every entry of an XREVRANGE reply as an attempt, oldest first."""
    found = []
    for raw in reversed(as_list(reply)):
        entry_id, fields = _entry(raw)
        if not fields:
            continue
        kind = as_int(fields.get(job_fields.RESULT_TYPE), default=-1)
        traceback = decoded_traceback(fields)
        found.append(
            Attempt(
                recorded_at=_stream_time(entry_id),
                outcome=OUTCOMES.get(kind, f"type {kind}"),
                worker=as_name(fields.get(job_fields.RESULT_WORKER_NAME)),
                execution_id=as_name(fields.get(job_fields.RESULT_EXECUTION_ID)),
                started_at=as_float(fields.get(job_fields.RESULT_EXECUTION_STARTED_AT)),
                ended_at=as_float(fields.get(job_fields.RESULT_EXECUTION_ENDED_AT)),
                result=return_value(fields, 300),
                exception=exception_line(traceback),
            )
        )
    return tuple(found)


def decoded_traceback(result: dict[str, Any]) -> str | None:
    """The traceback an entry holds (`exc_string`), up to a megabyte; None if it holds none."""
    encoded = result.get(job_fields.RESULT_EXC_STRING)
    if not isinstance(encoded, bytes):
        return None
    try:
        text, _cut = inflate(base64.b64decode(encoded, validate=True), TRACEBACK_BYTES)
    except (binascii.Error, ValueError):
        return "<unreadable traceback in the results stream>"
    return text.decode("utf-8", "replace")


def return_value(result: dict[str, Any], limit: int = ARGUMENTS_LIMIT) -> str | None:
    """An entry's return value as display text, never unpickled; None if it holds none."""
    encoded = result.get(job_fields.RESULT_RETURN_VALUE)
    if not isinstance(encoded, bytes):
        return None
    if len(encoded) > RESULT_BYTES * 4 // 3:
        return f"<return value of {len(encoded) * 3 // 4} bytes, not read>"
    try:
        return render_pickle(base64.b64decode(encoded, validate=True), limit)
    except (binascii.Error, ValueError):
        return "<unreadable return value>"


def _entry(raw: Any) -> tuple[str | None, dict[str, Any]]:
    entry = as_list(raw)
    if len(entry) != 2:
        return None, {}
    pairs = as_pairs(entry[1])
    return as_strict_text(entry[0]), {as_text(name) or "": value for name, value in pairs}


def _stream_time(entry_id: str | None) -> float | None:
    """An entry id is `<milliseconds>-<sequence>`."""
    millis, _sep, _seq = (entry_id or "").partition("-")
    return int(millis) / 1000 if millis.isdigit() else None
