"""Walked pickle values as Python-like text, within a budget of characters and steps.

Every value rendered costs a step from the record's meter; text is written
into a fixed number of characters and nothing is built beyond them (a huge
string is sliced before `repr`, a huge int is described by its size). A
container already shown once is not walked again: one holding other
containers becomes `<shared list>`, and one inside itself `<cycle>`, so
structure shared through the memo costs its size once, not its expansion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from qwatch.pickle.literals import bytes_literal, literal
from qwatch.pickle.machine import Call, Dict, Global, Latin1Bytes, Meter, Set

CUT = "… [more characters cut]"
_BYTES_FACTORIES = {"builtins.bytes", "__builtin__.bytes"}
_BYTEARRAY_FACTORIES = {"builtins.bytearray", "__builtin__.bytearray"}
_RECONSTRUCTORS = {"copyreg._reconstructor", "copy_reg._reconstructor"}
_LOG10_2 = 0.30102999566398120
_KEY_LIMIT = 100
T = TypeVar("T")


class Renderer:
    """Renders the values of one record; what it has shown it remembers, to show it once."""

    def __init__(
        self, meter: Meter, max_steps: int, max_depth: int, max_items: int, max_int_digits: int
    ) -> None:
        self.meter = meter
        self.max_steps = max_steps
        self.max_depth = max_depth
        self.max_items = max_items
        self.max_int_bits = int(max_int_digits / _LOG10_2)
        self.shown: dict[int, bool] = {}
        """Containers shown so far, and whether each holds containers."""
        self.open: set[int] = set()
        self.parts: list[str] = []
        self.room = 0
        self.cut = False

    def text(self, value: Any, limit: int) -> str:
        """`value` as text of at most `limit` characters, then a note if it was cut."""
        self._start(limit)
        self._value(value, 0)
        return self._finish()

    def arguments(self, args: Any, kwargs: Any, limit: int) -> str:
        """A call's arguments: positional, then `name=value` for each keyword."""
        self._start(limit)
        positional = args if isinstance(args, (tuple, list)) else [args]
        pairs = kwargs.pairs if isinstance(kwargs, Dict) else []
        self._each(positional, 0, self._value)
        self._each(pairs, 0, self._keyword, first=not positional)
        return self._finish()

    def _start(self, limit: int) -> None:
        self.parts, self.room, self.cut = [], limit, False

    def _finish(self) -> str:
        text = "".join(self.parts)
        return text + CUT if self.cut else text

    def _emit(self, text: str) -> None:
        if len(text) > self.room:
            text = text[: self.room]
            self.cut = True
        self.parts.append(text)
        self.room -= len(text)

    def _value(self, value: Any, depth: int) -> None:
        if self.room <= 0:
            self.cut = True
            return
        self.meter.steps += 1
        if self.meter.steps > self.max_steps:
            self.room, self.cut = 0, True  # the record's steps are spent: nothing more is shown
        elif depth > self.max_depth:
            self._emit("…")
        elif isinstance(value, (list, tuple, Dict, Set, Call)):
            self._container(value, depth)
        else:
            self._emit(self._scalar(value))

    def _scalar(self, value: Any) -> str:
        """A value holding no others, written within the room left (plus a little)."""
        if value is None or isinstance(value, (bool, float)):
            return repr(value)
        if isinstance(value, int):
            return self._int(value)
        if isinstance(value, (str, bytes, bytearray)):
            return repr(value[: self.room + 1])
        if isinstance(value, Latin1Bytes):
            shown = bytes_literal(value.text[: self.room + 1])
            return shown if shown is not None else "<_codecs.encode(…, 'latin1')>"
        if isinstance(value, Global):
            return f"<{value.name}>"
        return f"<{type(value).__name__}>"

    def _int(self, value: int) -> str:
        bits = value.bit_length()
        if bits <= self.max_int_bits:
            return repr(value)
        return f"<int of about {int(bits * _LOG10_2) + 1:,} digits>"

    def _container(self, value: Any, depth: int) -> None:
        key = id(value)
        if key in self.open:
            self._emit("<cycle>")
            return
        if self.shown.get(key):
            self._emit(f"<shared {_kind(value)}>")
            return
        self.shown[key] = self._holds_containers(value)
        self.open.add(key)
        try:
            self._open_container(value, depth)
        finally:
            self.open.discard(key)

    def _open_container(self, value: Any, depth: int) -> None:
        if isinstance(value, list):
            self._wrapped("[", value, "]", depth)
        elif isinstance(value, tuple):
            self._wrapped("(", value, ",)" if len(value) == 1 else ")", depth)
        elif isinstance(value, Dict):
            self._emit("{")
            self._each(value.pairs, depth, self._pair)
            self._emit("}")
        elif isinstance(value, Set):
            self._set(value, depth)
        else:
            self._call(value, depth)

    def _wrapped(self, start: str, items: Sequence[Any], end: str, depth: int) -> None:
        self._emit(start)
        self._each(items, depth, self._value)
        self._emit(end)

    def _each(
        self, entries: Sequence[T], depth: int, show: Callable[[T, int], None], first: bool = True
    ) -> None:
        """Up to `max_items` entries, each shown by `show`, joined by commas (one before the
        first too, unless `first`), then how many more there are."""
        if self._too_deep(depth, len(entries)):
            return
        for index, entry in enumerate(entries[: self.max_items]):
            if self.room <= 0:
                self.cut = True
                return
            if index or not first:
                self._emit(", ")
            show(entry, depth + 1)
        self._more(len(entries))

    def _pair(self, pair: tuple[Any, Any], depth: int) -> None:
        """`key: value`, of a dict."""
        key, item = pair
        self._value(key, depth)
        self._emit(": ")
        self._value(item, depth)

    def _keyword(self, pair: tuple[Any, Any], depth: int) -> None:
        """`name=value`, of a call; a name that is no identifier is shown as a value."""
        key, item = pair
        if isinstance(key, str) and len(key) <= _KEY_LIMIT and key.isidentifier():
            self._emit(key)
        else:
            self._value(key, depth)
        self._emit("=")
        self._value(item, depth)

    def _too_deep(self, depth: int, count: int) -> bool:
        """Items past the depth limit are shown as one `…` for the lot."""
        if depth < self.max_depth or not count:
            return False
        self.meter.steps += 1
        self._emit("…")
        return True

    def _more(self, count: int) -> None:
        if count > self.max_items and self.room > 0:
            self._emit(f", … {count - self.max_items} more")

    def _set(self, value: Set, depth: int) -> None:
        if not value.items:
            self._emit("frozenset()" if value.frozen else "set()")
            return
        self._emit("frozenset({" if value.frozen else "{")
        self._each(value.items, depth, self._value)
        self._emit("})" if value.frozen else "}")

    def _call(self, call: Call, depth: int) -> None:
        """A known value as its literal, bytes built by old protocols as bytes, else `<name(…)>`."""
        shown = literal(call)
        if shown is not None:
            self._emit(shown)
            return
        name = call.factory.name if isinstance(call.factory, Global) else "object"
        args = call.args if isinstance(call.args, tuple) else (call.args,)
        if name in _RECONSTRUCTORS and args and isinstance(args[0], Global):
            self._emit(f"<{args[0].name}>")
        elif name in _BYTES_FACTORIES and not args:
            self._emit("b''")
        elif name in _BYTEARRAY_FACTORIES and len(args) <= 1 and _all_bytes(args):
            self._wrapped("bytearray(", args or (b"",), ")", depth)
        else:
            self._emit(f"<{name}(")
            self._each(args, depth, self._value)
            if isinstance(call.kwargs, Dict):
                self._each(call.kwargs.pairs, depth, self._keyword, first=not args)
            self._emit(")>")

    def _holds_containers(self, value: Any) -> bool:
        """Whether showing `value` again could cost more than its own items."""
        return any(isinstance(item, _CONTAINERS) for item in _children(value, self.max_items))


_CONTAINERS = (list, tuple, Dict, Set, Call)


def _children(value: Any, limit: int) -> Iterable[Any]:
    if isinstance(value, (list, tuple)):
        return value[:limit]
    if isinstance(value, Dict):
        return [part for pair in value.pairs[:limit] for part in pair]
    if isinstance(value, Set):
        return value.items[:limit]
    if isinstance(value, Call):
        args = value.args if isinstance(value.args, tuple) else (value.args,)
        return [*args[:limit], value.kwargs, value.state]
    return ()


def _all_bytes(args: tuple[Any, ...]) -> bool:
    return all(isinstance(arg, (bytes, Latin1Bytes)) for arg in args)


def _kind(value: Any) -> str:
    if isinstance(value, Dict):
        return "dict"
    if isinstance(value, Set):
        return "frozenset" if value.frozen else "set"
    if isinstance(value, Call):
        return "object"
    return type(value).__name__
