"""What a reader remembers from one sample to the next, bounded by the last sample.

Most of what a sample reads is what the previous one read: the same queue
and worker names, the same worker hashes but for a heartbeat. Work done on
a value (packing commands for a name, parsing a hash) is kept for the
values of the latest sample only: each sample keeps those it used and
forgets the others, so workers that come and go by the thousand leave
nothing behind. The memory belongs to one client and goes with it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

import redis

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class Remembered(Generic[K, T]):
    """Values made from keys, kept for the keys of the latest use only."""

    def __init__(self, make: Callable[[K], T]) -> None:
        self._make = make
        self._values: dict[K, T] = {}
        self._keys: list[K] = []
        self._last: list[T] = []
        """The last use's keys and values, in its order: a sample that uses the same keys
        as the last one (most do) gets them from one comparison at C speed."""

    def __len__(self) -> int:
        return len(self._values)

    def use(self, keys: Sequence[K]) -> list[T]:
        """The value of each key, made for keys not used the last time."""
        keys = list(keys)
        if keys == self._keys:
            return list(self._last)
        known, make = self._values, self._make
        values = {key: known[key] if key in known else make(key) for key in keys}
        self._values = values
        self._keys, self._last = keys, [values[key] for key in keys]
        return list(self._last)


class PerClient(Generic[T]):
    """One value per client, made at the client's first use and forgotten with the client."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._clients: WeakKeyDictionary[redis.Redis, T] = WeakKeyDictionary()

    def of(self, client: redis.Redis) -> T:
        value = self._clients.get(client)
        if value is None:
            value = self._clients[client] = self._make()
        return value


class ClientMemory(PerClient[Remembered[K, T]]):
    """One `Remembered` per client, forgotten with the client."""

    def __init__(self, make: Callable[[K], T]) -> None:
        super().__init__(lambda: Remembered(make))
