"""Jobs that finished or failed since the last poll, each reported once.

RQ's finished and failed registries are sorted sets scored by *expiry*:
`int(time of finishing) + ttl`, where the ttl is the job's `result_ttl` or
`failure_ttl` (RQ's defaults: 500 s and one year). Scores are not finish
times, and with mixed ttls a new job can score below an old one, so neither
"everything above the last score" nor "the whole registry" works: the first
misses jobs, the second reads a year of failures at every scrape.

The tracker keeps, per queue and registry, the set of ttls in use. A job
that finished in (t_prev, t_now] with ttl L scores in (t_prev + L, t_now + L],
so one ZRANGEBYSCORE per known ttl finds every new job. The window may also
hold older jobs whose other, longer ttl puts them there; each candidate's
hash says when it really ended, and only jobs that ended inside the polled
interval count. Windows overlap the previous one by `OVERLAP` seconds for
clock skew and RQ's whole-second scores; ids counted within that overlap
are remembered so none counts twice. The work per poll is one command per
queue, registry and ttl plus one hash read per candidate: proportional to
the jobs that are new, not to the registries' size.

Ttls are declared (RQ's defaults, and any the user names) or learned as
jobs are read: from the `result_ttl` and `failure_ttl`
fields of the jobs at the queues' heads and in the workers' hands at each
poll, from each candidate's score minus its end time, and from the jobs that
were running at the previous poll and have since ended (those are counted
whatever their ttl). A ttl is watched from the poll before it was learned,
so a job with a ttl never seen before can be missed only if it was enqueued,
run and ended entirely between two polls. A job kept forever (ttl -1, scored
+inf) or not kept at all (ttl 0) leaves no dated record and is not counted
here; the workers' own counters still include it.

State is bounded: at most `MAX_TTLS` ttls per registry, ids of the last
`OVERLAP` seconds, and queues that no longer exist are forgotten.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import redis

from qwatch import batch, keys
from qwatch.batch import Command
from qwatch.decode import function_name
from qwatch.jobs import exception_line, exception_name, traceback_of
from qwatch.replies import MAX_SECONDS, as_float, as_list, as_name, as_pairs, as_seconds
from qwatch.skips import Skips
from qwatch.snapshot import Snapshot
from qwatch.timestamps import parse_rq_time

OUTCOMES = ("finished", "failed")
DEFAULT_TTLS = {"finished": 500, "failed": 31_536_000}
"""RQ's DEFAULT_RESULT_TTL and DEFAULT_FAILURE_TTL."""

OVERLAP = 5.0
MAX_TTLS = 8
MAX_CANDIDATES = 10_000
"""Per window and poll: a flood is read over several polls, each going on where the last stopped."""

_JOB_FIELDS = ("data", "enqueued_at", "started_at", "ended_at", "exc_info")
_TTL_FIELDS = ("origin", "status", "result_ttl", "failure_ttl")


@dataclass(frozen=True, slots=True)
class Completion:
    """A job that finished or failed for good, seen once."""

    id: str
    queue: str
    outcome: str
    function: str | None
    exception: str | None
    enqueued_at: float | None
    started_at: float | None
    ended_at: float

    @property
    def run_seconds(self) -> float | None:
        """Run time: ended minus started."""
        return None if self.started_at is None else max(0.0, self.ended_at - self.started_at)

    @property
    def wait_seconds(self) -> float | None:
        """Time in the queue: started minus enqueued."""
        if self.started_at is None or self.enqueued_at is None:
            return None
        return max(0.0, self.started_at - self.enqueued_at)


@dataclass(slots=True)
class _Registry:
    """One queue's finished or failed registry: each ttl in use and how far it has been read."""

    marks: dict[float, float]
    recent: dict[str, float] = field(default_factory=dict)

    def learn(self, ttl: float, since: float) -> None:
        """Watch a new ttl from `since` on, unless one within whole-second rounding is known."""
        if 0 < ttl <= MAX_SECONDS and all(abs(ttl - known) > 2 for known in self.marks):
            self.marks[ttl] = since
            while len(self.marks) > MAX_TTLS:
                del self.marks[next(iter(self.marks))]

    def forget_counted_before(self, moment: float) -> None:
        for job in [job for job, ended in self.recent.items() if ended < moment]:
            del self.recent[job]


