"""Hypothesis strategies for random and malformed RQ state: what old code, a bug or an attacker
could leave in Redis under every key qwatch reads.

A state is a list of Redis commands. Scores and timestamps are drawn relative
to the moment the state is written (`Ago`), so registry windows and heartbeat
deadlines land where a live system would put them, and elsewhere. Pickles
are built from opcode fragments (memo references, deep nesting, huge ints
and strings, globals that would create `CANARY` if anything ever ran them)
or are the hand-made bombs of past bug reports.
"""

from __future__ import annotations

import base64
import json
import pickle
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from hypothesis import strategies as st

CANARY = Path("/tmp/qwatch-fuzz-canary")
"""Created by the pickles' payloads if anything ever unpickles them."""

HUGE = 300_000
"""Characters of the longest values: far past every limit qwatch has."""

Command = tuple[Any, ...]


@dataclass(frozen=True)
class Ago:
    """A moment `seconds` before the write (negative: after), as a score or an RQ timestamp."""

    seconds: float
    as_text: bool = False


@dataclass(frozen=True)
class State:
    """The commands that write one state, and the job ids it names (to read them back)."""

    commands: tuple[Command, ...]
    job_ids: tuple[bytes, ...]

    def __repr__(self) -> str:
        shown = [tuple(_short(arg) for arg in command) for command in self.commands]
        return f"State({shown!r})"

    def write(self, client: redis.Redis) -> None:
        now = time.time()
        pipe = client.pipeline(transaction=False)
        for command in self.commands:
            pipe.execute_command(*(_resolve(arg, now) for arg in command))
        pipe.execute(raise_on_error=False)


def _short(arg: Any) -> Any:
    """An argument as a failure report shows it: long values by their head and size."""
    if isinstance(arg, bytes) and len(arg) > 200:
        return f"{arg[:60]!r}... ({len(arg)} bytes)"
    return arg


def _resolve(arg: Any, now: float) -> Any:
    if not isinstance(arg, Ago):
        return arg
    moment = now - arg.seconds
    if not arg.as_text:
        return repr(moment)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)).encode() + b".123456Z"


# Values -------------------------------------------------------------------------------


