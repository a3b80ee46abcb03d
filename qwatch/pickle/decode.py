"""Show what a job's pickle holds without ever unpickling it.

RQ stores a job's call as `zlib(pickle((function, instance, args, kwargs)))`.
Unpickling runs whatever the pickle names, so qwatch never does: a stack
machine walks the opcodes and rebuilds plain values (numbers, strings,
bytes, containers) as Python literals (`qwatch.pickle.machine`); datetimes,
Decimals and UUIDs are read from their pickled state by arithmetic
(`qwatch.pickle.literals`); anything else that would need code to build
becomes a placeholder naming it. Nothing a pickle names is imported, called
or looked up, codecs included. Garbage gives a readable note, never an error.

Each record costs a bounded amount of work whatever it holds: at most
`MAX_PICKLE_BYTES` of input, `MAX_OPCODES` opcodes walked, `MAX_NODES`
values rendered (a value shared through the memo is rendered once), a depth
of `MAX_DEPTH`, ints shown up to `MAX_INT_DIGITS` digits, and a text of at
most the limit asked (never more than `MAX_OUTPUT`). `work_done()` tells
tests how many steps decoding has taken.
"""

from __future__ import annotations

import math
import pickletools
import re
import threading
import zlib
from dataclasses import dataclass
from typing import Any

from qwatch.limits import ARGUMENTS_LIMIT, FUNCTION_LIMIT
from qwatch.pickle.machine import (
    Call,
    Dict,
    Global,
    Meter,
    OverBudget,
    Undecodable,
    walk,
    walk_head,
)
from qwatch.pickle.text import Renderer
from qwatch.text.formatting import clip

MAX_PICKLE_BYTES = 1 << 20
"""Larger payloads are not walked: a decompression bomb costs nothing."""
MAX_OPCODES = 50_000
"""Opcodes walked in one record; a longer pickle shows a note instead of its arguments."""
MAX_NODES = 10_000
"""Values rendered for one record; past it each value is shown as `…`."""
MAX_DEPTH = 12
MAX_ITEMS = 50
MAX_INT_DIGITS = 1_000
"""Longer ints are shown by their size: `<int of about 12,345 digits>`."""
MAX_OUTPUT = 20_000
"""Longest text of one field, whatever limit the caller asks."""
NAME_OPCODES = 2_000
"""Opcodes `call_name` walks: enough for a function and its instance, not for arguments."""
_FUNCTION_HEAD_BYTES = 1024
_FUNCTION_HEAD_INPUT = 8192
MAX_STEPS = MAX_OPCODES + MAX_NODES + _FUNCTION_HEAD_BYTES
"""Most decoder steps one call of this module's functions may take."""

_RQ_HEAD = re.compile(rb"\x80[\x04\x05]\x95.{8}\(\x8c(.)", re.DOTALL)
"""How RQ's job data starts under protocol 4 or 5: PROTO, FRAME, MARK, then the function as
a SHORT_BINUNICODE of the length the group holds."""
_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"}
_PREAMBLE = {"PROTO", "FRAME", "MARK"}


@dataclass(frozen=True, slots=True)
class DecodedCall:
    """A job's function and its arguments as display text."""

    function: str
    arguments: str
    readable: bool = True

    def __str__(self) -> str:
        return f"{self.function}({self.arguments})" if self.readable else self.function


@dataclass(frozen=True, slots=True)
class DecodeWork:
    """What decoding has cost this process so far, so that tests can bound it."""

    calls: int
    steps: int
    most_steps: int
    """The most steps any one call took."""


_work_lock = threading.Lock()
_work = DecodeWork(0, 0, 0)


def work_done() -> DecodeWork:
    """Calls and steps taken by every decoding function so far, in every thread."""
    return _work


def _record(meter: Meter) -> None:
    global _work
    with _work_lock:
        _work = DecodeWork(
            _work.calls + 1, _work.steps + meter.steps, max(_work.most_steps, meter.steps)
        )


def decode_job_data(data: bytes | None, limit: int = ARGUMENTS_LIMIT) -> DecodedCall:
    """The call a job's `data` field describes; placeholders where it cannot be read."""
    if not data:
        return DecodedCall("<no function recorded>", "", readable=False)
    meter = Meter()
    try:
        return _decode_call(data, _room(limit), meter)
    finally:
        _record(meter)


