"""A history saved and read back: equal in every field, going on as it would have, and no file,
cut short, corrupt or hostile, costing more than an empty history and one `Unreadable`."""

from __future__ import annotations

import io
import math
import struct
import tracemalloc
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qwatch.history import saved
from qwatch.history.moments import Moments
from qwatch.history.recorder import DAY, HISTORY_BYTES, HOUR, TIERS, History
from qwatch.history.rings import Ring
from qwatch.model import DRAMATIQ, RQ
from tests.history.records import ended, queue, snapshot, worker

NOW = 1_800_000_000.0
"""A real clock: a saved slot may not be after now, nor before 1970."""
BUDGET = 100_000
"""Room for about eight queues: small enough to coarsen by hand."""


def fed(history: History, start: float = NOW, samples: int = 12) -> History:
    """Samples every 15 s from `start`: two queues (one whose ended jobs are unseen), two
    workers, jobs ending, failures jumping, a worker going silent and Redis unreachable."""
    unseen = {(DRAMATIQ, "exports")}
    for n in range(samples):
        at = start + 15 * n
        queues = (queue("emails", 5 * n, 1), queue("exports", n % 3, system=DRAMATIQ))
        workers = (worker("w1", "busy"),) + ((worker("w2"),) if n < samples // 2 else ())
        done = [ended("emails", "failed" if k % 2 else "finished", at) for k in range(n)]
        history.record(snapshot(at, queues, workers), done, unseen)
    history.unreachable(start + 15 * samples, "Connection refused")
    return history


def saved_bytes(histories: dict[str, History]) -> bytes:
    return b"".join(saved.write(histories))


def read(data: bytes, names: tuple[str, ...] = ("main",), now: float = NOW + 3600) -> Any:
    return saved.read(io.BytesIO(data), names, now)


def ring_state(ring: Ring) -> tuple[object, ...]:
    """A ring's every field, its floats as bytes so that NaN equals NaN."""
    sums = struct.pack(f"<{len(ring._sums)}d", *ring._sums)
    return ring.width, ring.step, ring.size, ring.slot, ring._count, sums, ring.values.tobytes()


def rows_state(rows: dict[str, dict[str, Ring]]) -> dict[str, dict[str, tuple[object, ...]]]:
    return {key: {tier: ring_state(r) for tier, r in rings.items()} for key, rings in rows.items()}


def state(history: History) -> dict[str, object]:
    """Everything a history holds but its lock: what a round trip must keep."""
    moments = history.moments
    return {
        "budget": history.budget,
        "coarsening": history.coarsening,
        "queues": rows_state(history._queues),
        "workers": rows_state(history._workers),
        "totals": rows_state(history._totals),
        "backlog": history._backlog,
        "sampled_at": history._sampled_at,
        "kept": list(moments.kept),
        "watched": moments._queues,
        "live": moments._workers,
        "answering": moments._answering,
    }


def test_every_field_is_kept_and_the_history_goes_on_as_it_would_have() -> None:
    history = fed(History())
    assert not history.moments._answering and len(history.moments.kept) >= 3
    loaded = read(saved_bytes({"main": history}))["main"]
    assert state(loaded) == state(history)
    for each in (history, loaded):
        each.record(snapshot(NOW + 300, (queue("emails", 0),), (worker("w1"),)), [])
    assert state(loaded) == state(history)


def test_a_field_added_to_the_history_is_added_to_the_format_too() -> None:
    """Fails when a field is added to a ring, a history or its moments: `saved` must keep it,
    and `state` above compare it."""
    assert set(Ring.__slots__) == {"_count", "_sums", "size", "slot", "step", "values", "width"}
    held = {"budget", "coarsening", "moments", "_queues", "_workers", "_totals", "_backlog",
            "_sampled_at"}  # fmt: skip
    assert set(vars(History())) == {*held, "lock"}
    assert set(vars(Moments())) == {"kept", "_queues", "_workers", "_answering"}


def test_each_name_gets_its_own_and_others_are_skipped() -> None:
    first, second = fed(History()), fed(History(), samples=3)
    data = saved_bytes({"first": first, "second": second, "gone": History()})
    got = read(data, ("second", "new"))
    assert list(got) == ["second"] and state(got["second"]) == state(second)


def test_a_history_finer_than_the_budget_is_coarsened_as_it_is_read() -> None:
    history = History()  # the whole budget: no coarsening for ten queues
    for n in range(8):
        queues = tuple(queue(f"q{k}", n) for k in range(10))
        history.record(snapshot(NOW + 15 * n, queues), [])
    assert history.coarsening == 1
    data = io.BytesIO(saved_bytes({"main": history}))
    smaller = saved.read(data, ["main"], NOW + 120, BUDGET)["main"]
    assert smaller.coarsening == 2 and smaller.nbytes() <= BUDGET
    q0 = smaller.queue(RQ, "q0")
    assert q0 is not None and q0.step == 30
    assert [value for _at, value in q0.measures["queued"]] == [0.5, 2.5, 4.5, 6.5]


def test_a_coarser_history_stays_as_coarse_and_new_queues_join_it() -> None:
    history = History(BUDGET)
    history.record(snapshot(NOW, tuple(queue(f"q{k}", 1) for k in range(10))), [])
    assert history.coarsening == 2
    loaded = read(saved_bytes({"main": history}))["main"]
    assert loaded.budget == HISTORY_BYTES and loaded.coarsening == 2
    loaded.record(snapshot(NOW + 60, (queue("new", 4),)), [])
    new = loaded.queue(RQ, "new")
    assert new is not None and new.step == 2 * TIERS[HOUR][1]


def test_the_time_serve_was_down_is_a_gap_never_zeros() -> None:
    history = History()
    for n in range(4):
        history.record(snapshot(NOW + 15 * n, (queue("emails", 7),)), [])
    loaded = read(saved_bytes({"main": history}), now=NOW + 600)["main"]
    loaded.record(snapshot(NOW + 600, (queue("emails", 9),)), [])  # down for nine minutes
    loaded.record(snapshot(NOW + 615, (queue("emails", 9),)), [])
    emails = loaded.queue(RQ, "emails")
    assert emails is not None
    assert emails.measures["queued"] == [
        (NOW, 7.0), (NOW + 15, 7.0), (NOW + 30, 7.0), (NOW + 45, 7.0),
        (NOW + 600, 9.0), (NOW + 615, 9.0),
    ]  # fmt: skip
    step, columns = loaded.queue_columns("queued", NOW + 615)
    column = columns["rq:emails"]
    assert step == 15 and column[-2:] == [9.0, 9.0]
    assert all(math.isnan(value) for value in column[-38:-2])  # 09:45 to 01:00 past: no one looked
    day = loaded.queue(RQ, "emails", DAY)
    assert day is not None and day.measures["queued"] == [(NOW, 7.0), (NOW + 600, 9.0)]


def test_a_history_saved_over_a_day_ago_is_forgotten_as_the_recorder_would() -> None:
    data = saved_bytes({"main": fed(History())})
    loaded = read(data, now=NOW + 2 * TIERS[DAY][0])["main"]
    assert loaded.counted() == (0, 0)
    assert loaded.moments_newest_first(3), "the moments are kept: /events says what happened"


def test_a_file_cut_short_anywhere_is_unreadable() -> None:
    data = saved_bytes({"main": fed(History(), samples=3), "b": History()})
    for length in range(len(data)):
        try:
            read(data[:length], ("main", "b"))
        except saved.Unreadable:
            continue
        raise AssertionError(f"read {length} of {len(data)} bytes")
    assert set(read(data, ("main", "b"))) == {"main", "b"}
    for garbled in (
        data + b"\0",
        b"\0" + data[1:],
        data[:8] + struct.pack("<I", saved.VERSION + 1) + data[12:],
    ):
        try:
            read(garbled)
        except saved.Unreadable:
            continue
        raise AssertionError("garbled, and read")


def entry(body: bytes, name: bytes = b"main", length: int | None = None) -> bytes:
    """A file of one entry: `length` as declared, else the body's own."""
    size = len(body) if length is None else length
    return (
        saved.MAGIC + struct.pack("<II", saved.VERSION, 1)
        + struct.pack("<I", len(name)) + name + struct.pack("<Q", size) + body
    )  # fmt: skip


def unreadable(data: bytes) -> str:
    try:
        read(data)
    except saved.Unreadable as exc:
        return str(exc)
    raise AssertionError("read")


def test_huge_declared_lengths_cost_no_memory() -> None:
    ring = struct.pack("<dIBqI", 15.0, 10**9, 0, 0, 0)
    for data in (
        entry(b"", length=2**64 - 1),  # an entry of 16 EiB
        entry(b"", length=saved.ENTRY_BYTES),  # as large as one may be, in a file of 30 bytes
        entry(b"", name=b"x", length=2**40),  # a name not asked for, skipped
        saved.MAGIC + struct.pack("<III", saved.VERSION, 1, 2**32 - 2),  # a name of 4 GiB
        saved.MAGIC + struct.pack("<II", saved.VERSION, 2**32 - 1),  # four billion entries
        entry(struct.pack("<I", 1) + ring),  # a ring of a billion slots
        entry(struct.pack("<I", 1) + b"\0" * 200),  # the totals, then no rows
    ):
        tracemalloc.start()
        try:
            reason = unreadable(data)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1 << 20, (reason, peak)


def test_hostile_values_are_unreadable_and_say_why() -> None:
    history = History()
    history.record(snapshot(NOW, (queue("emails", 1),)), [])
    good = saved_bytes({"main": history})
    body = good.index(struct.pack("<d", 15.0)) - 4  # the coarsening, then the totals' hour
    step = body + 4

    def patched(at: int, value: bytes) -> bytes:
        return good[:at] + value + good[at + len(value) :]

    version = saved.MAGIC + struct.pack("<I", 99)
    assert unreadable(version + good[12:]) == "version 99, which this qwatch does not read"
    assert unreadable(b"PK\3\4" + good[4:]) == "not a qwatch history"
    assert unreadable(patched(body, struct.pack("<I", 3))) == "a coarsening of 3"
    assert unreadable(patched(step, struct.pack("<d", math.nan))).startswith("a ring of nan s")
    assert unreadable(patched(step, struct.pack("<d", 30.0))).startswith("a ring of 30.0 s")
    slot = step + 8 + 4 + 1
    future = struct.pack("<q", int((NOW + 7200) // 15))
    assert unreadable(patched(slot, future)).endswith("after now or before 1970")
    assert unreadable(patched(slot, struct.pack("<q", -1))).endswith("after now or before 1970")
    sums = slot + 8 + 4
    assert unreadable(patched(sums, struct.pack("<d", math.inf))) == "an infinite value"
    values = sums + 2 * 8
    assert unreadable(patched(values, struct.pack("<f", -math.inf))) == "an infinite value"
    told = History()
    told.unreachable(NOW, "down")
    moment = saved_bytes({"main": told})
    at = moment.index(b"redis unreachable")
    assert unreadable(moment[:at] + b"redis exploded!!!" + moment[at + 17 :]).startswith(
        "a moment garbled: 'redis exploded!!!'"
    )
    where = moment.index(struct.pack("<d", NOW))
    late = moment[:where] + struct.pack("<d", NOW + 7200) + moment[where + 8 :]
    assert unreadable(late).startswith("a moment garbled")
    twice = saved.MAGIC + struct.pack("<II", saved.VERSION, 2) + good[16:] + good[16:]
    assert unreadable(twice).startswith("'main': twice")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_corrupt_file_is_unreadable_or_a_history_that_works(data: st.DataObject) -> None:
    """Bytes overwritten anywhere: the file is refused, or what it holds can be recorded into,
    asked and saved again, whatever it became."""
    good = SMALL
    at = data.draw(st.integers(0, len(good) - 1))
    noise = data.draw(st.binary(min_size=1, max_size=9))
    corrupt = good[:at] + noise + good[at + len(noise) :]
    try:
        got = read(corrupt, now=NOW + 900)
    except saved.Unreadable:
        return
    for history in got.values():
        history.record(snapshot(NOW + 900, (queue("emails", 1),), (worker("w1"),)), [])
        for tier in (HOUR, DAY):
            history.queues(tier), history.workers(tier), history.totals(tier)
        history.queue_columns("queued", NOW + 900), history.worker_columns("busy", NOW + 900)
        [m.to_dict() for m in history.moments_newest_first(1000)]
        saved_bytes({"main": history})


SMALL = saved_bytes({"main": fed(History(), samples=4)})
