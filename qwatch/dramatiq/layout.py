"""Where Dramatiq's Redis broker keeps what, under its namespace: the one place for its key names.

From dramatiq 2.2's `brokers/redis/dispatch.lua`: a queue is a list of message
ids (`ns:q`, pushed right, fetched left) beside a hash of their messages
(`ns:q.msgs`), which keeps each message until it is acked, so the hash holds
the queued and the fetched ones. Delayed messages go to the queue `q.DQ`,
which workers fetch at once and hold until their eta. Dead letters are a
sorted set by the millisecond they died (`ns:q.XQ`) beside their messages
(`ns:q.XQ.msgs`). Every command a broker sends, enqueue included, writes its
id and the millisecond into `ns:__heartbeats__`: producers appear there too.
Fetched, unacked ids are in a set per broker and queue,
`ns:__acks__.<broker id>.<queue>`.

qwatch's own keys beside them, written only by `qwatch.dramatiq.Middleware`
(exact mode): the completions stream `ns:__qwatch_completions__` and the
hash `ns:__qwatch_workers__` of the broker ids that write it. Neither ends
in `.msgs` nor starts with `__acks__.`, so no discovery mistakes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from qwatch.wire.scan import glob_escaped

DEFAULT_NAMESPACE = "dramatiq"
HEARTBEAT_TIMEOUT = 60.0
"""Seconds without a heartbeat after which Dramatiq counts a broker dead
(`DEFAULT_HEARTBEAT_TIMEOUT`), and requeues what it had fetched."""
DEAD_MESSAGE_DAYS = 7
"""How long Dramatiq keeps a dead letter (`DEFAULT_DEAD_MESSAGE_TTL`)."""
DELAY_SUFFIX = ".DQ"
DEAD_SUFFIX = ".XQ"
MESSAGES_SUFFIX = ".msgs"
HEARTBEATS = "__heartbeats__"
ACKS = "__acks__"
COMPLETIONS = "__qwatch_completions__"
MARKS = "__qwatch_workers__"


@dataclass(frozen=True, slots=True)
class DramatiqLayout:
    """Dramatiq's keys under one namespace (the broker's `namespace=`)."""

    namespace: str = DEFAULT_NAMESPACE

    def __post_init__(self) -> None:
        if not self.namespace or any(c in self.namespace for c in "\r\n\0"):
            raise ValueError(f"not a Dramatiq namespace: {self.namespace!r}")

    def queue_key(self, queue: str) -> str:
        return f"{self.namespace}:{queue}"

    def messages_key(self, queue: str) -> str:
        """The hash of the queue's messages, queued and fetched, by id."""
        return f"{self.namespace}:{queue}{MESSAGES_SUFFIX}"

    def delay_messages_key(self, queue: str) -> str:
        return self.messages_key(queue + DELAY_SUFFIX)

    def delay_queue_key(self, queue: str) -> str:
        return self.queue_key(queue + DELAY_SUFFIX)

    def dead_key(self, queue: str) -> str:
        """The sorted set of the queue's dead letters, by the millisecond each died."""
        return f"{self.namespace}:{queue}{DEAD_SUFFIX}"

    def dead_messages_key(self, queue: str) -> str:
        return f"{self.namespace}:{queue}{DEAD_SUFFIX}{MESSAGES_SUFFIX}"

    @property
    def heartbeats_key(self) -> str:
        return f"{self.namespace}:{HEARTBEATS}"

    @property
    def completions_key(self) -> str:
        """The stream of outcomes the middleware writes (`qwatch.wire.completions`)."""
        return f"{self.namespace}:{COMPLETIONS}"

    @property
    def marks_key(self) -> str:
        """The hash of the broker ids whose worker writes the stream, each to its format."""
        return f"{self.namespace}:{MARKS}"

    @property
    def messages_pattern(self) -> str:
        """A SCAN pattern for every messages hash: each names a queue (or its delay or dead
        letter queue)."""
        return f"{glob_escaped(self.namespace)}:*{MESSAGES_SUFFIX}"

    @property
    def acks_pattern(self) -> str:
        """A SCAN pattern for every set of fetched, unacked ids: each names a broker."""
        return f"{glob_escaped(self.namespace)}:{ACKS}.*"

    def queue_of(self, key: str) -> str | None:
        """The queue a messages hash belongs to (its delay and dead letter queues' too);
        None for any other key."""
        start = f"{self.namespace}:"
        if not key.startswith(start) or not key.endswith(MESSAGES_SUFFIX):
            return None
        name = key[len(start) : -len(MESSAGES_SUFFIX)]
        for suffix in (DELAY_SUFFIX, DEAD_SUFFIX):
            name = name.removesuffix(suffix)
        return name or None

    def broker_of(self, key: str) -> tuple[str, str] | None:
        """The broker id and queue an acks set belongs to; None for any other key.

        A broker id is a UUID (no dots), so the first dot after it starts the queue."""
        start = f"{self.namespace}:{ACKS}."
        if not key.startswith(start):
            return None
        broker, dot, queue = key[len(start) :].partition(".")
        return (broker, queue.removesuffix(DELAY_SUFFIX)) if dot and broker and queue else None