def _decode_call(data: bytes, limit: int, meter: Meter) -> DecodedCall:
    try:
        value = walk(_decompress(data), meter, MAX_OPCODES)
    except OverBudget as exc:
        name = _head_function(data, meter)
        if name is None:
            return DecodedCall(f"<undecodable job data: {exc}>", "", readable=False)
        return DecodedCall(clip(name, FUNCTION_LIMIT), f"<arguments not shown: {exc}>")
    except Undecodable as exc:
        return DecodedCall(f"<undecodable job data: {exc}>", "", readable=False)
    render = _renderer(meter)
    if not (isinstance(value, tuple) and len(value) == 4):
        return DecodedCall(f"<unexpected job data: {render.text(value, limit)}>", "", False)
    function, instance, args, kwargs = value
    name = _name(function, instance, render)
    return DecodedCall(name, render.arguments(args, kwargs, limit))


def call_name(data: bytes | None) -> str:
    """The function a job calls, `<instance>.method` for a method, as a list of jobs shows it.

    Like `decode_job_data(data).function`, but only the pickle's head is walked
    (`NAME_OPCODES`): RQ writes the function and instance before the arguments,
    so a job with a megabyte of arguments costs what a small one does.
    """
    if not data:
        return "<no function recorded>"
    meter = Meter()
    try:
        return _call_name(data, meter)
    finally:
        _record(meter)


def _call_name(data: bytes, meter: Meter) -> str:
    try:
        raw = _decompress(data)
        plain = _plain_function(raw)
        if plain is not None:
            meter.steps += 1
            return plain
        value, whole = walk_head(raw, meter, NAME_OPCODES)
    except Undecodable as exc:
        return f"<undecodable job data: {exc}>"
    render = _renderer(meter)
    if whole and not (isinstance(value, tuple) and len(value) == 4):
        return f"<unexpected job data: {render.text(value, FUNCTION_LIMIT)}>"
    if not value:
        return f"<undecodable job data: no function in its first {NAME_OPCODES:,} opcodes>"
    return _name(value[0], value[1] if len(value) > 1 else None, render)


def _plain_function(raw: bytes) -> str | None:
    """The function of job data laid out as RQ writes a plain function's call, read from its
    bytes: a tenth of the walk's time, which a search of every job pays per job. None for
    any other layout (a method's instance, an older protocol), left to the walk."""
    head = _RQ_HEAD.match(raw)
    if head is None:
        return None
    start = head.end()
    end = start + head.group(1)[0]
    after = end + (raw[end : end + 1] == b"\x94")  # MEMOIZE, unless the memo is off
    if raw[after : after + 1] != b"N":  # NONE: no instance
        return None
    try:
        return raw[start:end].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _name(function: Any, instance: Any, render: Renderer) -> str:
    name = function if isinstance(function, str) else render.text(function, FUNCTION_LIMIT)
    name = clip(name, FUNCTION_LIMIT)
    return f"{render.text(instance, FUNCTION_LIMIT)}.{name}" if instance is not None else name


def function_name(data: bytes | None) -> str | None:
    """Just the function a job calls, for grouping; None when it cannot be read.

    Cheap enough for every finished job: only the pickle's head is inflated,
    and the walk stops at its first string, which RQ writes as the function.
    """
    if not data:
        return None
    meter = Meter()
    try:
        return _head_function(data, meter)
    finally:
        _record(meter)


def _head_function(data: bytes, meter: Meter) -> str | None:
    try:
        head = zlib.decompressobj().decompress(data[:_FUNCTION_HEAD_INPUT], _FUNCTION_HEAD_BYTES)
        for opcode, arg, _pos in pickletools.genops(head):
            meter.steps += 1
            if opcode.name in _STRINGS:
                return str(arg)
            if opcode.name not in _PREAMBLE:
                return None
    except Exception:  # a malformed or cut pickle: no name to give
        return None
    return None


