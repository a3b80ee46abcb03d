"""Rows of RQ and Celery side by side: two queues of one name stay two rows, each with its own
system, facts and trend."""

from __future__ import annotations

from dataclasses import replace

from qwatch.model import CELERY, RQ, Completion
from qwatch.text.columns import Column
from qwatch.text.tables import PLAIN
from qwatch.text.trends import Trends
from qwatch.tui import rows
from qwatch.tui.rows import QUEUE_COLUMNS, WORKER_COLUMNS
from tests.tui.frozen import MIXED, NOW, UPDATE

PALETTE = {**PLAIN, "warning": "yellow"}


def by_column(columns: tuple[Column, ...], row: tuple[rows.Cell, ...]) -> dict[str, str]:
    return {column.key: rows.cell_text(cell) for column, cell in zip(columns, row)}


def test_an_rq_and_a_celery_queue_of_one_name_are_two_rows_each_with_its_facts() -> None:
    built = rows.queue_rows(MIXED, palette=PALETTE)
    rq, celery = (by_column(QUEUE_COLUMNS, built[key]) for key in ("rq:default", "celery:default"))
    assert (rq["queue"], rq["system"], rq["queued"], rq["workers"]) == ("default", "rq", "1", "6")
    assert (rq["reserved"], rq["overdue"]) == ("-", "-")
    assert (celery["queue"], celery["system"], celery["queued"]) == ("default", "celery", "42")
    assert (celery["started"], celery["failed"], celery["workers"]) == ("-", "-", "-")
    assert (celery["reserved"], celery["overdue"]) == ("8", "0")
    assert rq["in"] == "0.5" and celery["in"] == "4.0"  # each its own trend


def test_overdue_messages_are_drawn_in_the_warning_colour() -> None:
    built = rows.queue_rows(MIXED, palette=PALETTE)
    overdue = QUEUE_COLUMNS.index(next(c for c in QUEUE_COLUMNS if c.key == "overdue"))
    assert rows.cell_style(built["celery:video"][overdue]) == "yellow"
    assert rows.cell_style(built["celery:default"][overdue]) == ""


def test_the_filter_finds_a_system_by_name() -> None:
    assert set(rows.queue_rows(MIXED, "celery")) == {"celery:default", "celery:video"}


def test_without_celery_its_columns_are_blank_so_they_take_no_room() -> None:
    for key, row in rows.queue_rows(UPDATE).items():
        cells = by_column(QUEUE_COLUMNS, row)
        assert (cells["system"], cells["reserved"], cells["overdue"]) == ("", "", ""), key
    for key, row in rows.worker_rows(UPDATE).items():
        cells = by_column(WORKER_COLUMNS, row)
        assert (cells["system"], cells["processed"], cells["load"]) == ("", "", ""), key


def test_a_celery_worker_shows_processed_apart_from_its_outcomes() -> None:
    built = rows.worker_rows(MIXED)
    celery = by_column(WORKER_COLUMNS, built["celery:celery@video-2"])
    assert (celery["system"], celery["processed"], celery["ok"]) == ("celery", "812", "-")
    assert celery["load"] == "0.52 0.40 0.31"
    assert by_column(WORKER_COLUMNS, built["rq:a11b.7"])["processed"] == "-"


def test_trends_count_each_system_s_completions_for_its_own_queue() -> None:
    trends = Trends()
    first = MIXED.snapshot
    trends.update(first, [])
    later = replace(first, taken_at=first.taken_at + 10)
    ended = [
        Completion(f"c{i}", "default", "finished", None, None, None, None, NOW, system=CELERY)
        for i in range(5)
    ] + [Completion("r1", "default", "finished", None, None, None, None, NOW, system=RQ)]
    found = trends.update(later, ended)
    assert found["celery:default"].out_per_second == 0.5
    assert found["rq:default"].out_per_second == 0.1
