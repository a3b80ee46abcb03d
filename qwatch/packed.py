"""Commands a reader sends at every sample, packed once per name and remembered per client.

Packing a command costs a microsecond or two, and at a thousand queues and
workers a sample sends some 6,000 commands that are the same every time but
for the sample's time. Those are packed once per queue or worker name, with
a gap where the time goes, and filled in at each sample by joining bytes.

What is remembered is bounded by what is live: each sample keeps the names
it used and forgets the others, so workers that come and go by the thousand
leave nothing behind. The memory belongs to one client and goes with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

import redis

from qwatch.batch import Packed

NOW = object()
"""Stands in a template's command for the argument filled in at each sample."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Template:
    """Commands packed once, with gaps where the `NOW` argument goes."""

    parts: tuple[bytes, ...]
    count: int

    def fill(self, value: str) -> Packed:
        """The commands with `value` in every gap."""
        return Packed(_bulk(value).join(self.parts), self.count)


def template(*commands: tuple[object, ...]) -> Template:
    """Commands in Redis' wire format, cut where an argument is `NOW`."""
    parts: list[bytes] = []
    current: list[bytes] = []
    for command in commands:
        current.append(b"*%d\r\n" % len(command))
        for argument in command:
            if argument is NOW:
                parts.append(b"".join(current))
                current = []
            else:
                current.append(_bulk(argument))
    parts.append(b"".join(current))
    return Template(tuple(parts), len(commands))


def _bulk(argument: object) -> bytes:
    data = argument if isinstance(argument, bytes) else str(argument).encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


class Remembered(Generic[T]):
    """Values made from names, kept for the names of the latest use only."""

    def __init__(self, make: Callable[[str], T]) -> None:
        self._make = make
        self._values: dict[str, T] = {}

    def __len__(self) -> int:
        return len(self._values)

    def use(self, names: Sequence[str]) -> list[T]:
        """The value of each name, made for names not used the last time."""
        known, make = self._values, self._make
        values = {name: known.get(name) or make(name) for name in names}
        self._values = values
        return [values[name] for name in names]


class ClientMemory(Generic[T]):
    """One `Remembered` per client, forgotten with the client."""

    def __init__(self, make: Callable[[str], T]) -> None:
        self._make = make
        self._clients: WeakKeyDictionary[redis.Redis, Remembered[T]] = WeakKeyDictionary()

    def of(self, client: redis.Redis) -> Remembered[T]:
        remembered = self._clients.get(client)
        if remembered is None:
            remembered = self._clients[client] = Remembered(self._make)
        return remembered