def render_pickle(data: bytes | None, limit: int = ARGUMENTS_LIMIT) -> str:
    """Any pickled value (a result, `meta`) as display text."""
    if data is None:
        return "None"
    meter = Meter()
    try:
        if len(data) > MAX_PICKLE_BYTES:
            raise Undecodable(f"larger than {MAX_PICKLE_BYTES} bytes")
        value = walk(data, meter, MAX_OPCODES)
        return _renderer(meter).text(value, _room(limit))
    except Undecodable as exc:
        return f"<undecodable pickle: {exc}>"
    finally:
        _record(meter)


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    """A pickled dict of text keys, as arq keeps a job and its result, never unpickled: its
    plain values as they are (placeholders for the rest), shown on demand within the
    record's budget; `problem` says why it has no fields."""

    fields: dict[str, Any]
    problem: str | None
    meter: Meter

    def number(self, key: str) -> float | None:
        value = self.fields.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        return float(value) if math.isfinite(value) else None

    def text(self, key: str, limit: int = ARGUMENTS_LIMIT) -> str:
        """The value of `key` as display text, a string quoted as Python writes it; `-` when
        the record has none."""
        if key not in self.fields:
            return "-"
        return self._render().text(self.fields[key], _room(limit))

    def arguments(self, args: str, kwargs: str, limit: int = ARGUMENTS_LIMIT) -> str:
        return self._render().arguments(
            self.fields.get(args, ()), self.fields.get(kwargs), _room(limit)
        )

    def exception(self, key: str, limit: int = ARGUMENTS_LIMIT) -> str:
        """An exception pickled as its class called with its arguments, as `Class: message`."""
        value, name = self.fields.get(key), self.class_name(key)
        if name is None or not isinstance(value, Call):
            return self.text(key, limit)
        args = value.args if isinstance(value.args, tuple) else ()
        if len(args) == 1 and isinstance(args[0], str):
            return clip(f"{name}: {args[0]}", limit)
        shown = self._render().arguments(args, None, _room(limit)) if args else ""
        return clip(f"{name}: {shown}" if shown else name, limit)

    def class_name(self, key: str) -> str | None:
        """The class a value would be built from, as Python's traceback names it (`builtins`
        unqualified); None for a plain value."""
        value = self.fields.get(key)
        if not (isinstance(value, Call) and isinstance(value.factory, Global)):
            return None
        return value.factory.name.removeprefix("builtins.")

    def _render(self) -> Renderer:
        return _renderer(self.meter)


def decode_record(data: bytes | None) -> DecodedRecord:
    """What a pickled dict of text keys holds; a placeholder problem for anything else."""
    meter = Meter()
    if not data:
        return DecodedRecord({}, "<empty>", meter)
    try:
        if len(data) > MAX_PICKLE_BYTES:
            raise Undecodable(f"larger than {MAX_PICKLE_BYTES} bytes")
        value = walk(data, meter, MAX_OPCODES)
    except Undecodable as exc:
        return DecodedRecord({}, f"<undecodable pickle: {exc}>", meter)
    finally:
        _record(meter)
    if not isinstance(value, Dict):
        return DecodedRecord({}, f"<unexpected pickle: {type(value).__name__}, not a dict>", meter)
    fields = {key: item for key, item in value.pairs if isinstance(key, str)}
    return DecodedRecord(fields, None, meter)


def inflate(data: bytes, limit: int) -> tuple[bytes, bool]:
    """zlib data inflated to at most `limit` bytes, and whether more was left.

    Raises ValueError when `data` is not zlib: a bomb or garbage costs nothing.
    """
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, limit)
    except zlib.error as exc:
        raise ValueError("not zlib-compressed") from exc
    return raw, bool(inflater.unconsumed_tail)


def _room(limit: int) -> int:
    return MAX_OUTPUT if limit <= 0 else min(limit, MAX_OUTPUT)


def _renderer(meter: Meter) -> Renderer:
    return Renderer(meter, meter.steps + MAX_NODES, MAX_DEPTH, MAX_ITEMS, MAX_INT_DIGITS)


def _decompress(data: bytes) -> bytes:
    if len(data) > MAX_PICKLE_BYTES:
        raise Undecodable(f"larger than {MAX_PICKLE_BYTES} bytes")
    try:
        raw, cut = inflate(data, MAX_PICKLE_BYTES)
    except ValueError as exc:
        raise Undecodable(str(exc)) from exc
    if cut:
        raise Undecodable(f"larger than {MAX_PICKLE_BYTES} bytes")
    return raw
