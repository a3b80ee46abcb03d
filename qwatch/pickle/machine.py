"""The pickle stack machine over plain values: builds what opcodes describe, calls nothing.

Opcodes come from `pickletools.genops`, a parser that imports and calls
nothing. Where unpickling would call something (REDUCE, NEWOBJ, BUILD), the
machine records a `Call` naming it instead. Every opcode does constant work
or work proportional to the bytes it read or the items it pops, so a walk
costs at most a few operations per opcode, and the opcodes are counted
against a budget: memo references and shared structure cost one step each.
"""

from __future__ import annotations

import pickletools
from dataclasses import dataclass, field
from typing import Any

from qwatch.limits import GLOBAL_NAME_LIMIT


class Undecodable(Exception):
    """The pickle cannot be walked; the message says why, in one short line."""


class OverBudget(Undecodable):
    """The pickle needs more steps than one record may cost."""


@dataclass(slots=True)
class Meter:
    """Steps spent on one record: opcodes walked and values rendered."""

    steps: int = 0


@dataclass(slots=True)
class Global:
    """A name a pickle refers to, never imported."""

    name: str


@dataclass(slots=True, eq=False)
class Call:
    """What unpickling would build by calling `factory`: shown, never called."""

    factory: Any
    args: Any
    kwargs: Any = None
    state: Any = None


@dataclass(slots=True, eq=False)
class Dict:
    pairs: list[tuple[Any, Any]] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Set:
    items: list[Any]
    frozen: bool


@dataclass(slots=True, eq=False)
class Latin1Bytes:
    """Bytes as protocols 0-2 spell them: text whose code points are the byte values."""

    text: str


_LATIN1 = {"latin1", "latin-1"}
_PLAIN_SETS = {
    "builtins.set": False,
    "__builtin__.set": False,
    "builtins.frozenset": True,
    "__builtin__.frozenset": True,
}
_GETATTRS = {"builtins.getattr", "__builtin__.getattr"}
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False, "EMPTY_TUPLE": ()}
_ARG_PUSHERS = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4",
    "FLOAT", "BINFLOAT", "STRING", "BINSTRING", "SHORT_BINSTRING",
    "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8",
    "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8",
}  # fmt: skip
_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
_GETS = {"GET", "BINGET", "LONG_BINGET"}
_TUPLES = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}
_IGNORED = {"PROTO", "FRAME", "STOP"}


class _Machine:
    """The unpickler's state: the stack, the stacks under each MARK, and the memo."""

    def __init__(self) -> None:
        self.stack: list[Any] = []
        self.marked: list[list[Any]] = []
        self.memo: dict[int, Any] = {}

    def push(self, value: Any) -> None:
        self.stack.append(value)

    def pop(self) -> Any:
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        """The items pushed since the last MARK; constant work, like pickle's own metastack."""
        if not self.marked:
            raise Undecodable("MARK missing")
        items = self.stack
        self.stack = self.marked.pop()
        return items


def walk(data: bytes, meter: Meter, max_opcodes: int) -> Any:
    """The value the pickle describes, with placeholders for whatever needs code."""
    return _run(_Machine(), data, meter, max_opcodes)


def walk_head(data: bytes, meter: Meter, max_opcodes: int) -> tuple[Any, bool]:
    """The value and True; or, when `max_opcodes` run out first, the outermost tuple's items
    built so far and False.

    A tuple's items come in order, so its first items are whole once the walk is past
    them: RQ's function and instance can be read without walking the arguments after them.
    """
    machine = _Machine()
    try:
        return _run(machine, data, meter, max_opcodes), True
    except OverBudget:
        frames = [*machine.marked, machine.stack]
        return (tuple(frames[1]) if len(frames) > 1 else ()), False


def _run(machine: _Machine, data: bytes, meter: Meter, max_opcodes: int) -> Any:
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            meter.steps += 1
            if meter.steps > max_opcodes:
                raise OverBudget(f"more than {max_opcodes:,} opcodes")
            _step(machine, opcode.name, arg)
        return machine.stack[-1]
    except Undecodable:
        raise
    except Exception as exc:  # a malformed pickle can fail in many ways
        raise Undecodable(f"{type(exc).__name__}: {str(exc)[:GLOBAL_NAME_LIMIT]}") from exc


def _step(machine: _Machine, name: str, arg: Any) -> None:
    stack = machine.stack
    if name in _ARG_PUSHERS:
        stack.append(arg)
    elif name in _CONSTANTS:
        stack.append(_CONSTANTS[name])
    elif name in _IGNORED:
        pass
    elif name == "MARK":
        machine.marked.append(stack)
        machine.stack = []
    elif name in _PUTS:
        machine.memo[arg] = stack[-1]
    elif name == "MEMOIZE":
        machine.memo[len(machine.memo)] = stack[-1]
    elif name in _GETS:
        stack.append(machine.memo[arg])
    elif name in _TUPLES:
        count = _TUPLES[name]
        if len(stack) < count:
            raise Undecodable("stack underflow")
        popped = tuple(stack[-count:])
        del stack[-count:]
        stack.append(popped)
    else:
        _build(machine, name, arg)


