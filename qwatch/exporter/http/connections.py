"""A bounded set of open connections, so slow clients cannot crowd out scrapers.

Each connection has a thread, and there are at most `limit` of them. A
connection that has not yet sent its whole request (a TLS handshake or
headers trickling in, or nothing at all) is *waiting*: it is shut down when
it has waited longer than `deadline`, and the oldest waiting connection
makes room for a new one when every slot is taken. A connection whose
request has arrived is *busy* and runs to its end, bounded by the socket's
read and write timeout. So a client holding hundreds of half-open
connections costs each scraper at most one eviction, never a refusal.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass(eq=False)
class Connection:
    """One accepted socket (replaced by its TLS socket once wrapped) and when it arrived."""

    sock: socket.socket
    arrived: float = field(default_factory=time.monotonic)

    def shut(self) -> None:
        """Wake the thread blocked on this socket: its next read returns end of file."""
        # the plain socket's shutdown, also for a TLS socket: no close_notify is sent;
        # OSError: its own thread closed it already
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)


class ConnectionSlots:
    """Counts connections; evicts waiting ones that are too old or in the way."""

    def __init__(self, limit: int, deadline: float) -> None:
        self.limit = limit
        self.deadline = deadline
        self._lock = threading.Lock()
        self._waiting: dict[Connection, None] = {}  # insertion order: oldest first
        self._busy = 0
        self.evicted = 0

    def admit(self, sock: socket.socket) -> Connection | None:
        """A slot for a new connection, or None when every slot is busy with a request."""
        with self._lock:
            if len(self._waiting) + self._busy >= self.limit:
                if not self._waiting:
                    return None
                oldest = next(iter(self._waiting))
                del self._waiting[oldest]
                self._busy += 1  # its thread still runs until it sees the end of file
                self.evicted += 1
                oldest.shut()
            connection = Connection(sock)
            self._waiting[connection] = None
            return connection

    def started(self, connection: Connection) -> None:
        """The request has arrived: from now on the connection is not evicted."""
        with self._lock:
            if connection in self._waiting:
                del self._waiting[connection]
                self._busy += 1

    def done(self, connection: Connection) -> None:
        """The connection's thread is ending: its slot is free."""
        with self._lock:
            if connection in self._waiting:
                del self._waiting[connection]
            else:
                self._busy -= 1

    def expire(self) -> None:
        """Shut down the connections that have waited too long for their request."""
        cutoff = time.monotonic() - self.deadline
        with self._lock:
            expired = [c for c in self._waiting if c.arrived < cutoff]
            for connection in expired:
                del self._waiting[connection]
                self._busy += 1
                self.evicted += 1
                connection.shut()

    @property
    def open(self) -> int:
        """Connections holding a slot, waiting or busy."""
        with self._lock:
            return len(self._waiting) + self._busy
