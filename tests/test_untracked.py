"""Jobs the workers did that no registry showed: matched worker by worker, a poll late at most."""

from __future__ import annotations

from qwatch.untracked import UntrackedLedger, WorkerCounts


def test_a_record_found_a_poll_after_its_counter_rose_is_not_untracked() -> None:
    ledger = UntrackedLedger()
    ledger.update([WorkerCounts("w", 0, 0, birth=1.0)], [], previous_poll=None)
    ledger.update([WorkerCounts("w", 2, 0, birth=1.0)], [("w", "finished")], previous_poll=10.0)
    ledger.update([WorkerCounts("w", 2, 0, birth=1.0)], [("w", "finished")], previous_poll=11.0)
    assert ledger.total == {}


def test_jobs_without_a_record_are_counted_once_and_never_taken_back() -> None:
    ledger = UntrackedLedger()
    ledger.update([WorkerCounts("w", 5, 1, birth=1.0)], [], previous_poll=None)  # before qwatch
    ledger.update([WorkerCounts("w", 8, 2, birth=1.0)], [("w", "failed")], previous_poll=10.0)
    ledger.update([WorkerCounts("w", 8, 2, birth=1.0)], [], previous_poll=11.0)
    assert ledger.total == {"finished": 3}
    ledger.update([], [], previous_poll=12.0)  # the worker exited: its counters are gone
    assert ledger.total == {"finished": 3}


def test_a_worker_born_since_the_last_poll_counts_from_zero() -> None:
    ledger = UntrackedLedger()
    ledger.update([], [], previous_poll=None)
    born = WorkerCounts("new", 4, 0, birth=15.0)
    ledger.update([born], [("new", "finished")], previous_poll=10.0)
    ledger.update([born], [], previous_poll=20.0)
    assert ledger.total == {"finished": 3}


def test_completions_of_workers_never_seen_do_not_hide_others() -> None:
    ledger = UntrackedLedger()
    ledger.update([WorkerCounts("w", 0, 0, birth=1.0)], [], previous_poll=None)
    burst = [("burst-worker", "finished")] * 10  # came and went between two polls
    ledger.update([WorkerCounts("w", 2, 0, birth=1.0)], burst, previous_poll=10.0)
    ledger.update([WorkerCounts("w", 2, 0, birth=1.0)], [], previous_poll=11.0)
    assert ledger.total == {"finished": 2}
