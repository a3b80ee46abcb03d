"""What Celery PUBLISHes on Redis, decoded without Redis: events and stored results.

Events travel in kombu's envelope (read by `qwatch.celery.envelope`), their
body JSON by default; `task.multi` carries a JSON list of
task events (celery/events/dispatcher.py `EventDispatcher.flush`). The
result backend publishes each stored result, JSON by default, on a channel
named like its key (celery/backends/redis.py `RedisBackend._set`). A pickled
result is walked by qwatch's pickle machine, never unpickled.

Every value is hostile: a message over `EVENT_BYTES`, undecodable, or
of the wrong shape raises `Undecodable` (one line saying why); one bad event
in a batch costs only itself. Text kept from a message is cut to a bound.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from qwatch.celery.envelope import Unreadable, body_bytes, envelope_of
from qwatch.celery.task_states import FAILURE
from qwatch.limits import ARGUMENTS_LIMIT, EVENT_BYTES, EXCEPTION_LIMIT, NAME_LIMIT, TRACEBACK_LIMIT
from qwatch.pickle.decode import MAX_DEPTH, MAX_INT_DIGITS, MAX_ITEMS, MAX_NODES, MAX_OPCODES
from qwatch.pickle.machine import Call, Dict, Global, Meter, walk
from qwatch.pickle.machine import Undecodable as UnwalkablePickle
from qwatch.pickle.text import Renderer
from qwatch.text.formatting import clip, clip_lines
from qwatch.wire.timestamps import LATEST, parse_iso_time

MAX_BATCH = 1_000
"""Events in one `task.multi` message; Celery flushes its buffer long before (24 by default)."""
JSON_TYPES = ("application/json",)
_RENDERED = ("args", "kwargs", "result")
"""A pickled result's values shown as text, as a task event's reprs are; a failure's
`result` stays walked, for its exception's class and message."""
_EXCEPTION_CLASS = re.compile(r"^([A-Za-z_][\w.]*)(?:\(|:|$)")
_LAST_LINE_CLASS = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


class Undecodable(Exception):
    """A published message that cannot be turned into events or a result."""


@dataclass(frozen=True, slots=True)
class StoredResult:
    """A task's state as the result backend published it."""

    task_id: str
    status: str
    exception: str | None
    """The exception's class name, without its module."""
    message: str | None
    traceback: str | None
    date_done: float | None
    name: str | None = None
    """With `result_extended` only, like `queue`, `worker`, `args`, `kwargs`, `retries`."""
    queue: str | None = None
    worker: str | None = None
    args: str | None = None
    kwargs: str | None = None
    retries: int | None = None
    result: str | None = None
    """What a task that did not fail returned, shown as text."""


