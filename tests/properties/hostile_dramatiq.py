"""Hypothesis strategies for random and malformed Dramatiq state: what a bug, an old broker or an
attacker could leave under every key qwatch reads of Dramatiq's.

Messages are JSON with fields of every type and size, JSON that is not a
message, pickles (the bombs of the RQ strategies among them, never to be
unpickled), and bytes of no format; exact mode's stream holds entries of
every shape, and its marks any text; keys are of the type Dramatiq writes or
of another; heartbeats are scored around now in milliseconds, or absurdly.
"""

from __future__ import annotations

import json
import time

from hypothesis import strategies as st

from tests.properties.hostile_rq import BOMBS, HUGE, TEXT, State

NAMESPACE = "dramatiq"
QUEUES = st.sampled_from(["default", "q:x", "[red]x[/red]", "\x1b]2;retitled\x07", "é", "a.b"])
IDS = st.one_of(st.sampled_from([b"m0", b"m1", b"m2"]), TEXT)
_JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.just("x" * HUGE),
    st.just("\x1b[2J[red]markup[/red]<script>alert(1)</script>"),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _millis_ago() -> st.SearchStrategy[str]:
    """A moment around now in milliseconds, as Dramatiq scores its heartbeats."""
    return st.floats(-120, 7200).map(lambda ago: repr((time.time() - ago) * 1000))


_MESSAGE_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "queue_name": _JSON_VALUES,
        "actor_name": _JSON_VALUES,
        "args": _JSON_VALUES,
        "kwargs": _JSON_VALUES,
        "message_id": _JSON_VALUES,
        "message_timestamp": st.one_of(_JSON_VALUES, _millis_ago().map(float)),
        "options": st.one_of(
            _JSON_VALUES,
            st.fixed_dictionaries(
                {}, optional={"eta": _JSON_VALUES, "retries": _JSON_VALUES,
                              "traceback": _JSON_VALUES},
            ),
        ),
    },
)  # fmt: skip
MESSAGES = st.one_of(
    _MESSAGE_FIELDS.map(lambda fields: json.dumps(fields).encode()),
    st.sampled_from(BOMBS),
    st.sampled_from([b"[" * 50_000, b"{", b"null", b"\x80\x05garbage", b"", b"\xff" * 100]),
    st.just(b'{"actor_name": "' + b"a" * (2 << 20) + b'"}'),
    TEXT,
)
ENTRIES = st.one_of(
    st.lists(_JSON_VALUES, min_size=9, max_size=9).map(json.dumps),
    st.tuples(
        st.sampled_from(["m0", "m1", ""]), QUEUES, _JSON_VALUES,
        st.sampled_from(["finished", "failed", "retried", "exploded"]), _JSON_VALUES,
        _JSON_VALUES, _JSON_VALUES, _JSON_VALUES, _JSON_VALUES,
    ).map(lambda values: json.dumps(list(values))),
    st.sampled_from(["[" * 50_000, "{", "null", "", "x" * 10_000]),
    TEXT,
)  # fmt: skip
"""What a completions stream entry's one field may hold: entries of every shape and value."""
SCORES = st.one_of(
    _millis_ago(), st.sampled_from(["inf", "-inf", "0", "-5", "1e308"]), st.floats().map(repr)
)


MARKED = ("__qwatch_completions__", "__qwatch_workers__")
"""The keys exact mode's middleware writes."""


@st.composite
def _command(draw: st.DrawFn) -> tuple[object, ...]:
    queue = draw(QUEUES)
    key = f"{NAMESPACE}:{queue}"
    kind = draw(st.integers(0, 12))
    if kind == 0:
        return ("RPUSH", key, *draw(st.lists(IDS, min_size=1, max_size=3)))
    if kind == 1:
        return ("HSET", f"{key}.msgs", draw(IDS), draw(MESSAGES))
    if kind == 2:
        return ("HSET", f"{key}.DQ.msgs", draw(IDS), draw(MESSAGES))
    if kind == 3:
        return ("RPUSH", f"{key}.DQ", draw(IDS))
    if kind == 4:
        return ("ZADD", f"{key}.XQ", draw(SCORES), draw(IDS))
    if kind == 5:
        return ("HSET", f"{key}.XQ.msgs", draw(IDS), draw(MESSAGES))
    if kind == 6:
        return ("ZADD", f"{NAMESPACE}:__heartbeats__", draw(SCORES), draw(IDS))
    if kind == 7:
        broker = draw(st.sampled_from(["b0", "b1", "x.y"]))
        return ("SADD", f"{NAMESPACE}:__acks__.{broker}.{queue}", draw(IDS))
    if kind == 10:
        field = draw(st.sampled_from(["v1", "v2"]))
        return ("XADD", f"{NAMESPACE}:__qwatch_completions__", "*", field, draw(ENTRIES))
    if kind == 11:
        broker = draw(st.sampled_from(["b0", "b1", "x.y"]))
        return ("HSET", f"{NAMESPACE}:__qwatch_workers__", broker, draw(TEXT))
    if kind == 12:
        return ("SET", f"{NAMESPACE}:{draw(st.sampled_from(MARKED))}", draw(TEXT))
    suffix = draw(st.sampled_from(["", ".msgs", ".XQ", ".DQ.msgs", ".XQ.msgs"]))
    if kind == 8:
        return ("SET", f"{key}{suffix}", draw(TEXT))
    return ("SADD", f"{key}{suffix}", draw(IDS))


def dramatiq_states() -> st.SearchStrategy[State]:
    """A list of commands writing Dramatiq's keys, and the message ids they name."""
    return st.lists(_command(), min_size=1, max_size=12).map(
        lambda commands: State(tuple(commands), (b"m0", b"m1", b"m2"))
    )
