"""Celery's events and published results, listened to on a background thread, never written.

Celery's own `EventReceiver` is not read-only: declaring its queue SADDs
`_kombu.binding.celeryev` and `capture(wakeup=True)` broadcasts `heartbeat`
to every worker. So the listener PSUBSCRIBEs itself, to
`<prefix>/<db>.celeryev/*` (kombu's `keyprefix_fanout` `/{db}.` after the
broker's `global_keyprefix`, which kombu puts in front of pub/sub channels too)
and to `<result prefix>celery-task-meta-*`, where the result backend publishes
every result it stores. It issues nothing but PSUBSCRIBE.

Pub/sub is global to a server: the event channels name their db, the result
channels do not, so results of every db's backend on the server are heard.
Redis buffers nothing for a subscriber that is away: what happened before
`start()` or during an outage is never seen, which `CeleryWatch` says by
counting how long the listener has been subscribed. After a lost connection
it subscribes again, waiting 0.1 s, then twice as long each time, up to 10 s.
A message over `EVENT_BYTES` is skipped unread (redis-py has received
it already; the server's pub/sub output buffer limit, 32 MB by default,
bounds what can pile up, and a listener cut off there subscribes again).

How the model counts workers, tasks and failures is in `qwatch.celery.state`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis

from qwatch.celery.layout import events_channel, results_channel
from qwatch.celery.published import StoredResult, Undecodable, decode_events, decode_result
from qwatch.celery.state import CeleryFailure, CeleryState, by_newest
from qwatch.errors import described, first_line
from qwatch.limits import EVENT_BYTES
from qwatch.model import CeleryWatch, Completion, WorkerStats
from qwatch.wire.scan import glob_escaped

__all__ = ["CeleryEvents", "CeleryFailure", "CeleryView", "events_channel", "results_channel"]

log = logging.getLogger("qwatch.celery")

POLL_SECONDS = 0.5
"""How long one wait for a message lasts: the longest `stop()` waits for the thread."""
FIRST_RETRY_SECONDS = 0.1
LAST_RETRY_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class CeleryView:
    """What the listener knows at one moment."""

    workers: tuple[WorkerStats, ...]
    expired_workers: tuple[str, ...]
    """Workers whose heartbeats stopped (Celery's rule), newest first, for a while."""
    watch: CeleryWatch
    records_skipped: int
    """Messages and events left out because they were garbage, of the wrong shape or huge."""
    notes: tuple[str, ...]


def _pattern(prefix: str) -> str:
    return glob_escaped(prefix) + "*"


class CeleryEvents:
    """A read-only listener to one Redis's Celery events and results, with a bounded model."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "",
        result_prefix: str = "",
        db: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if db is None:
            db = int(client.connection_pool.connection_kwargs.get("db", 0) or 0)
        self._client = client
        self._events = events_channel(prefix, db).encode()
        self._results = results_channel(result_prefix).encode()
        self._clock = clock
        self._state = CeleryState()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribed_at: float | None = None
        self._events_seen = 0
        self._results_seen = 0
        self._skipped = 0
        self._retry_seconds = FIRST_RETRY_SECONDS
        self._last_error: str | None = None

    def start(self) -> None:
        """Start listening on a daemon thread; a second call does nothing."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="qwatch-celery-events", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening and wait up to `timeout` seconds for the thread to end."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def remember_queues(self, pairs: Iterable[tuple[str, str]]) -> None:
        """(task id, queue) pairs the broker reader saw: the queue of a task's completion."""
        with self._changed:
            for task_id, queue in pairs:
                self._state.remember_queue(task_id, queue)

    def view(self, now: float | None = None) -> CeleryView:
        """Live workers by Celery's rule, recently expired ones, and how long it has listened."""
        now = self._clock() if now is None else now
        with self._changed:
            state = self._state
            state.expire_workers(now)
            workers = state.worker_stats(now)
            since = self._subscribed_at
            watch = CeleryWatch(
                listening_seconds=max(0.0, now - since) if since is not None else 0.0,
                events_seen=self._events_seen,
                results_seen=self._results_seen,
                expired_workers=len(state.expired),
            )
            return CeleryView(
                workers=workers,
                expired_workers=tuple(reversed(state.expired)),
                watch=watch,
                records_skipped=self._skipped + state.skipped,
                notes=self._notes(workers),
            )

    def _notes(self, workers: tuple[WorkerStats, ...]) -> tuple[str, ...]:
        notes = [
            f"no task events from {worker.name}: failures come from stored results only"
            for worker in workers
            if worker.task_events is False
        ]
        if self._subscribed_at is None:
            reason = f": {self._last_error}" if self._last_error else ""
            notes.insert(0, f"not subscribed to Celery's events{reason}")
        return tuple(notes)

    def take_completions(self) -> list[Completion]:
        """Tasks that finished or failed since the last call, each once, oldest first."""
        with self._changed:
            self._state.settle_results(self._clock())
            return self._state.take_ended()

    def failures(self) -> tuple[CeleryFailure, ...]:
        """Recent failed tasks, the newest first."""
        with self._changed:
            return by_newest(self._state.failures)

    def wait_for_events(self, count: int, timeout: float) -> bool:
        """Wait until `count` events and results in all have been seen since `start()`;
        False when `timeout` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._events_seen + self._results_seen >= count, timeout
            )

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except (redis.RedisError, OSError) as exc:
                with self._changed:
                    self._subscribed_at = None
                    self._last_error = first_line(exc)
                log.warning("Celery events: %s; subscribing again", first_line(exc))
            self._stopping.wait(self._retry_seconds)
            self._retry_seconds = min(self._retry_seconds * 2, LAST_RETRY_SECONDS)

    def _listen(self) -> None:
        pubsub = self._client.pubsub()
        try:
            pubsub.psubscribe(_pattern(self._events.decode()), _pattern(self._results.decode()))
            while not self._stopping.is_set():
                message = pubsub.get_message(timeout=POLL_SECONDS)
                if message is not None:
                    self._receive(message)
        finally:
            pubsub.close()

    def _receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "psubscribe":
            self._subscribed(message.get("channel"))
        elif kind == "pmessage":
            channel, data = message.get("channel"), message.get("data")
            if isinstance(channel, bytes) and isinstance(data, bytes):
                self._handle(channel, data)

    def _subscribed(self, pattern: Any) -> None:
        """A (re)subscription, also one redis-py made itself after reconnecting."""
        if pattern == _pattern(self._events.decode()).encode():
            with self._changed:
                self._subscribed_at = self._clock()
                self._last_error = None
            self._retry_seconds = FIRST_RETRY_SECONDS

    def _handle(self, channel: bytes, data: bytes) -> None:
        """Decode outside the lock, then apply: a slow decode never blocks `view()`."""
        received_at = self._clock()
        try:
            if len(data) > EVENT_BYTES:
                raise Undecodable(f"larger than {EVENT_BYTES} bytes")
            if channel.startswith(self._events):
                self._apply_events(data, received_at)
            elif channel.startswith(self._results):
                task_id = channel[len(self._results) :].decode("utf-8", "replace")
                self._apply_result(decode_result(data, task_id), received_at)
        except Undecodable as exc:
            self._skip(channel, str(exc))
        except Exception as exc:  # whatever one message holds, the listener stays up
            self._skip(channel, f"unexpected {described(exc)}")

    def _apply_events(self, data: bytes, received_at: float) -> None:
        events, unusable = decode_events(data)
        with self._changed:
            self._skipped += unusable
            for event in events:
                self._events_seen += 1
                try:
                    self._state.apply_event(event, received_at)
                except Exception:  # one odd event costs itself, never the batch or the thread
                    self._skipped += 1
            self._changed.notify_all()

    def _apply_result(self, result: StoredResult, received_at: float) -> None:
        with self._changed:
            self._results_seen += 1
            self._state.apply_result(result, received_at)
            self._changed.notify_all()

    def _skip(self, channel: bytes, reason: str) -> None:
        with self._changed:
            self._skipped += 1
        log.warning("skipped a message on %r: %s", channel[:80], reason[:80])
