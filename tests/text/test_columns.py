"""Which columns fit a width: pure, so every width can be checked without a terminal.

The same fitting serves `qwatch top` and the one-shot tables of the CLI.
"""

from __future__ import annotations

import random

import pytest

from qwatch.cli import report
from qwatch.text import tables
from qwatch.text.columns import Column, fit, fitted
from qwatch.text.listing import COLUMNS
from qwatch.tui import rows
from qwatch.tui.rows import FAILED_COLUMNS, QUEUE_COLUMNS

TABLES = {
    "top queues": rows.QUEUE_COLUMNS,
    "top workers": rows.WORKER_COLUMNS,
    "top hosts": rows.HOST_COLUMNS,
    "top failed": rows.FAILED_COLUMNS,
    "top functions": rows.FUNCTION_COLUMNS,
    "snapshot queues": tables.QUEUE_COLUMNS,
    "snapshot abandoned": report.ABANDONED_COLUMNS,
    "snapshot rate limits": tables.RATE_LIMIT_COLUMNS,
    "snapshot cron": tables.CRON_COLUMNS,
    **{f"jobs {state}": columns for state, columns in COLUMNS.items()},
}


def shown(columns: tuple[Column, ...], widths: dict[str, int], room: int) -> dict[str, int]:
    keys = [column.key for column in columns]
    fitted = fit(columns, [widths.get(key, 0) for key in keys], room)
    return {keys[index]: width for index, width in fitted.items()}


FAILED = {"when": 8, "queue": 7, "function": 20, "exception": 80, "worker": 32, "id": 36}


def test_at_80_columns_the_failed_screen_keeps_the_exception_and_the_whole_id() -> None:
    widths = shown(FAILED_COLUMNS, FAILED, 79)
    assert list(widths) == ["when", "function", "exception", "id"]
    assert widths["id"] == 36 and widths["exception"] >= 12
    assert sum(widths.values()) + len(widths) == 79


def test_wider_terminals_add_columns_in_priority_order_and_cap_free_text() -> None:
    assert "queue" not in shown(FAILED_COLUMNS, FAILED, 119)
    assert "queue" in shown(FAILED_COLUMNS, FAILED, 139)
    wide = shown(FAILED_COLUMNS, FAILED, 199)
    assert set(wide) == set(FAILED) and wide["exception"] == 60 and wide["worker"] == 32


def test_a_less_useful_column_never_squeezes_a_more_useful_one() -> None:
    widths = {"queue": 40, "backlog": 30}
    for room in range(20, 200):
        fitted = shown(QUEUE_COLUMNS, widths, room)
        if "deferred" in fitted or "scheduled" in fitted:
            assert fitted["queue"] == 40 and fitted["backlog"] == 30, room
        assert sum(fitted.values()) + len(fitted) <= room


def test_the_sort_mark_widens_only_its_column() -> None:
    keys = [column.key for column in QUEUE_COLUMNS]
    plain = fit(QUEUE_COLUMNS, [0] * len(keys), 199)
    marked = fit(QUEUE_COLUMNS, [0] * len(keys), 199, sorted_by=keys.index("failed"))
    changed = {keys[i] for i in plain if plain[i] != marked[i]}
    assert changed == {"failed"} and marked[keys.index("failed")] == len("failed ▼")


@pytest.mark.parametrize("table", TABLES)
def test_no_column_shows_while_a_more_useful_one_is_left_out(table: str) -> None:
    """E.g. the job list's `#` is not worth more than the result it would stand beside."""
    columns = TABLES[table]
    draw = random.Random(table)
    for _ in range(200):
        widths = [draw.randint(0, 90) for _ in columns]
        room = draw.randint(10, 220)
        shown = fit(columns, widths, room)
        assert sum(width + 1 for width in shown.values()) <= room
        if shown:
            least_useful = max(columns[index].priority for index in shown)
            left_out = [
                column
                for index, column in enumerate(columns)
                if index not in shown and not (column.optional and not widths[index])
            ]
            assert all(column.priority >= least_useful for column in left_out), (room, widths)


def test_an_optional_column_takes_room_only_when_a_cell_of_it_has_text() -> None:
    """A table of both systems shows the system; one of RQ alone keeps that room for RQ."""
    keys = [column.key for column in QUEUE_COLUMNS]
    both = {"queue": 12, "system": 6, "reserved": 3, "overdue": 1}
    rq_alone = {"queue": 12}
    assert {"system", "overdue"} <= set(shown(QUEUE_COLUMNS, both, 79))
    assert shown(QUEUE_COLUMNS, rq_alone, 79).keys().isdisjoint({"system", "reserved", "overdue"})
    assert shown(QUEUE_COLUMNS, rq_alone, 199).keys() == {
        key for key, column in zip(keys, QUEUE_COLUMNS) if not column.optional
    }


def test_ids_are_whole_or_left_out_never_cut() -> None:
    for columns in (rows.FAILED_COLUMNS, COLUMNS["failed"], report.ABANDONED_COLUMNS):
        index = [column.key for column in columns].index("id")
        for room in range(10, 120):
            shown = fit(columns, [36 if i == index else 40 for i in range(len(columns))], room)
            assert shown.get(index, 36) == 36, room


FUNCTION = Column("function", "function", cut="module")


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (24, "harness.tasks.send_email"),
        (23, "…tasks.send_email      "),
        (17, "…tasks.send_email"),
        (16, "…send_email     "),
        (11, "…send_email"),
        (10, "…end_email"),
    ],
)
def test_a_function_name_loses_its_module_first(size: int, shown: str) -> None:
    """The part people read is the function: its module's head goes, a whole part at a time."""
    assert fitted("harness.tasks.send_email", size, FUNCTION) == shown


def test_other_text_is_cut_at_its_end_and_a_name_without_a_module_too() -> None:
    assert fitted("requests.exceptions.Timeout", 12, Column("e", "exception")) == "requests.ex…"
    assert fitted("send_email_to_everyone", 10, FUNCTION) == "send_emai…"
    assert fitted("模块.发送邮件", 9, FUNCTION) == "…发送邮件"


EXCEPTION = Column("exception", "exception", cut="exception")


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (45, "harness.tasks.UpstreamTimeout: took 30 s"),
        (31, "UpstreamTimeout: took 30 s     "),
        (20, "UpstreamTimeout: to…"),
    ],
)
def test_an_exception_loses_its_class_module_before_its_message(size: int, shown: str) -> None:
    """The class people read stays: its module goes first, then the message's end."""
    assert fitted("harness.tasks.UpstreamTimeout: took 30 s", size, EXCEPTION) == shown.ljust(size)


def test_an_exception_line_that_is_not_a_dotted_class_is_cut_at_its_end() -> None:
    assert fitted("worker died: no heartbeat", 12, EXCEPTION) == "worker died…"
    assert fitted("ValueError: bad value here", 12, EXCEPTION) == "ValueError:…"