def decode_events(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The events in one message on `celeryev`, and how many of its events were unusable."""
    body = _envelope_body(data)
    items = body if isinstance(body, list) else [body]
    if len(items) > MAX_BATCH:
        raise Undecodable(f"a batch of {len(items)} events, over {MAX_BATCH}")
    events = [item for item in items if _is_event(item)]
    return events, len(items) - len(events)


def _envelope_body(data: bytes) -> Any:
    """The JSON body of kombu's envelope; Celery's events are JSON unless told otherwise."""
    envelope = envelope_of(data, EVENT_BYTES)
    if isinstance(envelope, Unreadable):
        raise Undecodable(envelope.reason)
    if envelope.get("content-type") not in JSON_TYPES:
        raise Undecodable(f"content type {_shown(envelope.get('content-type'))}, not JSON")
    if _get(envelope, "headers", "compression"):
        raise Undecodable("a compressed body")
    body = body_bytes(envelope)
    if isinstance(body, Unreadable):
        raise Undecodable(body.reason)
    return _json(body)


def _is_event(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("type"), str)
        and isinstance(item.get("hostname"), str)
        and 0 < len(item["hostname"]) <= NAME_LIMIT
    )


def decode_result(data: bytes, channel_task_id: str) -> StoredResult:
    """The result in one message on `celery-task-meta-<id>`; the id comes from the channel
    when the value lacks one."""
    if len(data) > EVENT_BYTES:
        raise Undecodable(f"larger than {EVENT_BYTES} bytes")
    meta = _pickled_meta(data) if data[:1] == b"\x80" else _json(data)
    if not isinstance(meta, dict):
        raise Undecodable("the result is not an object")
    status = meta.get("status")
    if not isinstance(status, str) or not 0 < len(status) <= 32:
        raise Undecodable("no status")
    task_id = text(meta.get("task_id"), NAME_LIMIT) or channel_task_id
    if not task_id or len(task_id) > NAME_LIMIT:
        raise Undecodable("no task id")
    exception, message = _exception_of(meta.get("result")) if status == FAILURE else (None, None)
    traceback = long_text(meta.get("traceback"))
    return StoredResult(
        task_id=task_id,
        status=status,
        exception=exception or exception_from_traceback(traceback),
        message=message,
        traceback=traceback,
        date_done=parse_iso_time(meta.get("date_done")),
        name=text(meta.get("name"), NAME_LIMIT),
        queue=text(meta.get("queue"), NAME_LIMIT),
        worker=text(meta.get("worker"), NAME_LIMIT),
        args=shown_value(meta.get("args")),
        kwargs=shown_value(meta.get("kwargs")),
        retries=count(meta.get("retries")),
        result=shown_value(meta.get("result")) if status != FAILURE else None,
    )


def _exception_of(result: Any) -> tuple[str | None, str | None]:
    """Class name and message of a stored exception: JSON's `{exc_type, exc_message}`,
    or the call a pickled exception would make."""
    if isinstance(result, dict):
        message = result.get("exc_message")
        shown = message[0] if isinstance(message, list) and len(message) == 1 else message
        return _class_name(result.get("exc_type")), shown_value(shown, EXCEPTION_LIMIT)
    if isinstance(result, Call) and isinstance(result.factory, Global):
        args = result.args if isinstance(result.args, tuple) else ()
        message = args[0] if len(args) == 1 and isinstance(args[0], str) else None
        return _class_name(result.factory.name), text(message, EXCEPTION_LIMIT)
    return None, None


def _pickled_meta(data: bytes) -> Any:
    """A pickled result's fields, by walking the pickle: nothing is imported or called.
    Its values are shown as Python-like text within the same budgets as RQ's pickles."""
    meter = Meter()
    try:
        value = walk(data, meter, MAX_OPCODES)
    except UnwalkablePickle as exc:
        raise Undecodable(f"undecodable pickle: {exc}") from exc
    if not isinstance(value, Dict):
        raise Undecodable("the pickled result is not a dict")
    meta = {key: item for key, item in value.pairs if isinstance(key, str)}
    renderer = Renderer(meter, meter.steps + MAX_NODES, MAX_DEPTH, MAX_ITEMS, MAX_INT_DIGITS)
    for key in _RENDERED:
        if meta.get(key) is not None and not (key == "result" and meta.get("status") == FAILURE):
            meta[key] = renderer.text(meta[key], ARGUMENTS_LIMIT)
    return meta


def exception_from_repr(value: Any) -> str | None:
    """`UpstreamTimeout` from a task-failed event's `UpstreamTimeout('…')`."""
    shown = text(value, EXCEPTION_LIMIT)
    match = _EXCEPTION_CLASS.match(shown) if shown else None
    return _class_name(match.group(1)) if match else None


def exception_from_traceback(traceback: str | None) -> str | None:
    """The class named on a traceback's last line (`pkg.mod.Error: message`)."""
    lines = traceback.strip().splitlines() if traceback else []
    match = _LAST_LINE_CLASS.match(lines[-1]) if lines else None
    return _class_name(match.group(1)) if match else None


def _class_name(value: Any) -> str | None:
    name = text(value, NAME_LIMIT)
    return (name.rsplit(".", 1)[-1] or None) if name else None


def text(value: Any, limit: int) -> str | None:
    """A non-empty string of at most `limit` characters, else None: for names and ids."""
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def long_text(value: Any) -> str | None:
    """A traceback: kept whole up to `TRACEBACK_LIMIT`, head and tail beyond."""
    return clip_lines(value, TRACEBACK_LIMIT) if isinstance(value, str) and value else None


def shown_value(value: Any, limit: int = ARGUMENTS_LIMIT) -> str | None:
    """A repr Celery sent as text, or a JSON value shown as JSON; cut to `limit`."""
    if value is None:
        return None
    if isinstance(value, str):
        return clip(value, limit)
    try:
        return clip(json.dumps(value, default=_placeholder)[: limit + 1], limit)
    except (ValueError, RecursionError):
        return "<unshowable value>"


def _placeholder(value: Any) -> str:
    return f"<{type(value).__name__}>"


def count(value: Any) -> int | None:
    """A whole number from 0 to 2**53, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if 0 <= value <= 2**53 else None


def seconds(value: Any) -> float | None:
    """A time since the epoch from 1970 to 2100, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 <= value < LATEST else None


def _get(mapping: dict[str, Any], *path: str) -> Any:
    value: Any = mapping
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value


def _json(data: bytes) -> Any:
    if len(data) > EVENT_BYTES:
        raise Undecodable(f"larger than {EVENT_BYTES} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise Undecodable("not JSON") from exc


def _shown(value: Any) -> str:
    return clip(repr(value)[:81], 80)
