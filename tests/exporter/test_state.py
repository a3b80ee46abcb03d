"""`qwatch serve --state-file`: a restarted exporter counts each job once, from where it stopped.

The end-to-end tests run real `qwatch.rq.Worker` processes while one
exporter runs, while none does, and after a second one has started on the
same file; the counters it serves must be the truth since the first start,
and no counter may go down (Prometheus would read that as a restart and
add the new value again).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from pathlib import Path

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from rq import Queue, Retry

from harness import tasks
from harness.polling import wait_until
from harness.prometheus import PrometheusServer
from harness.redis_server import free_port
from harness.workers import run_burst, start_worker, stop_worker
from qwatch.cli import main
from qwatch.errors import StateFileError
from qwatch.exporter import state
from qwatch.exporter.state import Checkpoint, StateFile
from qwatch.exporter.totals import JobTotals
from qwatch.model import NO_WORKER_TOTALS, RQ, Completion, StreamPosition
from qwatch.rq.keys import DEFAULT_KEYS
from tests.exporter.conftest import Exporter, Scrape, StartExporter
from tests.exporter.test_exact_mode import ADD, DIVIDE, EXACT, assert_counts

JOB_COUNTERS = ("qwatch_jobs_finished", "qwatch_jobs_failed", "qwatch_jobs_retried")


def start(start_exporter: StartExporter, path: Path) -> Exporter:
    return start_exporter(state=StateFile.open(str(path)))


def nothing_went_down(before: Scrape, after: Scrape) -> bool:
    """Every job counter and histogram count of `before` is still there, at least as high."""
    names = [f"{name}_total" for name in JOB_COUNTERS] + ["qwatch_job_duration_seconds_count"]
    return all(
        after.series(name).get(labels, -1) >= value
        for name in names
        for labels, value in before.series(name).items()
    )


def test_jobs_ended_while_no_exporter_ran_are_counted_once(
    client: redis.Redis, url: str, start_exporter: StartExporter, tmp_path: Path
) -> None:
    path = tmp_path / "qwatch-state.json"
    queue = Queue("default", connection=client)
    queue.enqueue(tasks.add, 0, 0, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    first = start(start_exporter, path)
    first.scrape()
    for i in range(3):
        queue.enqueue(tasks.add, i, 1, result_ttl=0)
    for i in range(2):
        queue.enqueue(tasks.divide, i, 0)
    queue.enqueue(tasks.fail_once, str(tmp_path / "first-try"), retry=Retry(max=2))
    run_burst(url, ["default"], worker_class=EXACT)
    served = first.scrape()
    assert_counts(
        served,
        finished=Counter({("default", ADD): 3, ("default", "harness.tasks.fail_once"): 1}),
        failed=Counter({("default", DIVIDE, "ZeroDivisionError"): 2}),
        retried=Counter({("default", "harness.tasks.fail_once", "ConnectionError"): 1}),
    )
    queue.enqueue(tasks.add, 9, 9, result_ttl=0)  # ends after the last scrape, before the stop
    run_burst(url, ["default"], worker_class=EXACT)
    first.stop()
    for i in range(3):  # more failures than were served: a counter from 0 would not go down
        queue.enqueue(tasks.divide, i, 0)
    queue.enqueue(tasks.sleep, 0, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)

    second = start(start_exporter, path)
    after = second.scrape()
    finished = Counter({("default", ADD): 4, ("default", "harness.tasks.fail_once"): 1,
                        ("default", "harness.tasks.sleep"): 1})  # fmt: skip
    failed = Counter({("default", DIVIDE, "ZeroDivisionError"): 5})
    retried = Counter({("default", "harness.tasks.fail_once", "ConnectionError"): 1})
    assert_counts(after, finished, failed, retried)
    assert nothing_went_down(served, after)
    assert after.value("qwatch_job_duration_seconds_count", redis="main", queue="default") == 11
    assert after.value("qwatch_stream_entries_lost_total", redis="main") == 0
    assert_counts(second.scrape(), finished, failed, retried)
    second.stop()
    third = start(start_exporter, path)
    assert_counts(third.scrape(), finished, failed, retried)  # a restart with nothing new


def worker_figures(scrape: Scrape) -> tuple[float, float, float]:
    """What RQ's workers reported finished and failed, and what no registry showed finished."""
    return (
        scrape.value("qwatch_worker_jobs_total", redis="main", outcome="finished"),
        scrape.value("qwatch_worker_jobs_total", redis="main", outcome="failed"),
        scrape.value("qwatch_jobs_untracked_total", redis="main", outcome="finished"),
    )


