"""Hypothesis strategies for random and malformed arq state: what a bug, another serializer or an
attacker could leave under every key qwatch reads of arq's.

Jobs and results are pickled dicts whose fields have every type and size
(exceptions among them, never to be unpickled), the bombs of the RQ
strategies, and bytes of no format; queues are scored around now in
milliseconds, or absurdly; health checks hold arq's text or anything; keys
are of the type arq writes or of another.
"""

from __future__ import annotations

import pickle
import time

from hypothesis import strategies as st

from tests.properties.hostile_rq import BOMBS, HUGE, TEXT, State

QUEUE_NAMES = ("arq:queue", "arq:q:x", "[red]x[/red]", "\x1b]2;retitled\x07", "é")
QUEUES = st.sampled_from(QUEUE_NAMES)
IDS = ("j0", "j1", "j2")
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.just("x" * HUGE),
    st.just("\x1b[2J[red]markup[/red]<script>alert(1)</script>"),
    st.binary(max_size=20),
    st.lists(st.integers(), max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.builds(ValueError, st.one_of(st.text(max_size=20), st.just("<b>" * HUGE))),
    st.builds(KeyError, st.integers(), st.text(max_size=5)),
)
_FIELDS = st.fixed_dictionaries(
    {},
    optional={key: _VALUES for key in ("t", "f", "a", "k", "et", "s", "r", "st", "ft", "q", "id")},
)
RECORDS = st.one_of(
    _FIELDS.map(lambda fields: pickle.dumps(fields, protocol=5)),
    _FIELDS.map(lambda fields: pickle.dumps(fields, protocol=0)),
    st.sampled_from(BOMBS),
    st.sampled_from([b"\x80\x05garbage", b"", b"\xff" * 100, b'{"f": "json"}', b"[" * 50_000]),
    TEXT,
)
"""What `arq:job:<id>` and `arq:result:<id>` may hold."""
HEALTH = st.one_of(
    st.tuples(*[st.integers(0, 10**30)] * 5).map(
        lambda n: (
            f"Dec-07 09:25:58 j_complete={n[0]} j_failed={n[1]} j_retried={n[2]}"
            f" j_ongoing={n[3]} queued={n[4]}"
        ).encode()
    ),
    st.sampled_from([b"Feb-29 00:00:00 j_complete=1", b"Zzz-99 99:99:99"]),
    TEXT,
)
SCORES = st.one_of(
    st.floats(-7200, 7200).map(lambda ago: repr((time.time() - ago) * 1000)),
    st.sampled_from(["inf", "-inf", "0", "-5", "1e308"]),
    st.floats(allow_nan=False).map(repr),
)


@st.composite
def _command(draw: st.DrawFn) -> tuple[object, ...]:
    queue, job = draw(QUEUES), draw(st.sampled_from(IDS))
    kind = draw(st.integers(0, 8))
    if kind == 0:
        return ("ZADD", queue, draw(SCORES), draw(st.one_of(st.sampled_from(IDS), TEXT)))
    if kind == 1:
        return ("SET", f"arq:job:{job}", draw(RECORDS))
    if kind == 2:
        return ("SET", f"arq:result:{job}", draw(RECORDS))
    if kind == 3:
        return ("SET", f"arq:in-progress:{job}", draw(TEXT))
    if kind == 4:
        return ("SET", f"arq:retry:{job}", draw(TEXT))
    if kind == 5:
        return ("SET", f"{queue}:health-check", draw(HEALTH))
    if kind == 6:
        return ("SET", queue, draw(TEXT))
    prefix = draw(st.sampled_from(["arq:job:", "arq:result:", "arq:in-progress:", "arq:retry:"]))
    if kind == 7:
        return ("SADD", f"{prefix}{job}", draw(TEXT))
    return ("HSET", f"{queue}:health-check", "x", draw(TEXT))


def arq_states() -> st.SearchStrategy[State]:
    """A list of commands writing arq's keys, and the job ids they name."""
    return st.lists(_command(), min_size=1, max_size=12).map(
        lambda commands: State(tuple(commands), tuple(i.encode() for i in IDS))
    )