def _huge(fill: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(10_000, HUGE).map(lambda size: fill * size)


TRICKY_TEXT = st.sampled_from(
    [
        b"\x1b]2;retitled\x07",
        b"\x1b[2J\x1b[8mhidden",
        b"[red]markup[/red] [link=x]y[/]",
        b"\xff\xfe\xfd",
        "\u202eevil\u2066".encode(),
        b"a:b:c",
        b"",
        b" ",
        b"\x00",
        b"%s%n{0}",
    ]
)
TEXT = st.one_of(
    TRICKY_TEXT,
    st.text(max_size=30).map(str.encode),
    st.binary(max_size=30),
    _huge(b"A"),
    _huge(b"\x1b"),
)
NUMBERS = st.one_of(
    st.sampled_from(
        [
            *(b"0", b"3", b"1.7e308", b"inf", b"-inf", b"nan", b"-1", b"1e400", b"9" * 5000),
            *("\u00b2".encode(), b"3.5", b" 7 ", b"0x10", b"1_000", b"-0", b"2147483648"),
        ]
    ),
    st.integers().map(lambda n: str(n).encode()),
    st.floats().map(lambda x: repr(x).encode()),
)
TIMESTAMPS = st.one_of(
    st.floats(-3600, 400 * 86400).map(lambda ago: Ago(ago, as_text=True)),
    st.sampled_from(
        [
            b"",
            b"yesterday",
            b"9999-12-31T23:59:59Z",
            b"0001-01-01T00:00:00+23:59",
            b"2024-13-45T99:99:99Z",
            b"1e308",
            b"-1",
            b"2024-05-01T12:00:00.123456+05:00",
            b"2024-05-01",
            "\uff12\uff10\uff12\uff14-05-01".encode(),
            b"1969-12-31T23:59:59Z",
            b"2100-01-01T00:00:00Z",
        ]
    ),
)
SCORES = st.one_of(
    st.floats(-60, 600).map(Ago),  # around now: heartbeat deadlines
    st.floats(-530, -480).map(Ago),  # expiries of jobs just finished, RQ's 500 s ttl
    st.floats(-31_536_030, -31_535_990).map(Ago),  # just failed, a year's ttl
    st.sampled_from(["inf", "-inf", "1e308", "-1e308", "0", "-5"]),
    st.floats(allow_nan=False).map(repr),
)


# Pickles --------------------------------------------------------------------------------


def _unicode(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    return b"X" + len(raw).to_bytes(4, "little") + raw


def _nested_shared(levels: int, width: int) -> bytes:
    value: list[Any] = []
    for _ in range(levels):
        value = [value] * width
    return pickle.dumps(value, protocol=4)


def _self_containing() -> bytes:
    value: list[Any] = []
    value.append(value)
    return pickle.dumps(value, protocol=4)


_CANARY_TEXT = str(CANARY)
BOMBS = [
    _nested_shared(12, 50),
    _self_containing(),
    pickle.dumps(10**5000, protocol=4),
    pickle.dumps(-(10**20000), protocol=2),
    b"c_codecs\nencode\n(" + _unicode("\u00e9" * 12_000) + _unicode("punycode") + b"tR.",
    b"cbuiltins\nopen\n(" + _unicode(_CANARY_TEXT) + _unicode("w") + b"tR.",
    b"cos\nsystem\n(" + _unicode(f"touch {_CANARY_TEXT}") + b"tR.",
    b"\x80\x04" + b"]" * 20_000 + b"a" * 19_999 + b".",
    b"\x80\x04" + b"(" * 20_000 + b"l" * 20_000 + b".",
    pickle.dumps("x" * 200_000, protocol=4),
    pickle.dumps({"k" * 1000: list(range(5000))}, protocol=4),
]
FRAGMENTS = st.one_of(
    st.sampled_from(
        [
            b"]",  # EMPTY_LIST
            b"(",  # MARK
            b"a",  # APPEND
            b"e",  # APPENDS
            b"l",  # LIST
            b"t",  # TUPLE
            b"\x85",  # TUPLE1
            b"\x86",  # TUPLE2
            b"}",  # EMPTY_DICT
            b"s",  # SETITEM
            b"u",  # SETITEMS
            b"\x8f",  # EMPTY_SET
            b"\x90",  # ADDITEMS
            b"\x91",  # FROZENSET
            b"\x94",  # MEMOIZE
            b"2",  # DUP
            b"0",  # POP
            b"1",  # POP_MARK
            b"N",  # NONE
            b"\x88",  # NEWTRUE
            b"R",  # REDUCE
            b"b",  # BUILD
            b"\x81",  # NEWOBJ
            b"\x93",  # STACK_GLOBAL
            b"o",  # OBJ
            b"Q",  # BINPERSID
            b"\x82\x01",  # EXT1
            b"cbuiltins\nopen\n",
            b"cbuiltins\ngetattr\n",
            b"c_codecs\nencode\n",
            b"cdatetime\ndatetime\n",
            b"ibuiltins\nopen\n",
            _unicode(_CANARY_TEXT),
            _unicode("punycode"),
            _unicode("latin1"),
        ]
    ),
    st.integers(0, 8).map(lambda i: b"q" + bytes([i])),  # BINPUT
    st.integers(0, 8).map(lambda i: b"h" + bytes([i])),  # BINGET
    st.integers(0, 255).map(lambda i: b"K" + bytes([i])),  # BININT1
    st.binary(max_size=12).map(lambda raw: b"\x8a" + bytes([len(raw)]) + raw),  # LONG1
    st.integers(0, 6000).map(lambda n: b"\x8b" + n.to_bytes(4, "little") + b"\x7f" * n),  # LONG4
    st.text(max_size=20).map(_unicode),
    st.binary(max_size=20).map(lambda raw: b"C" + bytes([len(raw)]) + raw),  # SHORT_BINBYTES
    st.floats().map(lambda x: b"G" + __import__("struct").pack(">d", x)),  # BINFLOAT
)


def _as_job(stream: bytes) -> bytes:
    """RQ's (function, instance, args, kwargs) around a payload of fragments."""
    return b"\x80\x04(" + _unicode("tasks.work") + b"N(" + stream + b"t}t."


PICKLES = st.one_of(
    st.sampled_from(BOMBS),
    st.lists(FRAGMENTS, max_size=16).map(lambda parts: b"\x80\x04" + b"".join(parts) + b"."),
    st.lists(FRAGMENTS, max_size=16).map(lambda parts: _as_job(b"".join(parts))),
    st.binary(max_size=60),
)


@st.composite
def _packed(draw: st.DrawFn, raw: st.SearchStrategy[bytes]) -> bytes:
    """zlib of a value, or the value bare, cut short, or mangled."""
    data = draw(raw)
    how = draw(st.sampled_from(["zlib", "zlib", "bare", "cut", "flipped"]))
    if how == "bare":
        return data
    packed = zlib.compress(data, 1)
    if how == "cut":
        return packed[: draw(st.integers(0, len(packed)))]
    if how == "flipped" and len(packed) > 2:
        at = draw(st.integers(2, len(packed) - 1))
        return packed[:at] + bytes([packed[at] ^ 0xFF]) + packed[at + 1 :]
    return packed


ZLIB_BOMB = zlib.compress(b"\0" * (8 << 20), 9)
JOB_DATA = st.one_of(_packed(PICKLES), st.just(ZLIB_BOMB))
TRACEBACK_TEXT = st.one_of(
    st.just(b'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad\n'),
    TEXT,
    _huge(b'  File "x"\n'),
)
TRACEBACKS = st.one_of(_packed(TRACEBACK_TEXT), st.just(ZLIB_BOMB))
ENCODED = st.one_of(
    TRACEBACKS.map(base64.b64encode),
    PICKLES.map(base64.b64encode),
    st.sampled_from([b"!!not base64!!", b"", b"===="]),
    TEXT,
)


# Keys -----------------------------------------------------------------------------------
#
# The strategies below are built once: each draws a template, a list of commands whose
# arguments may name the key being written (`KEY`) or one of the state's job ids
# (`JobRef`), filled in by `rq_states`. Building strategies per example costs more than
# drawing from them.


class _Key:
    def __repr__(self) -> str:
        return "KEY"


KEY = _Key()


@dataclass(frozen=True)
class JobRef:
    """The state's job id number `index` (modulo how many there are), then `suffix`."""

    index: int
    suffix: bytes = b""


@dataclass(frozen=True)
class QueueRef:
    """The state's queue names joined by commas, and one more."""

    count: int


Template = list[tuple[Any, ...]]

NAMES = st.one_of(
    st.sampled_from([b"default", b"high", b"q:colon", b"a,b"]),
    TRICKY_TEXT.map(lambda text: text or b"-"),
    st.text(min_size=1, max_size=12).map(str.encode),
    _huge(b"n"),
)
WRONG_TYPES: st.SearchStrategy[Template] = st.sampled_from(
    [
        [("SET", KEY, b"a string")],
        [("RPUSH", KEY, b"a", b"list")],
        [("SADD", KEY, b"a set")],
        [("HSET", KEY, b"a", b"hash")],
        [("ZADD", KEY, 1, b"a zset")],
        [("XADD", KEY, "*", b"a", b"stream")],
    ]
)
JOB_IDS = st.one_of(st.integers(0, 7).map(JobRef), st.just(b"missing"), TEXT)
EXECUTIONS = st.one_of(
    st.builds(JobRef, st.integers(0, 7), st.sampled_from([b":exec", b"", b":"])), TEXT
)


def _key(right: st.SearchStrategy[Template]) -> st.SearchStrategy[Template]:
    """The key as RQ writes it (often), of another type, or missing."""
    return st.one_of(right, right, WRONG_TYPES, st.just([]))


def _flat(pairs: Any) -> list[Any]:
    return [item for pair in pairs for item in pair]


def _hash(fields: dict[bytes, st.SearchStrategy[Any]]) -> st.SearchStrategy[Template]:
    """A hash with any subset of `fields`, each with a drawn value."""
    found = st.fixed_dictionaries({}, optional=fields).map(lambda values: values or {b"x": b""})
    return found.map(lambda values: [("HSET", KEY, *_flat(values.items()))])


def _zset(members: st.SearchStrategy[Any]) -> st.SearchStrategy[Template]:
    entries = st.lists(st.tuples(SCORES, members), min_size=1, max_size=3)
    return entries.map(lambda found: [("ZADD", KEY, *_flat(found))])


def _list(members: st.SearchStrategy[Any]) -> st.SearchStrategy[Template]:
    return st.lists(members, min_size=1, max_size=3).map(lambda found: [("RPUSH", KEY, *found)])


_ANY_VALUE = st.one_of(TEXT, NUMBERS, TIMESTAMPS)
JOB_HASH = _key(
    _hash(
        {
            b"data": JOB_DATA,
            b"status": st.one_of(st.sampled_from([b"failed", b"finished", b"started"]), TEXT),
            b"origin": st.one_of(NAMES, _ANY_VALUE),
            b"created_at": TIMESTAMPS,
            b"enqueued_at": TIMESTAMPS,
            b"started_at": TIMESTAMPS,
            b"ended_at": TIMESTAMPS,
            b"worker_name": st.one_of(NAMES, _ANY_VALUE),
            b"description": TEXT,
            b"timeout": NUMBERS,
            b"retries_left": NUMBERS,
            b"result_ttl": NUMBERS,
            b"failure_ttl": NUMBERS,
            b"exc_info": TRACEBACKS,
        }
    )
)
RESULTS = _key(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                b"type": st.sampled_from([b"1", b"2", b"3", b"x"]),
                b"exc_string": ENCODED,
                b"return_value": ENCODED,
                b"worker_name": NAMES,
            },
        ).map(lambda values: values or {b"type": b"1"}),
        min_size=1,
        max_size=2,
    ).map(lambda entries: [("XADD", KEY, "*", *_flat(entry.items())) for entry in entries])
)
WORKER_HASH = _key(
    _hash(
        {
            b"hostname": TEXT,
            b"pid": NUMBERS,
            b"state": st.one_of(st.sampled_from([b"busy", b"idle", b"suspended"]), TEXT),
            b"queues": st.one_of(st.integers(0, 4).map(QueueRef), TEXT),
            b"current_job": st.one_of(JOB_IDS, TEXT),
            b"birth": TIMESTAMPS,
            b"last_heartbeat": TIMESTAMPS,
            b"successful_job_count": NUMBERS,
            b"failed_job_count": NUMBERS,
            b"total_working_time": NUMBERS,
            b"death": st.one_of(TIMESTAMPS, st.just(b"")),
            b"qwatch_stream": st.one_of(st.just(b"1"), TEXT),
        }
    )
)
_ENTRY_VALUES = st.one_of(
    st.sampled_from(["default", "high", "finished", "failed", "retried", "tasks.work", "missing"]),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=12),
    st.none(),
    st.integers(10_000, 60_000).map(lambda size: "x" * size),
)
STREAM_ENTRIES = st.one_of(
    st.lists(_ENTRY_VALUES, min_size=7, max_size=11).map(lambda v: json.dumps(v).encode()),
    TEXT,
)
COMPLETIONS = _key(
    st.lists(st.tuples(st.sampled_from([b"v1", b"v1", b"v2"]), STREAM_ENTRIES), max_size=4).map(
        lambda entries: [("XADD", KEY, "*", field, value) for field, value in entries]
    )
)
WORKER_EXPIRY = st.one_of(st.none(), st.integers(1, 600_000))
QUEUE_LIST = _key(_list(JOB_IDS))
STARTED = _key(_zset(EXECUTIONS))
REGISTRY = _key(_zset(JOB_IDS))
REGISTRY_PREFIXES = (b"rq:finished:", b"rq:failed:", b"rq:deferred:", b"rq:scheduled:")


