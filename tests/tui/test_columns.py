"""Which columns fit a width: pure, so every width can be checked without a terminal."""

from __future__ import annotations

from qwatch.tui.columns import Column, fit
from qwatch.tui.rows import FAILED_COLUMNS, QUEUE_COLUMNS


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