def test_the_workers_counters_go_on_across_a_restart(
    client: redis.Redis, url: str, start_exporter: StartExporter, tmp_path: Path
) -> None:
    """A worker running on both sides of a restart reports what it did while qwatch was down;
    the untracked jobs go on from their saved value and stay within what was reported."""
    path = tmp_path / "qwatch-state.json"
    running = start_worker(url, ["default"], name="running")
    queue = Queue("default", connection=client)
    try:
        wait_until(lambda: client.exists("rq:worker:running"), "the worker to register")
        first = start(start_exporter, path)
        for i in range(2):
            queue.enqueue(tasks.add, i, 1, result_ttl=0)
        queue.enqueue(tasks.divide, 1, 0)
        wait_until(
            lambda: (
                client.hmget("rq:worker:running", "successful_job_count", "failed_job_count")
                == [b"2", b"1"]
            ),
            "the worker to run three jobs",
        )
        first.track()
        served = first.scrape()
        first.stop()
        for i in range(3):
            queue.enqueue(tasks.add, i, 2, result_ttl=0)
        wait_until(
            lambda: client.hget("rq:worker:running", "successful_job_count") == b"5",
            "the worker to run three jobs more",
        )
        second = start(start_exporter, path)
        after = second.scrape()
    finally:
        stop_worker(running)
    assert worker_figures(served) == (2, 1, 2)
    assert worker_figures(after) == (5, 1, 2)
    assert after.value("qwatch_worker_working_seconds_total", redis="main") > (
        served.value("qwatch_worker_working_seconds_total", redis="main")
    )


