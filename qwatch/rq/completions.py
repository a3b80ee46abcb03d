"""Jobs that finished or failed since the last poll, each reported once, whatever their ttl.

RQ's finished and failed registries are sorted sets scored by *expiry*:
`int(time of finishing) + ttl`, where the ttl is the job's `result_ttl` or
`failure_ttl` (RQ's defaults: 500 s and one year). Scores are not finish
times, and with mixed ttls a new job can score below an old one, so neither
"everything above the last score" nor "the whole registry" works.

Windows. Per registry the tracker keeps the ttls in use. A job that ended in
(t_prev, t] with ttl L scores in (t_prev + L, t + L], so one ZRANGEBYSCORE
per known ttl finds it. Each candidate's hash says when it really ended;
only jobs that ended after the previous poll count, and ids read lately are
remembered with their score, so none is read twice and a job run again (a
new score) is counted again.

Counts. Every entry added since the previous poll scores above that poll's
time (ttl >= 1), and time moves no entry out of that range: `ZCOUNT (t_prev
+inf` now, minus the same count taken at the previous poll, is how many
entries appeared, less those removed meanwhile (O(log n) each). A registry
empty at the previous poll costs one ZCARD, and is read only when it is no
longer empty. A removal is a requeue or a delete, or RQ's clean-up, which
removes every expired entry at once: the count of entries at or below t_prev
falling says a clean-up ran.

Discovery. When more entries appeared than the windows found, some ttl is
unknown; when fewer, or after a clean-up, removals may hide such entries.
In either case the registry's entries above the previous poll's time are
read in score order, shortest-lived first (those that would be lost
soonest), to the end, each checked with one HMGET of its end time; the new
ones are counted and their ttl (score minus end) is watched from then on,
from the previous poll's time, so jobs of that ttl the discovery has not
reached yet are found by the next window. Cost: once per new ttl (and per
clean-up or removal that touched live entries), a read of the registry's
live entries (ZRANGEBYSCORE) and one HMGET each, at most `DISCOVERY_LIMIT`
entries per poll in all; a registry with more live entries than that is
read over several polls, each going on where the last stopped (its new
entries are found late, still counted once).

Round trips per poll, whatever the number of queues and workers: 2 when
nothing ended (the names; then the counts, the windows of registries that
held entries and the workers' counters), 3 when jobs ended (their hashes),
4 when a registry got its first entries, at most 7 with a discovery.

Limits. A job kept forever (ttl -1, scored +inf) or not kept at all (ttl 0)
leaves no dated record and is not counted here; `UntrackedLedger` says how
many the workers did that no registry showed. A job that ended and whose
record was removed (deleted, requeued, expired) before the next poll is not
seen. Removals that exactly balance the entries added to one registry
between two polls, outside a clean-up, hide a job of a never-seen ttl there.
State is bounded: at most `MAX_TTLS` ttls per registry, ids of the last
minute, and queues and workers that no longer exist are forgotten.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, TypeVar

import redis

from qwatch import job_states
from qwatch.errors import exception_line
from qwatch.job_states import OUTCOMES
from qwatch.model import RQ, Completion
from qwatch.pickle.decode import function_name
from qwatch.rq import job_fields
from qwatch.rq.jobs import exception_name, traceback_of
from qwatch.rq.keys import DEFAULT_KEYS, RQKeys, name_in_key
from qwatch.rq.untracked import WorkerCounts, WorkerLedger
from qwatch.wire import batch
from qwatch.wire.batch import Command, Packed
from qwatch.wire.memory import Remembered
from qwatch.wire.replies import (
    MAX_SECONDS,
    as_counter,
    as_float,
    as_int,
    as_list,
    as_name,
    as_pairs,
    as_seconds,
    as_strict_text,
    check_allowed,
)
from qwatch.wire.skips import Skips
from qwatch.wire.timestamps import parse_iso_time

T = TypeVar("T")
DEFAULT_TTLS = {job_states.FINISHED: 500, job_states.FAILED: 31_536_000}
"""RQ's DEFAULT_RESULT_TTL and DEFAULT_FAILURE_TTL."""

