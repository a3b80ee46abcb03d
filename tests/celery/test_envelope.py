"""Messages Celery really published, read from their headers; bodies shown without unpickling."""

from __future__ import annotations

import json
import time

import pytest
import redis
from celery import Celery

from qwatch.celery.envelope import Message, Unreadable, body_text, parse_message, parse_unacked
from qwatch.limits import MESSAGE_BYTES


def only_message(client: redis.Redis, key: str = "celery") -> bytes:
    (raw,) = client.lrange(key, 0, -1)
    assert isinstance(raw, bytes)
    return raw


def test_a_task_is_read_from_its_headers(client: redis.Redis, app: Celery) -> None:
    before = time.time()
    sent = app.send_task("harness.add", args=(2, 3), kwargs={"c": 4}, countdown=60, priority=0)
    message = parse_message(only_message(client))
    assert isinstance(message, Message)
    assert (message.task, message.id, message.retries) == ("harness.add", sent.id, 0)
    assert message.eta is not None and before + 59 < message.eta < time.time() + 61
    assert (message.argsrepr, message.kwargsrepr) == ("(2, 3)", "{'c': 4}")
    assert (message.routing_key, message.exchange) == ("celery", None)
    assert message.content_type == "application/json"
    assert message.priority == 0 and not message.redelivered
    assert message.origin and "@" in message.origin


def test_bodies_are_shown_json_as_text_and_pickles_without_unpickling(
    client: redis.Redis, app: Celery
) -> None:
    app.send_task("harness.add", args=(2, 3), queue="json")
    app.send_task("harness.add", args=(2, [1.5, "x"]), queue="pickled", serializer="pickle")
    assert body_text(only_message(client, "json")).startswith("[[2, 3], {}, {")
    pickled = only_message(client, "pickled")
    parsed = parse_message(pickled)
    assert isinstance(parsed, Message)
    assert parsed.content_type == "application/x-python-serialize"
    assert parsed.task == "harness.add"  # the headers are JSON whatever the serializer
    assert "(2, [1.5, 'x'])" in body_text(pickled)


def test_an_unacked_value_names_its_exchange_and_routing_key(
    client: redis.Redis, app: Celery
) -> None:
    app.send_task("harness.add", args=(1, 1))
    envelope = json.loads(only_message(client))
    entry = parse_unacked(json.dumps([envelope, "", "celery"]).encode())
    assert not isinstance(entry, Unreadable)
    assert (entry.exchange, entry.routing_key, entry.message.task) == ("", "celery", "harness.add")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1, 2, 3]",
        b'{"properties": 7}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"properties": {}, "headers": {"retries": 1' + b"0" * 5000 + b"}}",
        b'{"properties": {}, "body": "' + b"a" * MESSAGE_BYTES + b'"}',
        "\udcff".encode("utf-8", "surrogatepass"),
        None,
        12,
    ],
    ids=[
        "empty",
        "garbage",
        "list",
        "bad-properties",
        "deep",
        "long-int",
        "huge",
        "bad-utf8",
        "none",
        "int",
    ],
)
def test_a_malformed_message_is_a_placeholder(raw: object) -> None:
    assert isinstance(parse_message(raw), Unreadable)
    assert isinstance(parse_unacked(raw), Unreadable)
    assert body_text(raw).startswith("<")


def test_hostile_header_values_read_as_nothing() -> None:
    envelope = {
        "body": "!!not base64!!",
        "content-type": ["x"],
        "headers": {"task": "t" * 10_000, "id": 5, "eta": "yesterday", "retries": -1,
                    "argsrepr": "a" * 100_000, "redelivered": "yes"},
        "properties": {"priority": 300, "delivery_info": [], "body_encoding": "base64"},
    }  # fmt: skip
    raw = json.dumps(envelope).encode()
    message = parse_message(raw)
    assert isinstance(message, Message)
    assert (message.task, message.id, message.eta, message.retries) == (None, None, None, None)
    assert message.priority == 9 and not message.redelivered
    assert message.argsrepr is not None and len(message.argsrepr) < 2100
    assert message.content_type is None
    assert body_text(raw) == "<a body that is not base64>"
    assert isinstance(parse_unacked(json.dumps([envelope, 1, "q"]).encode()), Unreadable)