@dataclass(frozen=True, slots=True)
class _Window:
    """Scores that jobs of one ttl, ended after `since`, would have."""

    queue: str
    outcome: str
    ttl: float
    since: float

    def command(self, now: float) -> Command:
        low = f"({self.since + self.ttl - OVERLAP - 1}"
        key = keys.registry_key(self.outcome, self.queue)
        return ("ZRANGEBYSCORE", key, low, now + self.ttl, "WITHSCORES", "LIMIT", 0, MAX_CANDIDATES)


@dataclass(frozen=True, slots=True)
class _Candidate:
    id: str
    queue: str
    outcome: str
    since: float


class CompletionTracker:
    """Finds the jobs finished or failed since its previous `poll`; not thread-safe."""

    def __init__(self, ttls: Iterable[float] = ()) -> None:
        """`ttls`: result and failure ttls the workers are known to use, beyond RQ's defaults."""
        self._ttls = tuple(ttls)
        self._registries: dict[tuple[str, str], _Registry] = {}
        self._polled_at: float | None = None
        self._started_at = math.inf
        self._running: set[str] = set()
        self._sampled: set[str] = set()
        self.skipped = 0
        """Jobs the last poll left out: their record could not be turned into data."""

    def poll(self, client: redis.Redis, snapshot: Snapshot) -> list[Completion]:
        """Completions since the last poll in the snapshot's queues; the first poll only marks.

        Registries the snapshot shows empty are not read: a job whose record
        has already expired cannot be read either. The snapshot's running jobs
        and queue heads not seen at the last poll are read for the ttls they
        were given, and a job that was running at the last poll and has ended
        is a candidate whatever its ttl. Two round trips.
        """
        now = snapshot.taken_at
        since, self._polled_at = self._polled_at, now
        running = {worker.current_job for worker in snapshot.workers if worker.current_job}
        ended, self._running = self._running - running, running
        self._track([queue.name for queue in snapshot.queues], since if since is not None else now)
        if since is None:
            self._started_at = now
            return []
        live = {
            (q.name, outcome): getattr(q, outcome) for q in snapshot.queues for outcome in OUTCOMES
        }
        windows = [
            _Window(queue, outcome, ttl, mark)
            for (queue, outcome), registry in self._registries.items()
            if live.get((queue, outcome))
            for ttl, mark in registry.marks.items()
        ]
        heads = {queue.head_job for queue in snapshot.queues if queue.head_job}
        sampled = sorted(ended | (running | heads) - self._sampled)
        self._sampled = running | heads
        replies = batch.run(
            client,
            [window.command(now) for window in windows]
            + [("HMGET", keys.job_key(job), *_TTL_FIELDS) for job in sampled],
        )
        candidates = self._read_windows(windows, replies[: len(windows)], now)
        for job_id, reply in zip(sampled, replies[len(windows) :]):
            origin_reply, status_reply, *ttls = [*as_list(reply), *[None] * 4][:4]
            origin, status = as_name(origin_reply), as_name(status_reply)
            if origin is None or (origin, "failed") not in self._registries:
                continue
            for outcome, ttl in zip(OUTCOMES, map(as_seconds, ttls)):
                if ttl is not None:
                    self._registries[(origin, outcome)].learn(ttl, since)
            if job_id in ended and status in OUTCOMES:
                candidates.setdefault(job_id, _Candidate(job_id, origin, status, since))
        return self._confirm(client, list(candidates.values()), now)

    def _track(self, queues: Sequence[str], since: float) -> None:
        """Follow new queues from the previous poll on; forget queues that are gone."""
        present = set(queues)
        for key in [key for key in self._registries if key[0] not in present]:
            del self._registries[key]
        for queue in queues:
            for outcome in OUTCOMES:
                if (queue, outcome) not in self._registries:
                    registry = _Registry({DEFAULT_TTLS[outcome]: since})
                    for ttl in self._ttls:
                        registry.learn(ttl, since)
                    self._registries[(queue, outcome)] = registry

    def _read_windows(
        self, windows: list[_Window], replies: list[Any], now: float
    ) -> dict[str, _Candidate]:
        """Candidates from every window; each window's mark moves to what it has read."""
        candidates: dict[str, _Candidate] = {}
        for window, reply in zip(windows, replies):
            registry = self._registries[(window.queue, window.outcome)]
            pairs = as_pairs(reply)
            last_score = as_float(pairs[-1][1]) if pairs else None
            full = len(pairs) >= MAX_CANDIDATES and last_score is not None
            registry.marks[window.ttl] = (
                last_score - window.ttl if full and last_score is not None else now
            )
            for member, _score in pairs:
                job_id = as_name(member)
                if job_id and job_id not in registry.recent:
                    candidates.setdefault(
                        job_id, _Candidate(job_id, window.queue, window.outcome, window.since)
                    )
        return candidates

    def _confirm(
        self, client: redis.Redis, candidates: list[_Candidate], now: float
    ) -> list[Completion]:
        """Read each candidate; keep those that ended after their window's start, once."""
        lookups: list[Command] = []
        for candidate in candidates:
            lookups += [
                ("HMGET", keys.job_key(candidate.id), *_JOB_FIELDS),
                ("XREVRANGE", keys.results_key(candidate.id), "+", "-", "COUNT", 1),
                ("ZSCORE", keys.registry_key(candidate.outcome, candidate.queue), candidate.id),
            ]
        replies = batch.run(client, lookups)
        skips = Skips()
        completions = []
        for candidate, (job, result, score) in zip(candidates, _chunks3(replies)):
            completion = skips.build(
                f"{candidate.outcome} job",
                candidate.id,
                partial(self._confirmed, candidate, job, result, score),
            )
            if completion is not None:
                completions.append(completion)
        self.skipped = skips.count
        for registry in self._registries.values():
            if registry.recent:
                registry.forget_counted_before(min(registry.marks.values()) - 2 * OVERLAP)
        return completions

    def _confirmed(
        self, candidate: _Candidate, job: Any, result: Any, score: Any
    ) -> Completion | None:
        """The candidate as a completion if it ended in its window and was not counted yet."""
        fields = dict(zip(_JOB_FIELDS, as_list(job)))
        ended_at = parse_rq_time(fields.get("ended_at"))
        expiry = as_float(score)
        registry = self._registries[(candidate.queue, candidate.outcome)]
        if ended_at is None or expiry is None:
            return None
        registry.learn(expiry - math.floor(ended_at), candidate.since)
        if (
            ended_at <= max(candidate.since - OVERLAP, self._started_at)
            or candidate.id in registry.recent
        ):
            return None
        registry.recent[candidate.id] = ended_at
        return _completion(candidate, fields, result, ended_at)


def _chunks3(replies: list[Any]) -> Iterable[tuple[Any, Any, Any]]:
    return zip(replies[0::3], replies[1::3], replies[2::3])


def _completion(
    candidate: _Candidate, fields: dict[str, Any], latest_result: Any, ended_at: float
) -> Completion:
    exception = None
    if candidate.outcome == "failed":
        exception = exception_name(exception_line(traceback_of(fields, latest_result)))
    return Completion(
        id=candidate.id,
        queue=candidate.queue,
        outcome=candidate.outcome,
        function=function_name(fields.get("data")),
        exception=exception,
        enqueued_at=parse_rq_time(fields.get("enqueued_at")),
        started_at=parse_rq_time(fields.get("started_at")),
        ended_at=ended_at,
    )
