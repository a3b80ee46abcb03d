"""One kombu message read from its JSON envelope and headers, never by running its body.

A message in a priority list (and the first item of an `unacked` value) is
kombu's JSON envelope: `body` (base64 of the task serializer's bytes),
`content-type`, `headers` (Celery's task protocol 2: `task`, `id`, `eta`,
`retries`, `argsrepr`, …) and `properties` (`priority`, `delivery_info`).
Everything a monitor lists is in the headers, so the body is decoded only
when a person asks to see it, and a pickled body only through qwatch's
pickle machine. A message over `MESSAGE_BYTES` bytes, or one that is not
such an envelope, is `Unreadable`: a placeholder, never an exception.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from qwatch.celery.layout import HIGHEST_PRIORITY
from qwatch.limits import ARGUMENTS_LIMIT, BODY_LIMIT, MESSAGE_BYTES, NAME_LIMIT
from qwatch.pickle.decode import MAX_PICKLE_BYTES, inflate, render_pickle
from qwatch.text.formatting import clip
from qwatch.wire.replies import MAX_COUNT
from qwatch.wire.timestamps import LATEST

PICKLE = "application/x-python-serialize"
_SHORT = 128
"""Characters of a content type or an ETA string: longer is none Celery wrote."""


@dataclass(frozen=True, slots=True)
class Message:
    """What a message's envelope and headers say; None where they say nothing sensible."""

    task: str | None
    """The task name; None under task protocol 1, which keeps it in the body."""
    id: str | None
    eta: float | None
    """When an ETA or countdown task may run, seconds since the epoch."""
    retries: int | None
    priority: int | None
    """The priority kombu files the message under, 0..9; None when it holds none."""
    exchange: str | None
    routing_key: str | None
    """The queue, for Celery's direct routing through the anonymous exchange."""
    argsrepr: str | None
    kwargsrepr: str | None
    content_type: str | None
    origin: str | None
    """The node that sent the task."""
    redelivered: bool
    """kombu gave it back to the queue once (a worker died or the visibility timeout passed)."""
    size: int


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A placeholder for a message too large or malformed to read."""

    reason: str
    size: int


@dataclass(frozen=True, slots=True)
class Unacked:
    """An `unacked` hash value: the message and where it was published to."""

    message: Message
    exchange: str
    routing_key: str


def parse_message(raw: Any) -> Message | Unreadable:
    """A list element (bytes of kombu's JSON envelope) as a `Message`."""
    envelope = _json(raw)
    if isinstance(envelope, Unreadable):
        return envelope
    return _message(envelope, len(raw))


def parse_unacked(raw: Any) -> Unacked | Unreadable:
    """An `unacked` value, JSON `[envelope, exchange, routing key]`, as an `Unacked`."""
    value = _json(raw)
    if isinstance(value, Unreadable):
        return value
    if not (isinstance(value, list) and len(value) == 3):
        return Unreadable("not an [envelope, exchange, routing key] triple", len(raw))
    envelope, exchange, routing_key = value
    message = _message(envelope, len(raw))
    if isinstance(message, Unreadable):
        return message
    if not (_is_name(exchange) or exchange == "") or not _is_name(routing_key):
        return Unreadable("an exchange or routing key that is no name", len(raw))
    return Unacked(message, exchange, routing_key)


def envelope_of(raw: Any, limit: int = MESSAGE_BYTES) -> dict[str, Any] | Unreadable:
    """kombu's JSON envelope as a dict, or why `raw` is none: the one parse of it, for
    queued messages and for what kombu PUBLISHes alike."""
    value = _json(raw, limit)
    if isinstance(value, (Unreadable, dict)):
        return value
    return Unreadable("not a kombu message envelope", len(raw))


def body_bytes(envelope: dict[str, Any]) -> bytes | Unreadable:
    """The bytes the serializer wrote: kombu's virtual transports base64-encode a body
    (`body_encoding`); one without that property is its text as it stands."""
    body = envelope.get("body")
    if not isinstance(body, str):
        return Unreadable("no body", 0)
    if _dict(envelope.get("properties")).get("body_encoding") != "base64":
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return Unreadable("a body that is not base64", len(body))


def body_text(raw: Any, limit: int = BODY_LIMIT) -> str:
    """A message's body as display text: JSON and other text as it is, a pickle through
    qwatch's pickle machine (never unpickled), anything else described."""
    envelope = envelope_of(raw)
    if isinstance(envelope, Unreadable):
        return f"<{envelope.reason}>"
    data = body_bytes(envelope)
    if isinstance(data, Unreadable):
        return f"<{data.reason}>"
    if _dict(envelope.get("headers")).get("compression") is not None:
        try:
            data, cut = inflate(data, MAX_PICKLE_BYTES)
        except ValueError:
            return "<a compressed body qwatch cannot inflate>"
        if cut:
            return f"<a body of more than {MAX_PICKLE_BYTES} bytes inflated, not shown>"
    content_type = _text(envelope.get("content-type"), _SHORT) or "?"
    if content_type == PICKLE:
        return render_pickle(data, limit)
    if content_type.startswith(("application/json", "application/x-yaml", "text/")):
        return clip(data.decode("utf-8", "replace"), limit)
    return f"<{len(data)} bytes of {content_type}>"


def _json(raw: Any, limit: int = MESSAGE_BYTES) -> Any:
    """Parsed JSON, or why not."""
    if not isinstance(raw, bytes):
        return Unreadable("not a string", 0)
    if len(raw) > limit:
        return Unreadable(f"a message of {len(raw)} bytes, over {limit}", len(raw))
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return Unreadable("not JSON", len(raw))


def _message(envelope: Any, size: int) -> Message | Unreadable:
    if not isinstance(envelope, dict) or not isinstance(envelope.get("properties"), dict):
        return Unreadable("not a kombu message envelope", size)
    headers = _dict(envelope.get("headers"))
    properties = envelope["properties"]
    delivery = _dict(properties.get("delivery_info"))
    return Message(
        task=_name(headers.get("task")),
        id=_name(headers.get("id")) or _name(properties.get("correlation_id")),
        eta=_eta(headers.get("eta")),
        retries=_count(headers.get("retries")),
        priority=_priority(properties.get("priority")),
        exchange=_text(delivery.get("exchange"), NAME_LIMIT),
        routing_key=_name(delivery.get("routing_key")),
        argsrepr=_text(headers.get("argsrepr"), ARGUMENTS_LIMIT),
        kwargsrepr=_text(headers.get("kwargsrepr"), ARGUMENTS_LIMIT),
        content_type=_text(envelope.get("content-type"), _SHORT),
        origin=_name(headers.get("origin")),
        redelivered=headers.get("redelivered") is True or delivery.get("redelivered") is True,
        size=size,
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= NAME_LIMIT


def _name(value: Any) -> str | None:
    return value if _is_name(value) else None


def _text(value: Any, limit: int) -> str | None:
    return clip(value, limit) if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT
    return value if ok else None


def _priority(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return max(0, min(value, HIGHEST_PRIORITY))


def _eta(value: Any) -> float | None:
    """Celery writes `eta.isoformat()` of an aware datetime; a naive one is taken as UTC."""
    if not isinstance(value, str) or not value or len(value) > _SHORT:
        return None
    try:
        parsed = datetime.fromisoformat(value.removesuffix("Z"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        seconds = parsed.timestamp()
    except (ValueError, OverflowError, OSError):
        return None
    return seconds if 0 <= seconds < LATEST else None