def test_prometheus_sees_every_failure_and_no_restart(
    client: redis.Redis, url: str, start_exporter: StartExporter, tmp_path: Path
) -> None:
    """Two failures served, three more while the exporter is down: Prometheus ends at five."""
    path = tmp_path / "qwatch-state.json"
    queue = Queue("default", connection=client)
    queue.enqueue(tasks.add, 0, 0, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    port = free_port()
    exporter = start_exporter(state=StateFile.open(str(path)), port=port)
    series = 'qwatch_jobs_failed_total{redis="main"}'

    def failures() -> float | None:
        found = prometheus.query(f"sum({series})")
        return float(found[0]["value"][1]) if found else None

    with PrometheusServer([f"127.0.0.1:{port}"]) as prometheus:
        wait_until(lambda: prometheus.query('qwatch_up{redis="main"} == 1'), "a first scrape")
        for i in range(2):
            queue.enqueue(tasks.divide, i, 0)
        run_burst(url, ["default"], worker_class=EXACT)
        wait_until(lambda: failures() == 2, "two failures in Prometheus")
        exporter.stop()
        for i in range(3):
            queue.enqueue(tasks.divide, i, 0)
        run_burst(url, ["default"], worker_class=EXACT)
        start_exporter(state=StateFile.open(str(path)), port=port)
        wait_until(lambda: failures() == 5, "five failures in Prometheus")
        resets = prometheus.query(f"resets({series}[10m])")
        assert [float(series["value"][1]) for series in resets] == [0.0]


def test_a_saved_cursor_trimmed_past_counts_what_is_left_and_the_loss(
    client: redis.Redis, url: str, start_exporter: StartExporter, tmp_path: Path
) -> None:
    path = tmp_path / "qwatch-state.json"
    client.config_set("stream-node-max-entries", 2)
    queue = Queue("default", connection=client)
    queue.enqueue(tasks.add, 0, 0, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    first = start(start_exporter, path)
    first.scrape()
    queue.enqueue(tasks.add, 1, 1, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    assert_counts(first.scrape(), finished=Counter({("default", ADD): 1}))
    first.stop()
    jobs = {queue.enqueue(tasks.add, i, 2, result_ttl=0).id for i in range(30)}
    run_burst(url, ["default"], worker_class=EXACT, env={"QWATCH_STREAM_MAXLEN": "6"})
    found: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(DEFAULT_KEYS.completions)  # type: ignore[assignment]
    left = [json.loads(fields[b"v1"])[0] for _id, fields in found]
    assert 6 <= len(left) < 30 and set(left) <= jobs
    after = start(start_exporter, path).scrape()
    assert_counts(after, finished=Counter({("default", ADD): 1 + len(left)}))
    assert after.value("qwatch_stream_entries_lost_total", redis="main") == 30 - len(left)


def test_a_missing_file_is_a_first_start_at_the_stream_end(
    client: redis.Redis, url: str, start_exporter: StartExporter, tmp_path: Path
) -> None:
    path = tmp_path / "qwatch-state.json"
    queue = Queue("default", connection=client)
    queue.enqueue(tasks.add, 0, 0, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    exporter = start(start_exporter, path)
    assert not path.exists()
    assert_counts(exporter.scrape(), finished=Counter())
    saved = json.loads(path.read_text())
    assert saved["format"] == state.FORMAT and list(saved["redis"]) == ["main"]


NOT_OURS = {
    "garbage": b"\x00\xffnot json at all",
    "deep": b"[" * 100_000,
    "another program's json": b'{"version": 3, "targets": ["a", "b"]}',
    "a negative count": (
        b'{"format":1,"redis":{"main":{"stream":[1,0,1],"finished":[["q","f",-2]],"failed":[],'
        b'"retried":[],"buckets":[1],"run_time":[],"wait_time":[],"functions":[],'
        b'"exceptions":[],"stream_lost":0,"stream_skipped":0}}}'
    ),
    "a histogram of other buckets": (
        b'{"format":1,"redis":{"main":{"stream":null,"finished":[],"failed":[],"retried":[],'
        b'"buckets":[1,2],"run_time":[["q",[1,2],0.5]],"wait_time":[],"functions":[],'
        b'"exceptions":[],"stream_lost":0,"stream_skipped":0}}}'
    ),
    "a future format": b'{"format":6,"redis":{}}',
    "a format 3 entry without the workers' figures": (
        b'{"format":3,"redis":{"main":{"stream":null,"finished":[],"failed":[],"retried":[],'
        b'"buckets":[1],"run_time":[],"wait_time":[],"functions":[],"exceptions":[],'
        b'"stream_lost":0,"stream_skipped":0}}}'
    ),
    "a worker twice": (
        b'{"format":3,"redis":{"main":{"stream":null,"finished":[],"failed":[],"retried":[],'
        b'"buckets":[1],"run_time":[],"wait_time":[],"functions":[],"exceptions":[],'
        b'"stream_lost":0,"stream_skipped":0,"worker_jobs":[["finished",1]],"untracked":[],'
        b'"working_seconds":0.5,"rq_workers":[["w",1,0,0.5],["w",1,0,0.5]],'
        b'"celery_processed":0,"celery_workers":[]}}}'
    ),
    "an outcome that is none": (
        b'{"format":3,"redis":{"main":{"stream":null,"finished":[],"failed":[],"retried":[],'
        b'"buckets":[1],"run_time":[],"wait_time":[],"functions":[],"exceptions":[],'
        b'"stream_lost":0,"stream_skipped":0,"worker_jobs":[["exploded",1]],"untracked":[],'
        b'"working_seconds":0,"rq_workers":[],"celery_processed":0,"celery_workers":[]}}}'
    ),
    "a format 2 row without its system": (
        b'{"format":2,"redis":{"main":{"stream":null,"finished":[["q","f",2]],"failed":[],'
        b'"retried":[],"buckets":[1],"run_time":[],"wait_time":[],"functions":[],'
        b'"exceptions":[],"stream_lost":0,"stream_skipped":0}}}'
    ),
}


@pytest.mark.parametrize("content", NOT_OURS.values(), ids=NOT_OURS.keys())
def test_a_file_qwatch_did_not_write_stops_the_start_and_is_left_alone(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "qwatch-state.json"
    path.write_bytes(content)
    argv = ["serve", "--url", url, "--listen", "127.0.0.1:0", "--state-file", str(path)]
    assert main(argv) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"qwatch: state file {path} was not written by qwatch (")
    assert line.endswith("move it away or fix the path")
    assert path.read_bytes() == content


def test_a_path_that_cannot_be_read_or_written_stops_the_start(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "--url", url, "--listen", "127.0.0.1:0", "--state-file"]
    assert main([*argv, str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"qwatch: cannot read state file {tmp_path}: Is a directory\n"
    assert main([*argv, str(tmp_path / "no-such-dir" / "state.json")]) == 2
    assert capsys.readouterr().err == (
        f"qwatch: --state-file {tmp_path}/no-such-dir/state.json:"
        f" cannot write in {tmp_path}/no-such-dir\n"
    )
    assert main([*argv, "/proc/qwatch-state.json"]) == 2  # root may write anywhere, but not there
    assert capsys.readouterr().err == (
        "qwatch: --state-file /proc/qwatch-state.json: cannot write in /proc\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_is_logged_once_and_the_scrape_answers(
    client: redis.Redis,
    url: str,
    start_exporter: StartExporter,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    path = directory / "qwatch-state.json"
    queue = Queue("default", connection=client)
    queue.enqueue(tasks.add, 0, 0, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    exporter = start(start_exporter, path)
    exporter.scrape()
    shutil.rmtree(directory)
    queue.enqueue(tasks.add, 1, 1, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    with caplog.at_level(logging.WARNING, "qwatch.exporter"):
        assert_counts(exporter.scrape(), finished=Counter({("default", ADD): 1}))
        queue.enqueue(tasks.add, 2, 1, result_ttl=0)
        run_burst(url, ["default"], worker_class=EXACT)
        assert_counts(exporter.scrape(), finished=Counter({("default", ADD): 2}))
        directory.mkdir()
        exporter.scrape()
    failed, recovered = caplog.messages
    assert failed.startswith(f"state file {path}: cannot write: [Errno 2] No such file")
    assert recovered == f"state file {path}: written again"
    assert json.loads(path.read_text())["redis"]["main"]["finished"] == [["rq", "default", ADD, 2]]


def ended(function: str, outcome: str = "finished") -> Completion:
    exception = "ValueError" if outcome == "failed" else None
    return Completion("job", "default", outcome, function, exception, 1.0, 2.0, 2.5, system=RQ)


def test_labels_and_histograms_go_on_as_they_were(tmp_path: Path) -> None:
    """A function past the label limit stays `other`; histograms need the same buckets."""
    path = tmp_path / "qwatch-state.json"
    totals = JobTotals((1.0, 10.0), label_limit=1)
    totals.add_completions([ended("app.first"), ended("app.second"), ended("app.first", "failed")])
    saved = StateFile.open(str(path))
    saved.save(
        "main", Checkpoint.taken(totals, (StreamPosition((5, 1), 7), None, None), NO_WORKER_TOTALS)
    )

    checkpoint = StateFile.open(str(path)).checkpoint("main")
    assert checkpoint is not None and checkpoint.position == StreamPosition((5, 1), 7)
    again = JobTotals((1.0, 10.0), label_limit=1)
    checkpoint.restore(again, 0.0)
    again.add_completions([ended("app.second"), ended("app.first")])
    assert again.finished == {("rq", "default", "app.first"): 2, ("rq", "default", "other"): 2}
    assert again.failed == {("rq", "default", "app.first", "ValueError"): 1}
    assert again.run_time[("rq", "default")].cumulative() == [5, 5, 5]
    other_buckets = JobTotals((1.0, 30.0), label_limit=1)
    checkpoint.restore(other_buckets, 0.0)
    assert other_buckets.run_time == {} and other_buckets.finished == totals.finished


def test_entries_of_other_names_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "qwatch-state.json"
    totals = JobTotals((1.0,), label_limit=5)
    totals.add_completions([ended("app.first")])
    file = StateFile.open(str(path))
    file.save("old", Checkpoint.taken(totals, (None, None, None), NO_WORKER_TOTALS))
    reopened = StateFile.open(str(path))
    reopened.save(
        "new",
        Checkpoint.taken(JobTotals((1.0,), label_limit=5), (None, None, None), NO_WORKER_TOTALS),
    )
    assert sorted(json.loads(path.read_text())["redis"]) == ["new", "old"]
    old = StateFile.open(str(path)).checkpoint("old")
    assert old is not None and old.finished == ((("rq", "default", "app.first"), 1),)


def test_a_file_larger_than_qwatch_would_read_is_neither_read_nor_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(state, "MAX_BYTES", 462)
    path = tmp_path / "big"
    path.write_bytes(b" " * 463)
    with pytest.raises(StateFileError, match="is over"):
        StateFile.open(str(path))
    path.unlink()
    totals = JobTotals((1.0,), label_limit=50)
    file = StateFile.open(str(path))
    with caplog.at_level(logging.WARNING, "qwatch.exporter"):
        for function in ("app.first", "app.second", "app.third"):
            totals.add_completions([ended(function)])
            file.save("main", Checkpoint.taken(totals, (None, None, None), NO_WORKER_TOTALS))
    assert caplog.messages == [
        f"state file {path}: cannot write: over 0 MiB, more than a start would read"
    ]
    saved = StateFile.open(str(path)).checkpoint("main")
    assert saved is not None and len(saved.finished) == 1, "the last file that fitted"
    path.write_bytes(b" \n")
    assert StateFile.open(str(path)).checkpoint("main") is None, "blank: a first start"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)
VALID = json.loads(NOT_OURS["a negative count"].replace(b'"f",-2', b'"f",2'))


def mutated(document: object, path: list[object], value: object) -> object:
    """`document` with the value at the end of `path` (keys and indexes, as far as they go)
    replaced by `value`."""
    if not path or not isinstance(document, (dict, list)) or not document:
        return value
    key = path[0]
    if isinstance(document, dict):
        name = key if key in document else sorted(document)[len(str(key)) % len(document)]
        return {**document, name: mutated(document[name], path[1:], value)}
    index = key % len(document) if isinstance(key, int) else 0
    return [*document[:index], mutated(document[index], path[1:], value), *document[index + 1 :]]


@given(
    path=st.lists(
        st.sampled_from(["redis", "main", *state.FIELDS_OF[state.FORMAT], 0, 1, 2]), max_size=6
    ),
    value=JSON,
)
def test_no_file_crashes_the_start(
    tmp_path_factory: pytest.TempPathFactory, path: list[object], value: object
) -> None:
    """A valid file with any one part replaced: read, or refused in one line; never a crash."""
    where = tmp_path_factory.mktemp("state") / "qwatch-state.json"
    where.write_text(json.dumps(mutated(VALID, path, value)))
    try:
        opened = StateFile.open(str(where))
    except StateFileError as refused:
        assert "\n" not in str(refused)
        return
    for name in ("main", *json.loads(where.read_text()).get("redis", {})):
        checkpoint = opened.checkpoint(name)
        if checkpoint is not None:
            checkpoint.restore(JobTotals((1.0,), label_limit=50), 0.0)


FORMAT_1 = {
    "format": 1,
    "redis": {
        "main": {
            "stream": [1700000000000, 3, 42],
            "finished": [["default", "app.send", 7]],
            "failed": [["default", "app.send", "ValueError", 2]],
            "retried": [["default", "app.send", "ConnectionError", 1]],
            "buckets": [1.0, 10.0],
            "run_time": [["default", [5, 3, 1], 20.5]],
            "wait_time": [["default", [9, 0, 0], 0.25]],
            "functions": [["default", ["app.send"]]],
            "exceptions": [["default", ["ConnectionError", "ValueError"]]],
            "stream_lost": 4,
            "stream_skipped": 1,
        }
    },
}
"""A file as qwatch wrote it before it watched Celery: its queues are RQ's."""


def test_a_file_written_before_celery_counts_on_as_rq(tmp_path: Path) -> None:
    path = tmp_path / "qwatch-state.json"
    path.write_text(json.dumps(FORMAT_1))
    file = StateFile.open(str(path))
    checkpoint = file.checkpoint("main")
    assert checkpoint is not None and checkpoint.position == StreamPosition((1700000000000, 3), 42)
    totals = JobTotals((1.0, 10.0), label_limit=1)
    checkpoint.restore(totals, 0.0)
    totals.add_completions([ended("app.send"), ended("app.other")])
    celery = Completion(
        "t", "default", "finished", "app.send", None, 1.0, 2.0, 2.5, system="celery"
    )
    totals.add_completions([celery])
    assert totals.finished == {
        ("rq", "default", "app.send"): 8,
        ("rq", "default", "other"): 1,
        ("celery", "default", "app.send"): 1,
    }
    assert totals.failed == {("rq", "default", "app.send", "ValueError"): 2}
    assert totals.retried == {("rq", "default", "app.send", "ConnectionError"): 1}
    assert totals.run_time[("rq", "default")].cumulative() == [7, 10, 11]
    assert totals.wait_time[("rq", "default")].total == 0.25 + 2 * 1.0
    assert (totals.stream_lost, totals.stream_skipped) == (4, 1)

    file.save("main", Checkpoint.taken(totals, (checkpoint.position, None, None), NO_WORKER_TOTALS))
    written = json.loads(path.read_text())
    assert written["format"] == state.FORMAT
    assert written["redis"]["main"]["finished"] == [
        ["rq", "default", "app.send", 8],
        ["rq", "default", "other", 1],
        ["celery", "default", "app.send", 1],
    ]
    assert written["redis"]["main"]["exceptions"] == [
        ["rq", "default", ["ConnectionError", "ValueError"]]
    ]
    reread = StateFile.open(str(path)).checkpoint("main")
    assert reread == Checkpoint.taken(totals, (checkpoint.position, None, None), NO_WORKER_TOTALS)


def test_a_format_1_entry_of_another_name_is_written_back_in_the_current_format(
    tmp_path: Path,
) -> None:
    path = tmp_path / "qwatch-state.json"
    path.write_text(json.dumps(FORMAT_1))
    StateFile.open(str(path)).save(
        "new", Checkpoint.taken(JobTotals((1.0,), 5), (None, None, None), NO_WORKER_TOTALS)
    )
    written = json.loads(path.read_text())
    assert written["format"] == state.FORMAT
    assert written["redis"]["main"]["run_time"] == [["rq", "default", [5, 3, 1], 20.5]]
    old = StateFile.open(str(path)).checkpoint("main")
    assert old is not None and old.finished == ((("rq", "default", "app.send"), 7),)


def test_the_positions_in_every_stream_are_kept(tmp_path: Path) -> None:
    """A restarted exporter reads on where it stopped in RQ's, Dramatiq's and arq's streams."""
    path = tmp_path / "qwatch-state.json"
    rq, dramatiq = StreamPosition((1700000000000, 3), 42), StreamPosition((1700000000500, 0), 7)
    arq = StreamPosition((1700000000900, 1), 3)
    StateFile.open(str(path)).save(
        "main", Checkpoint.taken(JobTotals((1.0,), 5), (rq, dramatiq, arq), NO_WORKER_TOTALS)
    )
    reread = StateFile.open(str(path)).checkpoint("main")
    assert reread is not None
    assert (reread.position, reread.dramatiq_position, reread.arq_position) == (rq, dramatiq, arq)