OVERLAP = 5.0
MAX_TTLS = 16
MAX_CANDIDATES = 10_000
"""Per window and poll: a flood is read over several polls, each going on where the last stopped."""
RECENT_SECONDS = 60.0
"""How long ids read are remembered: not read twice, and a job run again is known as such."""
DISCOVERY_LIMIT = 2_000
"""Registry entries examined per poll, in all, to find jobs of ttls not known yet."""
GIVE_WAY_STEP = 1_000
"""Registries worked on, or replies taken, between two chances for a poll to give way."""

_JOB_FIELDS = (
    job_fields.DATA,
    job_fields.ENQUEUED_AT,
    job_fields.STARTED_AT,
    job_fields.ENDED_AT,
    job_fields.EXC_INFO,
    job_fields.WORKER_NAME,
)
_CHECK_FIELDS = (job_fields.ENDED_AT, job_fields.STATUS)
_WORKER_FIELDS = ("successful_job_count", "failed_job_count", "birth", "total_working_time")


def _keep_turn() -> None:
    """A poll that nothing waits for goes on to its end."""


@dataclass(slots=True)
class _Discovery:
    """A registry being read for entries of unknown ttls: since when, and from which score."""

    since: float
    cursor: str


_Read = tuple[float, float | None, float]
"""When a job read from a window ended, its score, and when it was read."""
_State = tuple[dict[float, float], int, int, "_Discovery | None"]


@dataclass(slots=True)
class _Registry:
    """One queue's finished or failed registry: its ttls, its count, what it counted lately."""

    key: str
    packed_key: bytes
    """The key as a bulk string of RESP, to pack its counts fast."""
    marks: dict[float, float]
    above: int = 0
    """Entries scored above the last poll's time, at that poll."""
    expired: int = 0
    """Entries scored at or below it: RQ's clean-up removes them, and only it does."""
    recent: dict[str, _Read] = field(default_factory=dict)
    """Ids read lately from a window: end time, score, when read; counted ones and old ones."""
    discovery: _Discovery | None = None
    appeared: int = 0
    """Entries that appeared during this poll and no window has explained yet."""
    cleaned: bool = False

    def saved(self) -> tuple[_Registry, _State]:
        discovery = self.discovery
        copied = None if discovery is None else _Discovery(discovery.since, discovery.cursor)
        return self, (dict(self.marks), self.above, self.expired, copied)

    def restore(self, state: _State) -> None:
        self.marks, self.above, self.expired, self.discovery = state
        self.appeared, self.cleaned = 0, False

    def held_entries(self) -> bool:
        return bool(self.above or self.expired or self.discovery)

    def windows(self, now: float) -> list[Packed]:
        """One ZRANGEBYSCORE per known ttl: where jobs of that ttl ended since its mark score."""
        return [
            Packed(b"".join((_ZRANGEBYSCORE, self.packed_key, _window_range(mark, ttl, now))), 1)
            for ttl, mark in self.marks.items()
        ]

    def take_counts(self, replies: Iterator[Any]) -> tuple[int, bool]:
        """Entries that appeared above the previous poll's time, and whether some were removed
        below it (a clean-up); from the three replies of `_counts`."""
        tail, since, above = (as_int(next(replies)) for _ in range(3))
        appeared, cleaned = since - self.above, tail < self.expired
        self.above, self.expired = above, tail + since - above
        return appeared, cleaned

    def learn(self, ttl: float, since: float) -> None:
        """Watch a new ttl from `since` on, unless one within whole-second rounding is known."""
        if 0 < ttl <= MAX_SECONDS and all(abs(ttl - known) > 2 for known in self.marks):
            self.marks[ttl] = since
            while len(self.marks) > MAX_TTLS:
                del self.marks[next(iter(self.marks))]

    def forget_read_before(self, moment: float) -> None:
        for job in [job for job, (_end, _score, read) in self.recent.items() if read < moment]:
            del self.recent[job]


@dataclass(frozen=True, slots=True)
class _Candidate:
    id: str
    queue: str
    outcome: str
    since: float
    score: float | None
    counted_before: bool = False


