"""Show what a job's pickle holds without ever unpickling it.

RQ stores a job's call as `zlib(pickle((function, instance, args, kwargs)))`.
Unpickling runs whatever the pickle names, so qwatch never does: it walks
the opcodes with `pickletools.genops`, a parser that imports and calls
nothing, and rebuilds plain values (numbers, strings, bytes, containers)
as Python literals. Anything that would need code to build (a datetime, a
model instance) becomes a placeholder naming it, such as
`<datetime.datetime(b'...')>`. Garbage gives a readable note, never an error.
"""

from __future__ import annotations

import pickletools
import zlib
from dataclasses import dataclass
from typing import Any

from qwatch.formatting import clip

MAX_PICKLE_BYTES = 1 << 20
"""Larger payloads are not walked: a decompression bomb costs nothing."""

_FUNCTION_HEAD_BYTES = 1024
_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"}
_PREAMBLE = {"PROTO", "FRAME", "MARK"}

MAX_ITEMS = 50
MAX_DEPTH = 12
ARGUMENTS_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class DecodedCall:
    """A job's function and its arguments as display text."""

    function: str
    arguments: str
    readable: bool = True

    def __str__(self) -> str:
        return f"{self.function}({self.arguments})" if self.readable else self.function


@dataclass(slots=True)
class _Global:
    name: str


@dataclass(slots=True)
class _Object:
    """Something only code could build: a class called with arguments."""

    factory: Any
    args: Any


@dataclass(slots=True)
class _Dict:
    pairs: list[tuple[Any, Any]]


@dataclass(slots=True)
class _Set:
    items: list[Any]
    frozen: bool


class _Mark:
    pass


_MARK = _Mark()


class _Undecodable(Exception):
    pass


def decode_job_data(data: bytes | None, limit: int = ARGUMENTS_LIMIT) -> DecodedCall:
    """The call a job's `data` field describes; placeholders where it cannot be read."""
    if not data:
        return DecodedCall("<no function recorded>", "", readable=False)
    try:
        value = _walk(_decompress(data))
    except _Undecodable as exc:
        return DecodedCall(f"<undecodable job data: {exc}>", "", readable=False)
    if not (isinstance(value, tuple) and len(value) == 4):
        return DecodedCall(f"<unexpected job data: {clip(_render(value, 0), limit)}>", "", False)
    function, instance, args, kwargs = value
    name = function if isinstance(function, str) else _render(function, 0)
    if instance is not None:
        name = f"{_render(instance, 0)}.{name}"
    parts = [_render(arg, 1) for arg in _items(args)]
    if isinstance(kwargs, _Dict):
        parts += [f"{_key_name(key)}={_render(val, 1)}" for key, val in kwargs.pairs]
    return DecodedCall(name, clip(", ".join(parts), limit))


def function_name(data: bytes | None) -> str | None:
    """Just the function a job calls, for grouping; None when it cannot be read.

    Cheap enough for every finished job: only the pickle's head is inflated,
    and the walk stops at its first string, which RQ writes as the function.
    """
    if not data:
        return None
    try:
        head = zlib.decompressobj().decompress(data, _FUNCTION_HEAD_BYTES)
        for opcode, arg, _pos in pickletools.genops(head):
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
    try:
        return clip(_render(_walk(data), 0), limit)
    except _Undecodable as exc:
        return f"<undecodable pickle: {exc}>"


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


def _decompress(data: bytes) -> bytes:
    try:
        raw, cut = inflate(data, MAX_PICKLE_BYTES)
    except ValueError as exc:
        raise _Undecodable(str(exc)) from exc
    if cut:
        raise _Undecodable(f"larger than {MAX_PICKLE_BYTES} bytes")
    return raw


def _walk(data: bytes) -> Any:
    """Run the pickle's stack machine over plain values only."""
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            _step(opcode.name, arg, stack, memo)
        return stack.pop()
    except _Undecodable:
        raise
    except Exception as exc:  # a malformed pickle can fail in many ways
        raise _Undecodable(f"{type(exc).__name__}: {exc}") from exc


def _pop_mark(stack: list[Any]) -> list[Any]:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is _MARK:
            items = stack[index + 1 :]
            del stack[index:]
            return items
    raise _Undecodable("MARK missing")


_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_ARG_PUSHERS = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4",
    "FLOAT", "BINFLOAT", "STRING", "BINSTRING", "SHORT_BINSTRING",
    "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8",
    "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8",
}  # fmt: skip
_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
_GETS = {"GET", "BINGET", "LONG_BINGET"}
_TUPLES = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}
_CALLS = {"REDUCE", "NEWOBJ"}
_IGNORED = {"PROTO", "FRAME", "STOP"}


