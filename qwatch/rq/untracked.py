"""RQ's workers' own counters, followed poll by poll: what they report, and what no registry showed.

RQ's workers count their own successes, failures and working time
(`successful_job_count`, `failed_job_count`, `total_working_time` in their
hash), whether or not RQ kept a record of the job. The tracker reads them at
each poll from the moment it starts, so what the workers did between
qwatch's start and its first scrape is reported.

`reported` is the sum of the counters' increases: a worker already running
when qwatch started contributes what follows, one born since the previous
poll all it did. `untracked` is, per worker, what its counters rose by minus
the completions qwatch found that name it (`worker_name`): jobs with
`result_ttl=0`, and the like. Both come from the same readings of the same
counters, so `untracked` never exceeds `reported`. Kept per worker, so
workers that come and go (burst workers never seen by a poll count on
neither side), and `untracked` as a running maximum, so that a completion
found a poll later than its counter rose is not counted twice. A worker's
counters vanish when it exits; what it did after the last poll before that
is on neither side.

With a state file the totals go on across restarts, and a worker running on
both sides of one reports what it did while qwatch was down (its untracked
jobs start again from the restart: the registries of that time were not read).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from qwatch import job_states
from qwatch.job_states import OUTCOMES
from qwatch.model import WorkerCounters, WorkerTotals


@dataclass(frozen=True, slots=True)
class WorkerCounts:
    """One worker's own counters, read in the same round trip as the registries' counts."""

    name: str
    finished: int
    failed: int
    birth: float | None
    working: float | None = None
    """Seconds spent running jobs; None when unreadable (then its last readable value holds)."""


@dataclass(slots=True)
class _Account:
    base: tuple[int, int]
    last: WorkerCounters
    reported: tuple[int, int] = (0, 0)
    found: list[int] = field(default_factory=lambda: [0, 0])
    unseen: list[int] = field(default_factory=lambda: [0, 0])


class WorkerLedger:
    """Per Redis: jobs and working time RQ's workers reported, and the jobs no registry showed."""

    def __init__(self) -> None:
        self.reported: Counter[str] = Counter()
        """Per outcome: the workers' counters' increases since the start."""
        self.working_seconds = 0.0
        self.untracked: Counter[str] = Counter()
        self._accounts: dict[str, _Account] = {}
        self._resumed: dict[str, WorkerCounters] = {}

    def resume(self, saved: WorkerTotals) -> None:
        """Go on from saved totals, and from each worker's counters when they were saved."""
        self.reported.update(dict(saved.reported))
        self.working_seconds += saved.working_seconds
        self.untracked.update(dict(saved.untracked))
        self._resumed = dict(saved.counters)

    def totals(self) -> WorkerTotals:
        """What the workers reported and no registry showed, with each worker's counters as
        last read: what the exporter shows and a state file keeps to resume from."""
        return WorkerTotals(
            reported=tuple(sorted(self.reported.items())),
            untracked=tuple(sorted(self.untracked.items())),
            working_seconds=self.working_seconds,
            counters=tuple(sorted((name, a.last) for name, a in self._accounts.items())),
        )

    def update(
        self,
        workers: Sequence[WorkerCounts],
        found: Iterable[tuple[str | None, str]],
        previous_poll: float | None,
    ) -> None:
        """Fold in one poll: the workers' counters and the completions found, by worker.

        The counters compared with the completions are those of the previous
        poll, so a job whose record the tracker reads one poll after its
        counter rose is matched.
        """
        accounts = {}
        fresh = set()
        for worker in workers:
            account = self._accounts.get(worker.name)
            if account is None:
                born_since = (
                    previous_poll is not None
                    and worker.birth is not None
                    and worker.birth > previous_poll
                )
                account = self._open(worker, born_since)
                if not born_since:
                    fresh.add(worker.name)  # its jobs so far are in its base, not to match
            accounts[worker.name] = account
        self._resumed = {}
        for name, outcome in found:
            account = accounts.get(name or "")
            if account is not None and name not in fresh:
                account.found[OUTCOMES.index(outcome)] += 1
        for worker in workers:
            self._follow(accounts[worker.name], worker)
        self._accounts = accounts

    def _open(self, worker: WorkerCounts, born_since: bool) -> _Account:
        """A worker seen for the first time: from zero if born since the previous poll, else
        from its counters when they were saved, or now."""
        now = (worker.finished, worker.failed, worker.working or 0.0)
        if born_since:
            return _Account(base=(0, 0), last=(0, 0, 0.0))
        return _Account(base=now[:2], last=self._resumed.get(worker.name, now))

    def _follow(self, account: _Account, worker: WorkerCounts) -> None:
        for index, outcome in enumerate(OUTCOMES):
            unseen = account.reported[index] - account.found[index]
            if unseen > account.unseen[index]:
                self.untracked[outcome] += unseen - account.unseen[index]
                account.unseen[index] = unseen
        working = account.last[2] if worker.working is None else worker.working
        now = (worker.finished, worker.failed, working)
        if now != account.last:  # most workers ran nothing since the last poll
            self.reported[job_states.FINISHED] += max(0, now[0] - account.last[0])
            self.reported[job_states.FAILED] += max(0, now[1] - account.last[1])
            self.working_seconds += max(0.0, now[2] - account.last[2])
            account.last = now
        account.reported = (
            max(0, worker.finished - account.base[0]),
            max(0, worker.failed - account.base[1]),
        )
