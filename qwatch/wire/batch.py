"""Many Redis commands in one round trip, packed and parsed by hiredis.

redis-py's pipeline spends about 7 µs of Python per command on packing and
parsing; at a thousand queues that is most of a snapshot's time. Here hiredis
packs each command in C, the batch goes out in one write, and a hiredis
Reader parses the replies. Error replies (WRONGTYPE, NOPERM) come back as
`hiredis.ReplyError` values in their slot, so one odd key never spoils the
batch. A caller may take the replies as they arrive (`sent`), working on the
first while Redis still executes the rest; a large round trip's commands
are written a part at a time, one more each time the caller waits for
replies, so that Redis always has commands to run and the caller never waits
in a write while replies it could take are there. redis-py still owns the
connection: URL, TLS, AUTH, Sentinel, timeouts. Replies are read as RESP2,
so the client must use `protocol=2` (as `connect` does).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import hiredis
import redis
from redis.connection import Connection

Command = tuple[str | bytes | int | float, ...]


@dataclass(frozen=True, slots=True)
class Packed:
    """Commands packed once and sent as they are, for those a caller repeats every sample."""

    data: bytes
    count: int


def pack(*commands: Command) -> Packed:
    """Pack commands now, to send them many times."""
    data = b"".join([hiredis.pack_command(command) for command in commands])  # type: ignore[arg-type]
    return Packed(data, len(commands))


def joined(packs: Sequence[Packed]) -> Packed:
    """Packed commands as one payload: one write, no per-command work at sending."""
    return Packed(b"".join([p.data for p in packs]), sum([p.count for p in packs]))


_READ_SIZE = 1 << 20
_MORE = object()
"""What the hiredis Reader gives when no whole reply is left: equal to no reply, so that
`iter(reader.gets, _MORE)` takes every whole reply at C speed."""
_AHEAD = 1 << 19
"""Bytes of commands written at a time: first, then each time the caller waits for
replies. All at once, a write larger than the sockets hold would block the caller until
Redis had read nearly all of it (at 10,000 queues, most of Redis' work)."""
_AUTH_ERRORS = ("NOAUTH", "WRONGPASS")
_UNAVAILABLE_ERRORS = ("LOADING", "MASTERDOWN")
"""Error replies that concern the whole connection, not one key: the batch fails."""


def run(client: redis.Redis, commands: Sequence[Command | Packed]) -> list[Any]:
    """Send `commands` in one round trip and return one reply per command, in order."""
    if not commands:
        return []
    with sent(client, commands) as replies:
        return replies.take(replies.left)


@contextmanager
def sent(client: redis.Redis, commands: Sequence[Command | Packed]) -> Iterator[Arriving]:
    """Send `commands` in one round trip; their replies are taken in order as they arrive.

    The connection goes back to the pool with every reply taken; one left
    with replies unread (the caller raised or stopped early) is closed, so
    that no later caller reads them as its own.
    """
    pool = client.connection_pool
    conn = pool.get_connection()
    if conn.protocol not in (2, "2", None):
        pool.release(conn)
        raise ValueError("qwatch reads RESP2 replies: create the client with protocol=2")
    try:
        replies = _send(conn, commands)
        yield replies
        if replies.left:
            conn.disconnect()
    except hiredis.ProtocolError as exc:
        conn.disconnect()
        raise redis.ConnectionError(f"unreadable reply from Redis: {exc}") from exc
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)


def _send(conn: Connection, commands: Sequence[Command | Packed]) -> Arriving:
    """Start one round trip: its first commands written, its replies to take."""
    payload = b"".join([_packed(command) for command in commands])
    count = sum(c.count if isinstance(c, Packed) else 1 for c in commands)
    return Arriving(conn, payload, count)


def _packed(command: Command | Packed) -> bytes:
    if isinstance(command, Packed):
        return command.data
    data: bytes = hiredis.pack_command(command)  # type: ignore[arg-type]
    return data


class Arriving:
    """The replies of one round trip, taken in order while Redis still sends the rest:
    a caller works on the first ones while Redis executes the commands behind them."""

    def __init__(self, conn: Connection, payload: bytes, count: int) -> None:
        sock = conn._sock  # redis-py exposes no public way to read or write raw bytes
        if sock is None:
            raise redis.ConnectionError("connection closed before the commands were written")
        self._sock: socket.socket = sock
        self._unwritten: memoryview = memoryview(payload)
        self._reader: hiredis.Reader = hiredis.Reader(notEnoughData=_MORE)
        self._replies: list[Any] = []
        self._taken: int = 0
        self._count: int = count
        self._write()

    @property
    def left(self) -> int:
        """Replies not taken yet."""
        return self._count - self._taken

    def take(self, count: int) -> list[Any]:
        """The next `count` replies, once they have arrived."""
        if count > self.left:
            raise ValueError(f"{count} replies wanted, {self.left} to come")
        end = self._taken + count
        while len(self._replies) < end:
            self._receive()
        taken = self._replies[self._taken : end]
        if not self._taken and taken:
            _check_connection(taken[0])
        self._taken = end
        return taken

    def _write(self) -> None:
        """The next `_AHEAD` bytes of commands, if any are left."""
        part, self._unwritten = self._unwritten[:_AHEAD], self._unwritten[_AHEAD:]
        if not part:
            return
        try:
            self._sock.sendall(part)
        except TimeoutError as exc:
            raise redis.TimeoutError("timed out writing to Redis") from exc
        except OSError as exc:
            raise redis.ConnectionError(f"error writing to Redis: {exc}") from exc

    def _receive(self) -> None:
        self._write()
        try:
            data = self._sock.recv(_READ_SIZE)
        except TimeoutError as exc:
            raise redis.TimeoutError("timed out reading from Redis") from exc
        except OSError as exc:
            raise redis.ConnectionError(f"error reading from Redis: {exc}") from exc
        if not data:
            raise redis.ConnectionError("Redis closed the connection")
        self._reader.feed(data)
        self._replies.extend(iter(self._reader.gets, _MORE))


def _check_connection(first: Any) -> None:
    """Fail the round trip on an error reply that concerns the connection, not one key."""
    if isinstance(first, hiredis.ReplyError):
        if str(first).startswith(_AUTH_ERRORS):
            raise redis.AuthenticationError(str(first))
        if str(first).startswith(_UNAVAILABLE_ERRORS):
            raise redis.ConnectionError(str(first))