def _step(name: str, arg: Any, stack: list[Any], memo: dict[int, Any]) -> None:
    if name in _ARG_PUSHERS:
        stack.append(arg)
    elif name in _CONSTANTS:
        stack.append(_CONSTANTS[name])
    elif name in _IGNORED:
        pass
    elif name == "MARK":
        stack.append(_MARK)
    elif name in _PUTS:
        memo[arg] = stack[-1]
    elif name == "MEMOIZE":
        memo[len(memo)] = stack[-1]
    elif name in _GETS:
        stack.append(memo[arg])
    elif name == "EMPTY_TUPLE":
        stack.append(())
    elif name in _TUPLES:
        count = _TUPLES[name]
        popped = tuple(stack[-count:])
        del stack[-count:]
        stack.append(popped)
    elif name == "TUPLE":
        stack.append(tuple(_pop_mark(stack)))
    elif name == "EMPTY_LIST":
        stack.append([])
    elif name == "LIST":
        stack.append(_pop_mark(stack))
    elif name == "APPEND":
        item = stack.pop()
        _as(stack[-1], list).append(item)
    elif name == "APPENDS":
        items = _pop_mark(stack)
        _as(stack[-1], list).extend(items)
    elif name == "EMPTY_DICT":
        stack.append(_Dict([]))
    elif name == "DICT":
        items = _pop_mark(stack)
        stack.append(_Dict(list(zip(items[::2], items[1::2]))))
    elif name == "SETITEM":
        value = stack.pop()
        key = stack.pop()
        _as(stack[-1], _Dict).pairs.append((key, value))
    elif name == "SETITEMS":
        items = _pop_mark(stack)
        _as(stack[-1], _Dict).pairs.extend(zip(items[::2], items[1::2]))
    elif name == "EMPTY_SET":
        stack.append(_Set([], frozen=False))
    elif name == "ADDITEMS":
        items = _pop_mark(stack)
        _as(stack[-1], _Set).items.extend(items)
    elif name == "FROZENSET":
        stack.append(_Set(_pop_mark(stack), frozen=True))
    elif name == "GLOBAL":
        stack.append(_Global(str(arg).replace(" ", ".")))
    elif name == "STACK_GLOBAL":
        qualname = stack.pop()
        module = stack.pop()
        stack.append(_Global(f"{module}.{qualname}"))
    elif name in _CALLS:
        args = stack.pop()
        stack.append(_plain_call(stack.pop(), args))
    elif name == "NEWOBJ_EX":
        kwargs = stack.pop()
        args = stack.pop()
        stack.append(_Object(stack.pop(), (*_items(args), kwargs)))
    elif name == "BUILD":
        stack.pop()  # the state a __setstate__ would receive: not shown
    elif name == "OBJ":
        items = _pop_mark(stack)
        stack.append(_Object(items[0], tuple(items[1:])) if items else _Object(None, ()))
    elif name == "INST":
        stack.append(_Object(_Global(str(arg).replace(" ", ".")), tuple(_pop_mark(stack))))
    elif name == "POP":
        stack.pop()
    elif name == "POP_MARK":
        _pop_mark(stack)
    elif name == "DUP":
        stack.append(stack[-1])
    elif name in {"PERSID", "BINPERSID"}:
        if name == "BINPERSID":
            stack.pop()
        stack.append(_Global("persistent reference"))
    elif name in {"EXT1", "EXT2", "EXT4"}:
        stack.append(_Global(f"extension {arg}"))
    else:
        raise _Undecodable(f"unsupported opcode {name}")


_PLAIN_SETS = {
    "builtins.set": False,
    "__builtin__.set": False,
    "builtins.frozenset": True,
    "__builtin__.frozenset": True,
}


def _plain_call(factory: Any, args: Any) -> Any:
    """Old pickle protocols spell bytes and sets as calls; rebuild those as data."""
    name = factory.name if isinstance(factory, _Global) else ""
    items = _items(args)
    if name == "_codecs.encode" and len(items) == 2 and isinstance(items[0], str):
        try:
            return items[0].encode(str(items[1]))
        except (LookupError, UnicodeError):
            pass
    if name in _PLAIN_SETS and len(items) == 1 and isinstance(items[0], list):
        return _Set(items[0], frozen=_PLAIN_SETS[name])
    return _Object(factory, args)


def _as(value: Any, kind: type) -> Any:
    """The container an opcode adds to; a placeholder object absorbs additions."""
    if isinstance(value, kind):
        return value
    if kind is list:
        return []
    return kind([]) if kind is _Dict else _Set([], frozen=False)


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _key_name(key: Any) -> str:
    return key if isinstance(key, str) and key.isidentifier() else _render(key, 1)


def _render(value: Any, depth: int) -> str:
    if depth > MAX_DEPTH:
        return "…"
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return clip(repr(value), ARGUMENTS_LIMIT)
    if isinstance(value, bytearray):
        return clip(repr(value), ARGUMENTS_LIMIT)
    if isinstance(value, _Global):
        return f"<{value.name}>"
    if isinstance(value, _Object):
        factory = value.factory.name if isinstance(value.factory, _Global) else "object"
        if factory.endswith("copyreg._reconstructor") and isinstance(value.args, tuple):
            inner = value.args[0] if value.args else None
            factory = inner.name if isinstance(inner, _Global) else factory
            return f"<{factory}>"
        return f"<{factory}({_join(_items(value.args), depth)})>"
    if isinstance(value, tuple):
        inner = _join(list(value), depth)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return f"[{_join(value, depth)}]"
    if isinstance(value, _Dict):
        shown = [
            f"{_render(k, depth + 1)}: {_render(v, depth + 1)}" for k, v in value.pairs[:MAX_ITEMS]
        ]
        return "{" + ", ".join(shown + _more(len(value.pairs))) + "}"
    if isinstance(value, _Set):
        if not value.items:
            return "frozenset()" if value.frozen else "set()"
        inner = "{" + _join(value.items, depth) + "}"
        return f"frozenset({inner})" if value.frozen else inner
    return f"<{type(value).__name__}>"


def _join(values: list[Any], depth: int) -> str:
    shown = [_render(value, depth + 1) for value in values[:MAX_ITEMS]]
    return ", ".join(shown + _more(len(values)))


def _more(count: int) -> list[str]:
    return [f"… {count - MAX_ITEMS} more"] if count > MAX_ITEMS else []