def _build(machine: _Machine, name: str, arg: Any) -> None:
    """Opcodes that make containers and objects."""
    if name == "TUPLE":
        machine.push(tuple(machine.pop_mark()))
    elif name == "EMPTY_LIST":
        machine.push([])
    elif name == "LIST":
        machine.push(machine.pop_mark())
    elif name == "APPEND":
        item = machine.pop()
        _into(machine.stack[-1], list).append(item)
    elif name == "APPENDS":
        items = machine.pop_mark()
        _into(machine.stack[-1], list).extend(items)
    elif name == "EMPTY_DICT":
        machine.push(Dict())
    elif name == "DICT":
        items = machine.pop_mark()
        machine.push(Dict(list(zip(items[::2], items[1::2]))))
    elif name == "SETITEM":
        value = machine.pop()
        key = machine.pop()
        _into(machine.stack[-1], Dict).pairs.append((key, value))
    elif name == "SETITEMS":
        items = machine.pop_mark()
        _into(machine.stack[-1], Dict).pairs.extend(zip(items[::2], items[1::2]))
    elif name == "EMPTY_SET":
        machine.push(Set([], frozen=False))
    elif name == "ADDITEMS":
        items = machine.pop_mark()
        _into(machine.stack[-1], Set).items.extend(items)
    elif name == "FROZENSET":
        machine.push(Set(machine.pop_mark(), frozen=True))
    else:
        _objects(machine, name, arg)


def _objects(machine: _Machine, name: str, arg: Any) -> None:
    """Opcodes that would import or call: each only records a name or a Call."""
    if name in {"GLOBAL", "INST"}:
        module, _, qualname = str(arg).partition(" ")
        found = _global(module, qualname)
        machine.push(Call(found, tuple(machine.pop_mark())) if name == "INST" else found)
    elif name == "STACK_GLOBAL":
        qualname = machine.pop()
        machine.push(_global(machine.pop(), qualname))
    elif name == "REDUCE":
        args = machine.pop()
        machine.push(_call(machine.pop(), args))
    elif name == "NEWOBJ":
        args = machine.pop()
        machine.push(Call(machine.pop(), args))
    elif name == "NEWOBJ_EX":
        kwargs = machine.pop()
        args = machine.pop()
        machine.push(Call(machine.pop(), args, kwargs))
    elif name == "OBJ":
        items = machine.pop_mark()
        machine.push(Call(items[0], tuple(items[1:])) if items else Call(None, ()))
    elif name == "BUILD":
        state = machine.pop()
        target = machine.stack[-1]
        if isinstance(target, Call) and target.state is None:
            target.state = state
    else:
        _stack_ops(machine, name, arg)


def _stack_ops(machine: _Machine, name: str, arg: Any) -> None:
    stack = machine.stack
    if name == "POP":
        if stack:
            stack.pop()
        else:
            machine.pop_mark()
    elif name == "POP_MARK":
        machine.pop_mark()
    elif name == "DUP":
        stack.append(stack[-1])
    elif name == "PERSID":
        stack.append(Global("persistent reference"))
    elif name == "BINPERSID":
        stack[-1] = Global("persistent reference")
    elif name in {"EXT1", "EXT2", "EXT4"}:
        stack.append(Global(f"extension {arg}"))
    else:
        raise Undecodable(f"unsupported opcode {name}")


def _global(module: Any, qualname: Any) -> Global:
    """A name, cut short: a memoised megabyte-long name costs no more than a short one."""
    if not (isinstance(module, str) and isinstance(qualname, str)):
        return Global("?")
    return Global(f"{module[:GLOBAL_NAME_LIMIT]}.{qualname[:GLOBAL_NAME_LIMIT]}")


def _call(factory: Any, args: Any) -> Any:
    """Old protocols spell bytes and sets as calls; those become data, the rest a Call.

    `getattr(SomeClass, 'name')`, how a classmethod is pickled, becomes the name it spells.
    """
    name = factory.name if isinstance(factory, Global) else ""
    if not isinstance(args, tuple):
        return Call(factory, args)
    if name == "_codecs.encode" and len(args) == 2:
        text, encoding = args
        if isinstance(text, str) and isinstance(encoding, str) and encoding in _LATIN1:
            return Latin1Bytes(text)
    if name in _GETATTRS and len(args) == 2 and isinstance(args[0], Global):
        return _global(args[0].name, args[1])
    if name in _PLAIN_SETS and len(args) == 1 and isinstance(args[0], list):
        return Set(args[0], frozen=_PLAIN_SETS[name])
    return Call(factory, args)


def _into(value: Any, kind: type) -> Any:
    """The container an opcode adds to; a placeholder absorbs additions to anything else."""
    if isinstance(value, kind):
        return value
    if kind is list:
        return []
    return Dict() if kind is Dict else Set([], frozen=False)
