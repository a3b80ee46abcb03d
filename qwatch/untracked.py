"""Jobs the workers say they did that no registry showed: `result_ttl=0` jobs, and the like.

RQ's workers count their own successes and failures (`successful_job_count`,
`failed_job_count` in their hash), whether or not RQ kept a record of the
job. Per worker, what its counters rose by since qwatch first saw it, minus
the completions qwatch found that name it (`worker_name`), is what qwatch
could not see. Kept per worker, so workers that come and go (burst workers
never seen by a poll count on neither side), and as a running maximum, so
that a completion found a poll later than its counter rose is not counted
twice. A worker's counters vanish when it exits; what it did after the last
poll before that is not in the difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from qwatch import job_states

OUTCOMES = (job_states.FINISHED, job_states.FAILED)


@dataclass(frozen=True, slots=True)
class WorkerCounts:
    """One worker's own counters, read in the same round trip as the registries' counts."""

    name: str
    finished: int
    failed: int
    birth: float | None


@dataclass(slots=True)
class _Account:
    base: tuple[int, int]
    reported: tuple[int, int] = (0, 0)
    found: list[int] = field(default_factory=lambda: [0, 0])
    unseen: list[int] = field(default_factory=lambda: [0, 0])


class UntrackedLedger:
    """Per Redis: jobs reported done by the workers and never shown by a registry, per outcome."""

    def __init__(self) -> None:
        self.total: Counter[str] = Counter()
        self._accounts: dict[str, _Account] = {}

    def update(
        self,
        workers: Sequence[WorkerCounts],
        found: Iterable[tuple[str | None, str]],
        previous_poll: float | None,
    ) -> None:
        """Fold in one poll: the workers' counters and the completions found, by worker.

        The counters compared are those of the previous poll, so a job whose
        record the tracker reads one poll after its counter rose is matched.
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
                account = _Account(base=(0, 0) if born_since else (worker.finished, worker.failed))
                if not born_since:
                    fresh.add(worker.name)  # its jobs so far are in its base, not to match
            accounts[worker.name] = account
        for name, outcome in found:
            account = accounts.get(name or "")
            if account is not None and name not in fresh:
                account.found[OUTCOMES.index(outcome)] += 1
        for worker in workers:
            account = accounts[worker.name]
            for index, outcome in enumerate(OUTCOMES):
                unseen = account.reported[index] - account.found[index]
                if unseen > account.unseen[index]:
                    self.total[outcome] += unseen - account.unseen[index]
                    account.unseen[index] = unseen
            account.reported = (
                max(0, worker.finished - account.base[0]),
                max(0, worker.failed - account.base[1]),
            )
        self._accounts = accounts