class CompletionTracker:
    """Finds the jobs finished or failed since its previous `poll`; not thread-safe."""

    def __init__(self, ttls: Iterable[float] = (), keys: RQKeys = DEFAULT_KEYS) -> None:
        """`ttls`: result and failure ttls the workers are known to use, beyond RQ's defaults."""
        self._ttls = tuple(ttls)
        self.keys = keys
        self._registries: dict[tuple[str, str], _Registry] = {}
        self._polled_at: float | None = None
        self._started_at = math.inf
        self._candidates: dict[str, _Candidate] = {}
        self._worker_commands: dict[str, Packed] = {}
        self._worker_counts: Remembered[tuple[str, tuple[Any, ...]], WorkerCounts | None] = (
            Remembered(_worker_counts)
        )
        """Each worker's counters parsed, once until they change."""
        self._known_names: dict[str, tuple[list[Any], list[str]]] = {}
        self._journal: list[tuple[_Registry, str, _Read | None]] = []
        """`recent` entries this poll changed, undone if it fails."""
        self.workers = WorkerLedger()
        """What the workers reported since the first poll, and what no registry showed."""
        self.round_trips = 0
        """Round trips of the last poll, for tests and benchmarks."""
        self.skipped = 0
        """Jobs the last poll left out: their record could not be turned into data."""
        self._give_way: Callable[[], None] = _keep_turn

    def poll(
        self,
        client: redis.Redis,
        now: float | None = None,
        give_way: Callable[[], None] | None = None,
    ) -> list[Completion]:
        """Completions since the last poll; the first poll only takes the counts.

        A poll that fails (Redis gone mid-way) changes nothing: the next one
        reads everything since the last poll that succeeded. `give_way`, if
        any, is called between the poll's steps, and may stop it by raising.
        """
        self.round_trips = 0
        self.skipped = 0
        self._give_way = give_way or _keep_turn
        saved = {pair: registry.saved() for pair, registry in self._registries.items()}
        self._journal = []
        try:
            return self._poll(client, now)
        except BaseException:
            for registry, job_id, before in reversed(self._journal):
                if before is None:
                    registry.recent.pop(job_id, None)
                else:
                    registry.recent[job_id] = before
            self._registries = {pair: registry for pair, (registry, _state) in saved.items()}
            for registry, state in saved.values():
                registry.restore(state)
            self._candidates = {}
            raise

    def _poll(self, client: redis.Redis, now: float | None) -> list[Completion]:
        queue_set, worker_set = self._run(
            client, [("SMEMBERS", self.keys.queues), ("SMEMBERS", self.keys.workers)]
        )
        check_allowed(queue_set, worker_set)
        now = time.time() if now is None else now
        since = self._polled_at
        self._track(self._names(queue_set, self.keys.queue_prefix), since or now)
        workers = self._names(worker_set, self.keys.worker_prefix)
        if since is None:
            _late, counts = self._read(client, workers, now, now, windows=False)
            self._started_at = self._polled_at = now
            self.workers.update(counts, [], None)
            return []
        late, counts = self._read(client, workers, since, now, windows=True)
        self._read_late(client, late, since, now)
        completions = self._confirm_windows(client, since, now)
        completions += self._discover(client, since, now)
        self._polled_at = now
        self._forget(now)
        self.workers.update(counts, [(worker, c.outcome) for c, worker in completions], since)
        return [completion for completion, _worker in completions]

    def _names(self, members: Any, prefix: str) -> list[str]:
        """Names from a set of keys, sorted; kept while the set's reply is the same."""
        reply = as_list(members)
        known = self._known_names.get(prefix)
        if known is None or known[0] != reply:
            known = self._known_names[prefix] = (reply, _names(reply, prefix))
        return known[1]

    def _run(self, client: redis.Redis, commands: Sequence[Command | Packed]) -> list[Any]:
        """One round trip, its replies taken `GIVE_WAY_STEP` at a time."""
        self._give_way()
        if not commands:
            return []
        self.round_trips += 1
        replies: list[Any] = []
        with batch.sent(client, commands) as arriving:
            while arriving.left:
                replies += arriving.take(min(GIVE_WAY_STEP, arriving.left))
                self._give_way()
        return replies

    def _steps(self, items: Iterable[T]) -> Iterator[T]:
        """`items`, with a chance to give way every `GIVE_WAY_STEP` of them."""
        for index, item in enumerate(items):
            if not index % GIVE_WAY_STEP:
                self._give_way()
            yield item

    def _track(self, queues: Sequence[str], since: float) -> None:
        """Follow new queues from the previous poll on; forget queues that are gone."""
        present = set(queues)
        for gone in [pair for pair in self._registries if pair[0] not in present]:
            del self._registries[gone]
        for queue in queues:
            for outcome in OUTCOMES:
                if (queue, outcome) not in self._registries:
                    key = self.keys.registry_key(outcome, queue)
                    registry = _Registry(key, _bulk(key), {DEFAULT_TTLS[outcome]: since})
                    for ttl in self._ttls:
                        registry.learn(ttl, since)
                    self._registries[(queue, outcome)] = registry

    def _read(
        self, client: redis.Redis, workers: Sequence[str], since: float, now: float, windows: bool
    ) -> tuple[list[tuple[str, str]], list[WorkerCounts]]:
        """Every registry's counts, the windows of those that held entries, the workers' counters.

        Returns the registries that were empty and now hold entries (their
        windows are read next), and the workers' counters.
        """
        plan = [
            (pair, registry, not windows or registry.held_entries())
            for pair, registry in self._registries.items()
        ]
        count_args = _count_args(since, now)
        commands: list[Command | Packed] = []
        for _pair, registry, counted in self._steps(plan):
            if not counted:
                commands.append(Packed(_ZCARD + registry.packed_key, 1))
                continue
            commands.append(
                Packed(b"".join(_ZCOUNT + registry.packed_key + a for a in count_args), 3)
            )
            if windows:
                commands += registry.windows(now)
        commands += [self._worker_command(name) for name in workers]
        replies = iter(self._run(client, commands))
        late = []
        for pair, registry, counted in self._steps(plan):
            if not counted:
                if as_int(next(replies)):
                    late.append(pair)  # entries in a registry that had none: read next
                else:
                    registry.marks = dict.fromkeys(registry.marks, now)
                continue
            appeared, cleaned = registry.take_counts(replies)
            if windows:
                self._take_windows(pair, registry, replies, appeared, cleaned, now)
        read = self._worker_counts.use(
            [(name, tuple(as_list(reply))) for name, reply in zip(workers, replies)]
        )
        counts = [found for found in read if found is not None]
        self._worker_commands = {name: self._worker_command(name) for name in workers}
        return late, counts

    def _worker_command(self, name: str) -> Packed:
        """A worker's counters, packed once while it lives."""
        found = self._worker_commands.get(name)
        if found is None:
            found = batch.pack(("HMGET", self.keys.worker_key(name), *_WORKER_FIELDS))
            self._worker_commands[name] = found
        return found

    def _read_late(
        self, client: redis.Redis, late: list[tuple[str, str]], since: float, now: float
    ) -> None:
        """Registries that were empty at the last poll: counted again next to their windows."""
        commands: list[Command | Packed] = []
        for queue, outcome in late:
            key = self.keys.registry_key(outcome, queue)
            commands += _counts(key, since, now)
            commands += self._registries[(queue, outcome)].windows(now)
        replies = iter(self._run(client, commands))
        for pair in late:
            registry = self._registries[pair]
            appeared, cleaned = registry.take_counts(replies)
            self._take_windows(pair, registry, replies, appeared, cleaned, now)

    def _take_windows(
        self,
        pair: tuple[str, str],
        registry: _Registry,
        replies: Iterator[Any],
        appeared: int,
        cleaned: bool,
        now: float,
    ) -> None:
        """Candidates from one registry's windows; each window's mark moves to what it read."""
        queue, outcome = pair
        registry.appeared, registry.cleaned = appeared, cleaned
        for ttl in list(registry.marks):
            pairs = as_pairs(next(replies))
            mark = registry.marks[ttl]
            last = as_float(pairs[-1][1]) if pairs else None
            full = len(pairs) >= MAX_CANDIDATES and last is not None
            registry.marks[ttl] = last - ttl if full and last is not None else now
            for member, reply_score in pairs:
                job_id, score = as_name(member), as_float(reply_score)
                if job_id and score is not None:
                    seen = registry.recent.get(job_id)
                    if seen is None or seen[1] != score:  # not read, or added again since
                        self._candidates.setdefault(
                            job_id,
                            _Candidate(job_id, queue, outcome, mark, score, seen is not None),
                        )

    def _confirm_windows(
        self, client: redis.Redis, since: float, now: float
    ) -> list[tuple[Completion, str | None]]:
        """The windows' candidates read; registries whose counts they do not explain searched."""
        candidates, self._candidates = list(self._candidates.values()), {}
        found = self._confirm(client, candidates, now)
        rerun = {candidate.id for candidate in candidates if candidate.counted_before}
        for completion, _worker in found:
            if completion.id not in rerun:  # a job run again replaced its own entry
                self._registries[(completion.queue, completion.outcome)].appeared -= 1
        for registry in self._registries.values():
            if (registry.appeared or registry.cleaned) and registry.discovery is None:
                registry.discovery = _Discovery(since, f"({since}")
            registry.appeared, registry.cleaned = 0, False
        return found

    def _discover(
        self, client: redis.Redis, since: float, now: float
    ) -> list[tuple[Completion, str | None]]:
        """Read registries with more new entries than their windows found, shortest-lived first."""
        searching = [(name, r) for name, r in self._registries.items() if r.discovery]
        budget, commands, plan = DISCOVERY_LIMIT, [], []
        for (queue, outcome), registry in searching:
            if budget <= 0:
                break
            assert registry.discovery is not None
            limit = min(budget, max(100, DISCOVERY_LIMIT // len(searching)))
            budget -= limit
            key = self.keys.registry_key(outcome, queue)
            commands.append(
                (
                    "ZRANGEBYSCORE",
                    key,
                    registry.discovery.cursor,
                    "+inf",
                    "WITHSCORES",
                    "LIMIT",
                    0,
                    limit,
                )
            )
            plan.append(((queue, outcome), registry, limit))
        entries: list[_Candidate] = []
        for ((queue, outcome), registry, limit), reply in zip(plan, self._run(client, commands)):
            search = registry.discovery
            assert search is not None
            pairs = as_pairs(reply)
            if len(pairs) < limit:
                registry.discovery = None  # read to the end
            elif (last := as_float(pairs[-1][1])) is not None:
                search.cursor = f"{last}"  # inclusive: entries sharing the last score are re-read
            for member, score in pairs:
                job_id = as_name(member)
                if job_id and job_id not in registry.recent:
                    entries.append(
                        _Candidate(job_id, queue, outcome, search.since, as_float(score))
                    )
        checks = self._run(
            client, [("HMGET", self.keys.job_key(entry.id), *_CHECK_FIELDS) for entry in entries]
        )
        new = []
        for entry, reply in zip(entries, checks):
            ended_at = parse_iso_time(as_list(reply)[0] if as_list(reply) else None)
            if ended_at is not None and entry.since - OVERLAP < ended_at <= now:
                new.append(entry)
        return self._confirm(client, new, now)

    def _confirm(
        self, client: redis.Redis, candidates: list[_Candidate], now: float
    ) -> list[tuple[Completion, str | None]]:
        """Read each candidate; keep those that ended after their window's start, once."""
        lookups: list[Command] = []
        for candidate in candidates:
            lookups.append(("HMGET", self.keys.job_key(candidate.id), *_JOB_FIELDS))
            # for a failure, its traceback, and when an abandoned job failed
            if candidate.outcome == job_states.FAILED:
                lookups.append(
                    ("XREVRANGE", self.keys.results_key(candidate.id), "+", "-", "COUNT", 1)
                )
        replies = iter(self._run(client, lookups))
        paired = [
            (
                candidate,
                next(replies),
                next(replies) if candidate.outcome == job_states.FAILED else None,
            )
            for candidate in candidates
        ]
        skips = Skips()
        completions = []
        for candidate, job, result in paired:
            found = skips.build(
                f"{candidate.outcome} job",
                candidate.id,
                partial(self._confirmed, candidate, job, result, now),
            )
            if found is not None:
                completions.append(found)
        self.skipped += skips.count
        return completions

    def _confirmed(
        self, candidate: _Candidate, job: Any, result: Any, now: float
    ) -> tuple[Completion, str | None] | None:
        """The candidate as a completion, with its worker, if it ended in its window, once."""
        fields = dict(zip(_JOB_FIELDS, as_list(job)))
        own_end = parse_iso_time(fields.get(job_fields.ENDED_AT))
        ended_at = own_end if own_end is not None else _result_time(result)
        registry = self._registries.get((candidate.queue, candidate.outcome))
        if registry is None or ended_at is None:
            return None
        if candidate.score is not None:
            registry.learn(candidate.score - math.floor(ended_at), candidate.since)
        seen = registry.recent.get(candidate.id)
        self._journal.append((registry, candidate.id, seen))
        registry.recent[candidate.id] = (ended_at, candidate.score, now)
        if ended_at <= max(candidate.since - OVERLAP, self._started_at) or (
            seen is not None and seen[0] == ended_at
        ):
            return None
        if own_end is None:
            fields[job_fields.STARTED_AT] = None  # abandoned: no run time to tell
        completion = _completion(candidate, fields, result, ended_at)
        return completion, as_name(fields.get(job_fields.WORKER_NAME))

    def _forget(self, now: float) -> None:
        for registry in self._registries.values():
            if registry.recent:
                registry.forget_read_before(now - RECENT_SECONDS)


_ZCOUNT = b"*4\r\n$6\r\nZCOUNT\r\n"
_ZCARD = b"*2\r\n$5\r\nZCARD\r\n"
_NO_WORKER = (None,) * len(_WORKER_FIELDS)


def _worker_counts(reply: tuple[str, tuple[Any, ...]]) -> WorkerCounts | None:
    """A worker's name and HMGET of its counters, parsed; None when the worker is gone, or
    while its counts are absurd."""
    name, values = reply
    if len(values) != len(_WORKER_FIELDS) or values == _NO_WORKER:
        return None
    finished, failed = as_counter(values[0]), as_counter(values[1])
    if finished is None or failed is None:
        return None
    return WorkerCounts(name, finished, failed, parse_iso_time(values[2]), as_seconds(values[3]))


def _bulk(text: str) -> bytes:
    data = text.encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


_ZRANGEBYSCORE = b"*8\r\n$13\r\nZRANGEBYSCORE\r\n"
_WINDOW_END = b"".join(map(_bulk, ("WITHSCORES", "LIMIT", "0", f"{MAX_CANDIDATES}")))


@lru_cache(maxsize=256)
def _window_range(mark: float, ttl: float, now: float) -> bytes:
    """A window's scores and the rest of its command, packed once per poll for all the
    registries marked alike (most are: their mark is the last poll's time)."""
    return _bulk(f"({mark + ttl - OVERLAP - 1}") + _bulk(f"{now + ttl}") + _WINDOW_END


def _counts(key: str, since: float, now: float) -> list[Command]:
    """Entries scored at or below the previous poll's time, above it, and above now."""
    return [("ZCOUNT", key, low, high) for low, high in _count_ranges(since, now)]


def _count_args(since: float, now: float) -> list[bytes]:
    """The ranges of `_counts`, packed once per poll for every registry."""
    return [_bulk(low) + _bulk(high) for low, high in _count_ranges(since, now)]


def _count_ranges(since: float, now: float) -> list[tuple[str, str]]:
    return [("-inf", f"{since}"), (f"({since}", "+inf"), (f"({now}", "+inf")]


def _names(members: Any, prefix: str) -> list[str]:
    names = (name_in_key(key, prefix) for key in map(as_name, as_list(members)) if key)
    return sorted(name for name in names if name)


def _result_time(reply: Any) -> float | None:
    """When RQ stored the latest result: the id of its entry in the results stream, in ms.

    A job RQ declared abandoned has no end time of its own; this is when it was failed.
    """
    entries = as_list(reply)
    entry = as_list(entries[0]) if entries else []
    stream_id = as_strict_text(entry[0]) if entry else None
    milliseconds = stream_id.partition("-")[0] if stream_id else ""
    return int(milliseconds) / 1000 if milliseconds.isdigit() else None


def _completion(
    candidate: _Candidate, fields: dict[str, Any], latest_result: Any, ended_at: float
) -> Completion:
    exception = None
    if candidate.outcome == job_states.FAILED:
        exception = exception_name(exception_line(traceback_of(fields, latest_result)))
    return Completion(
        id=candidate.id,
        queue=candidate.queue,
        outcome=candidate.outcome,
        function=function_name(fields.get(job_fields.DATA)),
        exception=exception,
        enqueued_at=parse_iso_time(fields.get(job_fields.ENQUEUED_AT)),
        started_at=parse_iso_time(fields.get(job_fields.STARTED_AT)),
        ended_at=ended_at,
        system=RQ,
    )