def _member(prefix: bytes, name: bytes) -> st.SearchStrategy[bytes]:
    """The set member naming a key: as RQ writes it, mostly."""
    return st.sampled_from([prefix + name, prefix + name, name, prefix])


def _fill(template: Template, key: bytes, ids: list[bytes], queues: list[bytes]) -> Template:
    def value(arg: Any) -> Any:
        if arg is KEY:
            return key
        if isinstance(arg, JobRef):
            return (ids[arg.index % len(ids)] if ids else b"missing") + arg.suffix
        if isinstance(arg, QueueRef):
            return b",".join([*queues[: arg.count], b"elsewhere"])
        return arg

    return [tuple(value(arg) for arg in command) for command in template]


@st.composite
def rq_states(draw: st.DrawFn) -> State:
    """One random and malformed RQ state."""
    queues = draw(st.lists(NAMES, max_size=2, unique=True))
    workers = draw(st.lists(NAMES, max_size=2, unique=True))
    ids = draw(st.lists(NAMES, max_size=3, unique=True))
    commands: list[Command] = []

    def write(template: st.SearchStrategy[Template], key: bytes) -> None:
        commands.extend(_fill(draw(template), key, ids, queues))

    for name in queues:
        commands.append(("SADD", b"rq:queues", draw(_member(b"rq:queue:", name))))
        write(QUEUE_LIST, b"rq:queue:" + name)
        write(QUEUE_LIST, b"rq:queue:" + name + b":intermediate")
        write(STARTED, b"rq:wip:" + name)
        for prefix in (*REGISTRY_PREFIXES, b"rq:canceled:"):
            write(REGISTRY, prefix + name)
    for name in workers:
        commands.append(("SADD", b"rq:workers", draw(_member(b"rq:worker:", name))))
        write(WORKER_HASH, b"rq:worker:" + name)
        expiry = draw(WORKER_EXPIRY)
        if expiry is not None:
            commands.append(("PEXPIRE", b"rq:worker:" + name, expiry))
    for job_id in ids:
        write(JOB_HASH, b"rq:job:" + job_id)
        write(RESULTS, b"rq:results:" + job_id)
    write(COMPLETIONS, b"rq:qwatch:completions")
    for key in (b"rq:queues", b"rq:workers", b"rq:suspended"):
        if draw(st.integers(0, 19)) == 0:
            commands = [c for c in commands if c[1] != key]
            write(WRONG_TYPES, key)
    return State(tuple(commands), tuple(ids))
