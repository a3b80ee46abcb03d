"""Where kombu's Redis transport keeps a Celery broker's state: every key and channel name
kombu and Celery use, in one place.

The fields mirror kombu's transport options of the same meaning
(`global_keyprefix`, `sep`, `priority_steps`, `visibility_timeout`), so a
user copies them from `broker_transport_options`. Key names follow kombu 5.7
`kombu/transport/redis.py`: `Channel._q_for_pri`, `keyprefix_queue`,
`unacked_key`, `unacked_index_key`; the prefix is prepended raw, as
`PrefixedStrictRedis` does (to PUBLISH and PSUBSCRIBE channels too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qwatch.wire.scan import glob_escaped

DEFAULT_SEP = "\x06\x16"
DEFAULT_PRIORITY_STEPS = (0, 3, 6, 9)
"""kombu's `PRIORITY_STEPS`; 0 is the highest priority, consumed first."""
HIGHEST_PRIORITY = 9
"""kombu clamps a message's priority to 0..9 (`virtual.Channel._get_message_priority`):
a step above 9 would name a list nothing is ever pushed to."""
BINDING_PREFIX = "_kombu.binding."
"""kombu's `keyprefix_queue` without its `%s`: one set per exchange, its routing table."""
UNACKED = "unacked"
UNACKED_INDEX = "unacked_index"
DEFAULT_EXCHANGE = "celery"
"""Celery's `task_default_exchange`: its table binds the default queue."""
EVENT_EXCHANGE = "celeryev"
"""celery/events/event.py `EVENT_EXCHANGE_NAME`; monitors bind `celeryev.<uuid>` queues to it."""
PIDBOX = ".pidbox"
"""kombu's remote-control exchanges (`pidbox.Mailbox.exchange_fmt`, `reply.%s.pidbox`) and
each worker's mailbox queue end in this."""
REPLY_PREFIX = "reply."
RESULT_KEY_PREFIX = "celery-task-meta-"
"""celery/backends/base.py `KeyValueStoreBackend.task_keyprefix`: a result's key and channel."""


def is_kombu_exchange(exchange: str) -> bool:
    """Whether an exchange is kombu's or Celery's own plumbing (events, remote control,
    replies) rather than one that routes tasks."""
    return (
        exchange == EVENT_EXCHANGE or exchange.endswith(PIDBOX) or exchange.startswith(REPLY_PREFIX)
    )


def is_kombu_queue(queue: str) -> bool:
    """Whether a bound queue is a worker's mailbox or a monitor's event queue, not tasks'."""
    return queue.endswith(PIDBOX) or queue.startswith(f"{EVENT_EXCHANGE}.")


def events_channel(prefix: str, db: int) -> str:
    """Where kombu publishes the event exchange's messages, up to the routing key:
    `keyprefix_fanout` (`/{db}.`) after the broker's `global_keyprefix`."""
    return f"{prefix}/{db}.{EVENT_EXCHANGE}/"


def results_channel(result_prefix: str) -> str:
    """The result backend's key and channel prefix: Celery appends `_` to a global key
    prefix unless it ends in one of `:_-.` (`KeyValueStoreBackend._add_global_keyprefix`)."""
    if result_prefix and result_prefix[-1] not in ":_-.":
        result_prefix += "_"
    return f"{result_prefix}{RESULT_KEY_PREFIX}"


@dataclass(frozen=True, slots=True)
class CeleryLayout:
    """kombu's key layout on one Redis, and the queues a user asked to watch."""

    prefix: str = ""
    """kombu's `global_keyprefix`, prepended raw to every key."""
    sep: str = DEFAULT_SEP
    priority_steps: tuple[int, ...] = DEFAULT_PRIORITY_STEPS
    visibility_timeout: float = 3600.0
    """Seconds after delivery when kombu takes an unacked message back and delivers it again."""
    restore_delay: float = 100.0
    """Seconds kombu may take past the visibility timeout to redeliver: its sweep period,
    `unacked_restore_interval * unacked_restore_throttle` (10 * 10 by default)."""
    queues: tuple[str, ...] = ()
    result_prefix: str = ""
    """The result backend's `global_keyprefix` (`result_backend_transport_options`), as given:
    Celery adds `_` unless it ends in one of `:_-.` (`results_channel`)."""
    """Queues watched whether or not a binding table names them."""

    def __post_init__(self) -> None:
        steps = self.priority_steps
        if not self.sep:
            raise ValueError("the priority separator (kombu's 'sep') must not be empty")
        if not steps:
            raise ValueError("priority steps must name at least one step")
        if any(isinstance(step, bool) or not isinstance(step, int) for step in steps):
            raise ValueError(f"priority steps must be whole numbers, not {list(steps)!r}")
        if list(steps) != sorted(set(steps)):
            raise ValueError(f"priority steps must be ascending, each once: {list(steps)!r}")
        if steps[0] < 0 or steps[-1] > HIGHEST_PRIORITY:
            raise ValueError(
                f"priority steps must be from 0 to {HIGHEST_PRIORITY}: {list(steps)!r}"
            )
        for name in ("visibility_timeout", "restore_delay"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name.replace('_', ' ')} must be a positive number of seconds")
        if any(not queue for queue in self.queues):
            raise ValueError("a queue name must not be empty")

    def overdue(self, delivered_at: float, now: float) -> bool:
        """Whether a message reserved at `delivered_at` is past the visibility timeout."""
        return delivered_at <= now - self.visibility_timeout

    def priority_key(self, queue: str, step: int) -> str:
        """The list holding `queue`'s messages of priority `step`: the bare name for step 0."""
        return f"{self.prefix}{queue}{self.sep}{step}" if step else f"{self.prefix}{queue}"

    def priority_keys(self, queue: str) -> tuple[str, ...]:
        """Every priority list of `queue`, in the order kombu consumes them."""
        return tuple(self.priority_key(queue, step) for step in self.priority_steps)

    @property
    def unacked_key(self) -> str:
        """Hash of delivery tag to `[message, exchange, routing key]` of every unacked message."""
        return f"{self.prefix}{UNACKED}"

    @property
    def unacked_index_key(self) -> str:
        """Sorted set of delivery tags, scored by the time kombu delivered each."""
        return f"{self.prefix}{UNACKED_INDEX}"

    def binding_key(self, exchange: str) -> str:
        """The routing table of `exchange`: members `routing key<sep>pattern<sep>queue`."""
        return f"{self.prefix}{BINDING_PREFIX}{exchange}"

    @property
    def binding_pattern(self) -> str:
        """A SCAN pattern matching every binding table, the prefix's glob characters escaped."""
        return f"{glob_escaped(self.prefix)}{BINDING_PREFIX}*"

    def exchange_of(self, key: str) -> str | None:
        """The exchange whose binding table `key` is; None for any other key."""
        start = f"{self.prefix}{BINDING_PREFIX}"
        return key[len(start) :] if key.startswith(start) else None
