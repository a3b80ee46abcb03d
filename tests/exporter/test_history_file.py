"""`--state-file PATH`'s history in `PATH.history`: written by its thread and as serve stops,
atomically, a failure logged once; a file that cannot be read costs one line and nothing else."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import pytest

from harness.polling import wait_until
from qwatch.exporter.history_file import HistoryFile, history_path
from qwatch.history import saved
from qwatch.history.recorder import History
from qwatch.model import RQ
from tests.history.records import queue, snapshot, worker

EMPTY = "the history starts empty"


def sampled(history: History, at: float) -> None:
    history.record(snapshot(at, (queue("emails", 3),), (worker("w1", "busy"),)), [])


def test_the_file_lives_beside_the_state_file(tmp_path: Path) -> None:
    assert (
        history_path(str(tmp_path / "qwatch-state.json")) == tmp_path / "qwatch-state.json.history"
    )


def test_written_while_kept_and_once_more_at_the_end(tmp_path: Path) -> None:
    state = str(tmp_path / "state.json")
    kept = HistoryFile.open(state, ["main", "second"])
    main = kept.histories["main"]
    sampled(main, time.time() - 30)
    with kept.kept(every=0.05):
        wait_until(lambda: history_path(state).exists(), "the first write")
        sampled(main, time.time())  # after the thread's writes, before the last one
    again = HistoryFile.open(state, ["main"])
    emails = again.histories["main"].queue(RQ, "emails")
    assert emails is not None and len(emails.measures["queued"]) == 2
    assert list(again.histories) == ["main"]
    assert sorted(os.listdir(tmp_path)) == ["state.json.history"], "no temporary file left"


def test_a_write_that_fails_is_logged_once_until_one_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    kept = HistoryFile.open(str(directory / "state.json"), ["main"])
    sampled(kept.histories["main"], time.time())
    shutil.rmtree(directory)
    with caplog.at_level(logging.WARNING, "qwatch.exporter"):
        kept.write()
        kept.write()
        directory.mkdir()
        kept.write()
    failed, recovered = caplog.messages
    assert failed.startswith(f"history file {kept.path}: cannot write: [Errno 2] No such file")
    assert recovered == f"history file {kept.path}: written again"
    assert kept.path.exists()


def test_a_file_cut_short_anywhere_is_one_line_and_an_empty_history(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = str(tmp_path / "state.json")
    history = History()
    sampled(history, time.time())
    history.unreachable(time.time(), "Connection refused")
    whole = b"".join(saved.write({"main": history}))
    head, tail = range(1, 300), range(len(whole) - 100, len(whole))  # every length of both
    for length in sorted({*head, *range(300, len(whole), 37), *tail}):  # tests/history: all
        history_path(state).write_bytes(whole[:length])
        caplog.clear()
        with caplog.at_level(logging.WARNING, "qwatch.exporter"):
            kept = HistoryFile.open(state, ["main"])
        (said,) = caplog.messages
        assert said.startswith(f"history file {history_path(state)}: not read (cut short")
        assert said.endswith(f"): {EMPTY}")
        fresh = kept.histories["main"]
        assert fresh.counted() == (0, 0) and not fresh.moments_newest_first(10)


def test_no_file_or_an_empty_one_is_a_first_start_without_a_word(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = str(tmp_path / "state.json")
    with caplog.at_level(logging.WARNING, "qwatch.exporter"):
        assert HistoryFile.open(state, ["main"]).histories["main"].counted() == (0, 0)
        history_path(state).write_bytes(b"")
        assert HistoryFile.open(state, ["main"]).histories["main"].counted() == (0, 0)
    assert caplog.messages == []


def test_a_file_that_cannot_be_read_is_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = str(tmp_path / "state.json")
    history_path(state).mkdir()  # a directory where the file goes: EISDIR
    with caplog.at_level(logging.WARNING, "qwatch.exporter"):
        assert HistoryFile.open(state, ["main"]).histories["main"].counted() == (0, 0)
    (said,) = caplog.messages
    assert said == f"history file {history_path(state)}: not read (Is a directory): {EMPTY}"
