"""RQ's workers' own counters: what they reported, and the jobs no registry showed, matched
worker by worker a poll late at most."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qwatch.job_states import OUTCOMES
from qwatch.model import WorkerTotals
from qwatch.rq.untracked import WorkerCounts, WorkerLedger


def test_a_record_found_a_poll_after_its_counter_rose_is_not_untracked() -> None:
    ledger = WorkerLedger()
    ledger.update([WorkerCounts("w", 0, 0, birth=1.0)], [], previous_poll=None)
    ledger.update([WorkerCounts("w", 2, 0, birth=1.0)], [("w", "finished")], previous_poll=10.0)
    ledger.update([WorkerCounts("w", 2, 0, birth=1.0)], [("w", "finished")], previous_poll=11.0)
    assert ledger.untracked == {}


def test_jobs_without_a_record_are_counted_once_and_never_taken_back() -> None:
    ledger = WorkerLedger()
    ledger.update([WorkerCounts("w", 5, 1, birth=1.0)], [], previous_poll=None)  # before qwatch
    ledger.update([WorkerCounts("w", 8, 2, birth=1.0)], [("w", "failed")], previous_poll=10.0)
    ledger.update([WorkerCounts("w", 8, 2, birth=1.0)], [], previous_poll=11.0)
    assert ledger.untracked == {"finished": 3}
    ledger.update([], [], previous_poll=12.0)  # the worker exited: its counters are gone
    assert ledger.untracked == {"finished": 3}


def test_a_worker_born_since_the_last_poll_counts_from_zero() -> None:
    ledger = WorkerLedger()
    ledger.update([], [], previous_poll=None)
    born = WorkerCounts("new", 4, 0, birth=15.0)
    ledger.update([born], [("new", "finished")], previous_poll=10.0)
    ledger.update([born], [], previous_poll=20.0)
    assert ledger.untracked == {"finished": 3}


def test_completions_of_workers_never_seen_do_not_hide_others() -> None:
    ledger = WorkerLedger()
    ledger.update([WorkerCounts("w", 0, 0, birth=1.0)], [], previous_poll=None)
    burst = [("burst-worker", "finished")] * 10  # came and went between two polls
    ledger.update([WorkerCounts("w", 2, 0, birth=1.0)], burst, previous_poll=10.0)
    ledger.update([WorkerCounts("w", 2, 0, birth=1.0)], [], previous_poll=11.0)
    assert ledger.untracked == {"finished": 2}


def test_a_worker_born_and_gone_between_scrapes_is_reported_as_well_as_untracked() -> None:
    ledger = WorkerLedger()
    ledger.update([], [], previous_poll=None)
    ledger.update([WorkerCounts("burst", 3, 1, birth=5.0, working=2.5)], [], previous_poll=4.0)
    ledger.update([WorkerCounts("burst", 3, 1, birth=5.0, working=2.5)], [], previous_poll=6.0)
    ledger.update([], [], previous_poll=7.0)
    assert ledger.reported == {"finished": 3, "failed": 1}
    assert ledger.untracked == {"finished": 3, "failed": 1}
    assert ledger.working_seconds == 2.5


def test_a_resumed_worker_reports_what_it_did_meanwhile_but_not_as_untracked() -> None:
    ledger = WorkerLedger()
    ledger.resume(WorkerTotals((("finished", 2),), (("finished", 2),), 1.0, (("w", (2, 0, 1.0)),)))
    ledger.update([WorkerCounts("w", 5, 0, birth=1.0, working=4.0)], [], previous_poll=None)
    ledger.update([WorkerCounts("w", 5, 0, birth=1.0, working=4.0)], [], previous_poll=10.0)
    assert ledger.reported == {"finished": 5, "failed": 0}
    assert ledger.untracked == {"finished": 2}
    assert ledger.working_seconds == 4.0
    assert ledger.totals().counters == (("w", (5, 0, 4.0)),)


POLLS = st.lists(
    st.tuples(
        st.lists(
            st.tuples(st.sampled_from("abc"), st.integers(0, 9), st.integers(0, 9), st.booleans()),
            max_size=3,
            unique_by=lambda worker: worker[0],
        ),
        st.lists(st.tuples(st.sampled_from("abcz"), st.sampled_from(OUTCOMES)), max_size=4),
    ),
    max_size=8,
)


@given(polls=POLLS)
def test_untracked_never_exceeds_reported(
    polls: list[tuple[list[tuple[str, int, int, bool]], list[tuple[str, str]]]],
) -> None:
    """Whatever the workers' counters do (rise, fall at a restart, vanish) and whatever is
    found, what no registry showed is within what the workers reported, per outcome."""
    ledger = WorkerLedger()
    previous = None
    for number, (workers, found) in enumerate(polls):
        counts = [
            WorkerCounts(name, finished, failed, birth=number - 0.5 if born else 0.0)
            for name, finished, failed, born in workers
        ]
        ledger.update(counts, found, previous_poll=previous)
        previous = float(number)
        for outcome in OUTCOMES:
            assert ledger.untracked[outcome] <= ledger.reported[outcome]
